"""The memo: a Word document rendered from the assessment through a sandboxed Jinja2 template.

The caller chooses the template (the command line: --template, CLETS_MEMO_TEMPLATE or the firm's
active one; the app: the active one stored in the database) and hands it in; nothing here looks a
template up. `check_template` runs every check of an uploaded template, ending with a test render
of the built-in demo case: it lives here, above the template store (memo/templates.py), which
keeps versions and never renders."""
from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from assessment.core import casefile
from assessment.core import review as reviewmod
from assessment.core.casefile import CaseFile
from assessment.core.errors import TP001, TP002, TP003, AssessmentError, Problem
from assessment.evidence import analyse, synth
from assessment.evidence.model import (
    FINDINGS,
    OFF_DUTY_SUBJECT_QUERIES,
    SUBJECT_QUERIES,
    SUBJECT_QUERIES_WITHOUT_CASE_NUMBER,
    UNASSIGNED_TERMINAL_QUERIES,
)
from assessment.firm.tmpfiles import root as private_tmp
from assessment.law import engine
from assessment.law import kb as kbmod
from assessment.law.model import Assessment, Defense, Element, NarrativeSource
from assessment.memo import runner
from assessment.memo.templates import DOCXTPL_PREFIX, check_package, check_rendered, check_tags, line_place, located_text

ROLE_LABELS = {
    "peace_officer": "peace officer", "dispatcher": "dispatcher", "records_staff": "records staff",
    "probation_officer": "probation officer", "custodial_officer": "custodial officer",
    "civilian_employee": "civilian employee", "contractor": "contractor", "other": "other",
}
SOURCE_LABELS = {"charged": "charged", "alleged": "alleged", "possible": "possible charge named in the case file",
                 "suggested": "suggested by the engine from the facts"}
DEFENSE_RULE = ("Strength is counted, not guessed: for each defense the memo lists the factors in the knowledge base "
                "that hold for it (S) and against it (W). Strong: S - W >= 2; moderate: S - W = 1; weak: S > 0 and "
                "S - W <= 0; not supported: S = 0, or the defense does not apply to this client or these charges.")



def _rows_text(rows: list[int], limit: int = 60) -> str:
    if not rows:
        return "none"
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more (listed in the assessment JSON)" if len(rows) > limit else "")


def _fact_lines(case: CaseFile, narrative_basis: dict[str, NarrativeSource] | None = None) -> list[dict]:
    out = []
    c = case.client
    out.append({"label": "Client", "value": f"{c.name}, {ROLE_LABELS[c.role]}" + (f", {c.agency}" if c.agency else ""),
                "source": "case file: client"})
    for key, label in (("hire_date", "Hired"), ("assignment_date", "Assigned CLETS duties"),
                       ("clets_training_date", "CLETS training completed")):
        value = getattr(c, key)
        out.append({"label": label, "value": value.isoformat() if value else "none on record",
                    "source": f"case file: client.{key}"})
    if c.operator_ids:
        out.append({"label": "Operator ids", "value": ", ".join(c.operator_ids), "source": "case file: client.operator_ids"})
    if c.terminal_ids:
        out.append({"label": "Assigned terminals", "value": ", ".join(c.terminal_ids),
                    "source": "case file: client.terminal_ids"})
    for i, s in enumerate(case.subjects):
        po = {"none": "", "protects_subject": "; a protective order protects the subject",
              "protects_client": "; a protective order protects the client"}[s.protective_order]
        out.append({"label": f"Subject {i + 1}", "value": f"{s.name} ({s.relationship.replace('_', ' ')}{po})",
                    "source": f"case file: subjects[{i}]"})
    for key, field in type(case.facts).model_fields.items():
        if key == "narrative":
            continue
        value = getattr(case.facts, key)
        nb = (narrative_basis or {}).get(key)
        source = f"fact:{key}" + (f"; narrative:{nb.sentence}, \u201c{nb.text}\u201d" if nb else "")
        out.append({"label": field.title or key.replace("_", " ").capitalize(), "value": value, "source": source})
    for key in type(case.dates).model_fields:
        value = getattr(case.dates, key)
        if value:
            out.append({"label": key.replace("_", " ").capitalize(), "value": value.isoformat(),
                        "source": f"fact:dates.{key}"})
    return out


def _judgment(item: Defense | Element) -> str:
    """'' for the engine's own answer; else the attorney's judgment, the engine's answer and why."""
    o = item.override
    if not o:
        return ""
    return f"attorney's judgment (the engine gives {o.engine.replace('-', ' ')}): {o.reason}"


def _recommendations(result: Assessment) -> list[dict]:
    """What to do next, each with the entry it comes from: the defenses to pursue, how to
    strengthen them, limitation points, and the unverified items to check."""
    out = []
    live = [d for d in result.defenses if d.strength in ("strong", "moderate")]
    if live:
        out.append({"text": "Lead with " + "; then ".join(f"{d.name} ({d.strength})" for d in live) + ".",
                    "source": ", ".join(f"kb:{d.id}" for d in live)})
    for d in result.defenses:
        if d.strength in ("moderate", "weak"):
            out += [{"text": f"To strengthen {d.name}: {t}", "source": f"kb:{d.id}"} for t in d.to_strengthen]
    for s in result.statutes:
        lim = s.limitation
        if lim and lim.status in ("expired", "partly-expired", "contested") and s.source != "suggested":
            out.append({"text": f"Raise the limitation on {s.citation}: {lim.explanation}", "source": lim.authority})
    if result.unverified:
        out.append({"text": f"Check the {len(result.unverified)} unverified authorities and statements in the box "
                            "at the end before relying on them.", "source": "kb: verified status"})
    return out


def question_presented(result: Assessment, case: CaseFile) -> str:
    cites = [s.citation for s in result.statutes if s.source != "suggested"]
    charged = (" under " + ", ".join(cites)) if cites else ""
    return (f"On the facts entered and the audit evidence loaded, what is {case.client.name}'s criminal exposure"
            f"{charged} for access to CLETS information, what collateral consequences follow, and which "
            "defenses do the facts support?")


def _plain(parts: list) -> list[dict]:
    """Models as the plain data the template worker receives (it runs in another process)."""
    return [p.model_dump(mode="json") for p in parts]


def context(result: Assessment, case: CaseFile, firm_name: str = "Defense Counsel", marks: list[dict] | None = None,
            review: reviewmod.Review | None = None) -> dict:
    """Everything the template may use, as plain data. Built only from the assessment (with the
    attorney's overrides applied, see `Assessment.reviewed`), the case file, the attorney's marks
    on audit events (see `events.marked`) and the attorney's notes."""
    result = result.reviewed(review)
    review = review or reviewmod.Review()
    statutes, splits_shown, provisions_shown = [], set(), set()
    for s in result.statutes:
        lim = s.limitation
        lim_text = "not stated in the knowledge base for this tier."
        if lim:
            lim_text = f"{lim.period} ({lim.authority}). {lim.explanation} Result: {lim.status}." + (
                f" Commencement: {lim.commenced_by}" if lim.commenced_by else "") + (
                f" {lim.if_charged_later}" if lim.if_charged_later else "")
        statutes.append({
            "citation": s.citation, "title": s.title, "official_heading": s.official_heading,
            "section": s.citation.split(" ", 1)[1].split("(")[0],
            "source_label": SOURCE_LABELS[s.source] + (f", {s.counts} count(s)" if s.counts else ""),
            "why": " ".join(w.reason for w in s.why or []),
            "subdivision_summary": s.subdivision_summary,
            "classification": s.classification or "not stated",
            "max_exposure": s.max_exposure or "not stated",
            "limitation_text": lim_text,
            "misdescriptions": _plain(s.misdescriptions),
            "elements": [{"text": e.text, "status": e.status + (f"; {_judgment(e)}" if e.override else ""),
                          "basis": ", ".join(e.basis)} for e in s.elements]
            or [{"text": "No elements stored for this citation.", "status": "unknown", "basis": "kb"}],
            "provisions": _plain(s.provisions) if s.statute_id not in provisions_shown else [],
            "splits": [{"question": sp.question, "analysis": sp.analysis,
                        "defense_line": "; ".join(sp.defense_line), "prosecution_line": "; ".join(sp.prosecution_line)}
                       for sp in s.splits if sp.id not in splits_shown],
        })
        splits_shown |= {sp.id for sp in s.splits}
        provisions_shown.add(s.statute_id)
    pobr = result.computed.pobr
    defenses = [{"name": d.name, "strength": d.strength.replace("-", " "),
                 "summary": d.summary + (f" POBR year: {pobr.explanation}" if d.id == "administrative-limitations"
                                         and pobr.status != "not-applicable" else ""),
                 "judgment": _judgment(d),
                 "applies_to": ", ".join(d.applies_to),
                 "reasons_for": [{"reason": r.reason, "basis": ", ".join(r.basis)} for r in d.reasons_for],
                 "reasons_against": [{"reason": r.reason, "basis": ", ".join(r.basis)} for r in d.reasons_against],
                 "authorities_for": "; ".join(d.authorities_for), "authorities_against": "; ".join(d.authorities_against),
                 "to_strengthen": d.to_strengthen if d.strength != "not-supported" else []}
                for d in result.defenses]
    findings = [{"id": f.id, "label": FINDINGS[f.id].label, "count": f.count, "summary": f.summary,
                 "rows_text": _rows_text(f.rows)}
                for f in result.findings if FINDINGS[f.id].spec or f.count]   # further ones when they hold rows
    ev = result.evidence
    if ev:
        audit = [f for f in ev.files if f.kind is None]
        evidence_intro = (f"Audit log{'s' if len(audit) > 1 else ''}: "
                          + "; ".join(f"{f.file} ({f.rows} rows, SHA-256 {f.sha256[:16]}...)" for f in audit)
                          + f". {ev.client_queries} queries ran under the client's operator ids.")
    else:
        evidence_intro = "No audit log was loaded; the findings below are empty."
    strong = [d.name for d in result.defenses if d.strength in {"strong", "moderate"}]
    summary = [
        "Citations assessed: " + "; ".join(f"{s.citation} ({s.source}, {s.classification or 'unclassified'})"
                                            for s in result.statutes) + "." if result.statutes
        else "No charge or allegation is cited, and the facts suggest none.",
        ("Defenses the facts support now: " + "; ".join(strong) + ".") if strong
        else "No defense is supported by the facts entered so far.",
    ]
    if result.findings:
        by_id = result.finding_counts()
        summary.append(f"The audit log shows {by_id.get(SUBJECT_QUERIES, 0)} queries on case subjects"
                       + (f", {by_id[OFF_DUTY_SUBJECT_QUERIES]} of them off duty"
                          if OFF_DUTY_SUBJECT_QUERIES in by_id else "")
                       + f", {by_id.get(SUBJECT_QUERIES_WITHOUT_CASE_NUMBER, 0)} without a case number"
                       + (f", and {by_id[UNASSIGNED_TERMINAL_QUERIES]} client queries from unassigned terminals"
                          if UNASSIGNED_TERMINAL_QUERIES in by_id else "") + ".")
    summary.append(f"{len(result.open_questions)} open questions remain; {len(result.unverified)} statements or "
                   "authorities are unverified and listed in the box at the end.")
    authorities = [{"cite": a.cite, "helps": a.helps, "holding": a.holding,
                    "status": ("verified" if a.verified and a.holding_verified else
                               "UNVERIFIED: " + ("citation and holding" if not a.verified and not a.holding_verified
                                                 else "citation" if not a.verified else "holding"))}
                   for a in result.authorities]
    return {
        "firm": {"name": firm_name},
        "matter": result.matter.model_dump(mode="json"),
        "client": {"name": case.client.name, "role_label": ROLE_LABELS[case.client.role], "agency": case.client.agency},
        "prepared_by": case.matter.prepared_by or "clets-defense (draft)",
        "as_of": result.as_of.isoformat(),
        "question": question_presented(result, case),
        "brief_answer": summary,
        "notes": review.notes.strip(),
        "sections": {name: name in review.sections for name in reviewmod.SECTIONS},
        "recommendations": _recommendations(result),
        "overrides": [{"what": c.what, "engine": c.engine.replace("-", " "),
                       "attorney": o.value.replace("-", " "), "reason": o.reason}
                      for c in result.conclusions() if (o := review.override_for(c.kind, c.target))],
        "facts": _fact_lines(case, result.narrative_basis),
        "narrative": (case.facts.narrative or "").strip(),
        "evidence_intro": evidence_intro,
        "evidence_warnings": ev.warnings if ev else [],
        "charts": [],
        "marked_events": [{"time": (e.get("time") or "").replace("T", " "), "where": f"{e['file']} row {e['row']}",
                           "subject": e.get("subject") or "", "mark": e.get("mark") or "", "note": e.get("note") or ""}
                          for e in (marks or [])],
        "findings": findings or [{"id": "none", "label": "None", "count": 0, "summary": "No audit evidence analysed.",
                                 "rows_text": "-"}],
        "statutes": statutes,
        "defense_rule": DEFENSE_RULE,
        "defenses": defenses,
        "collateral": _plain([c for c in result.collateral if c.consequences]),
        "open_questions": result.open_questions,
        "discovery": [{"item": d.item, "why": d.why, "source": d.source,
                       "status": "" if d.verified else "; UNVERIFIED"} for d in result.discovery],
        "authorities": authorities,
        "unverified": _plain(result.unverified),
    }


def render(result: Assessment, case: CaseFile, template: Path | bytes, *, firm_name: str = "Defense Counsel",
           marks: list[dict] | None = None, charts: dict[str, bytes] | None = None,
           review: reviewmod.Review | None = None, template_name: str | None = None) -> bytes:
    """Render the memo; returns the .docx bytes. `template` is the caller's choice, a file or its
    bytes (named in errors as `template_name`); `charts` maps a figure title to PNG bytes.

    The context is built here; the template renders in a worker process with CPU-time and memory
    limits (memo/runner.py, memo/sandbox.py), and the memo it returns is refused if it holds a field that fetches or
    links, an external link or an embedded object (templates.check_rendered). Errors name the
    template and, where it can be found, the place of the tag that was running."""
    if isinstance(template, (bytes, bytearray)):
        data, name = bytes(template), template_name or "template.docx"
    else:
        name = template_name or str(template)
        try:
            data = Path(template).read_bytes()
        except OSError as exc:
            raise AssessmentError([Problem(TP001, f"cannot read the template: {exc.strerror or exc}", file=name)]) \
                from None
    ctx = context(result, case, firm_name, marks, review)
    try:
        docx = runner.run(data, ctx, list((charts or {}).items()))
    except runner.RenderFailure as failure:
        raise AssessmentError([_render_problem(failure, data, name)]) from None
    problems = check_rendered(docx, name)
    if problems:
        raise AssessmentError(problems)
    return docx


# ---- the full check of an uploaded template: its package and tags, then a test render ------------------
DEMO_CASE = "off-duty-lookups"


@kbmod.knowledge_cache(maxsize=1)
def _demo() -> tuple[Assessment, CaseFile]:
    kb = kbmod.load()
    folder = synth.demo_dir() / DEMO_CASE
    case = casefile.load(folder / "case.yaml", kb)
    return engine.assess(case, kb, analyse.analyse(case, folder), dt.date.today()), case


def demo_case() -> tuple[Assessment, CaseFile]:
    """The assessment of the built-in demo case the checks render (computed once per process; a
    copy each time, so a caller cannot change the next check's input)."""
    result, case = _demo()
    return result.model_copy(deep=True), case


def check_template(data: bytes, name: str = "template.docx") -> list[Problem]:
    """Every check of a template (templates.check_package, templates.check_tags), ending with a
    test render on the built-in demo case; the problems, each located, or [] when it may be used."""
    problems = check_package(data, name)
    if problems:
        return problems
    result, case = demo_case()
    variables = set(context(result, case)) | {"charts"}
    problems = check_tags(data, name, variables)
    if problems:
        return problems
    try:
        render(result, case, data, template_name=name)
    except AssessmentError as exc:
        lines = located_text(data)
        out = []
        for p in exc.problems:      # the render names the place where it can; else the word the error names
            place = p.field
            if place is None:
                attr = re.search(r"has no attribute '([^']+)'|'([^']+)' is undefined|attribute '([^']+)'", p.message)
                word = next((g for g in attr.groups() if g), None) if attr else None
                i = next((n for n, (_, t) in enumerate(lines, 1) if word and re.search(rf"\b{re.escape(word)}\b", t)),
                         None)
                place, _ = line_place(lines, i)
            out.append(Problem(p.code, f"the test render on the demo case failed: {p.message}", file=name, field=place,
                               hint=p.hint if p.code != TP001 or p.field else
                               "the tag names a field the memo does not provide, or uses it the wrong way"))
        return out
    return []


def _render_problem(failure: runner.RenderFailure, template: bytes, name: str) -> Problem:
    """A located problem for a render that failed: the place (paragraph, table cell, header or
    footer) of the tag that was running, found by its text in the template."""
    place, text = _place(template, failure.tags, failure.text)
    there = f"the text there reads: {text[:120]!r}" if text else None
    cpu, memory, _ = runner.limits()
    if failure.kind == "time":
        return Problem(TP002, f"the template ran past the time limit on this matter: {failure.message} (at most "
                                f"{cpu} s of processor time, CLETS_RENDER_CPU_SECONDS)", file=name, field=place,
                       hint=(there + "; " if there else "") + "a tag does too much work for this matter's data: loop "
                       "over the memo's lists themselves, not over a range() computed from them")
    if failure.kind == "memory":
        return Problem(TP003, f"the template needed more than {memory} MB of memory on this matter "
                                "(CLETS_RENDER_MEMORY_MB)", file=name, field=place,
                       hint=(there + "; the tag builds a value too large for a memo" if there else
                             "a tag builds a value too large for a memo, or the memo itself is too large for the limit"))
    message = f"{failure.error_type}: {failure.message}" if failure.error_type else failure.message
    return Problem(TP001, message, file=name, field=place, hint=there or "check the tag named in the message")


def _place(template: bytes, tags: list[str], text: str) -> tuple[str | None, str]:
    """(place, its text) of the template line the worker reported (its Jinja tags, else its
    text), matched against the template's paragraphs and cells; (None, "") when not found."""
    def norm(t: str) -> str:       # as the worker saw it: XML tags gone (also those written in a tag's text)
        t = re.sub(r"<[^>]*>", "", DOCXTPL_PREFIX.sub(r"\1 ", t.translate(_QUOTES)))
        return re.sub(r"\s+", " ", t).strip()
    try:
        lines = [(place, t, norm(t)) for place, t in located_text(template)]
    except Exception:  # noqa: BLE001 - python-docx raises many kinds on a broken part
        return None, ""
    for wanted in [norm(tag) for tag in tags]:
        for place, t, n in lines:
            if wanted and wanted in n:
                return place, t
    wanted = norm(text)
    for place, t, n in lines:
        if wanted and n and (wanted in n or n in wanted):
            return place, t
    return None, ""


_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def page_images(pdf: bytes, first: int = 1, last: int = 2, dpi: int = 70) -> list[bytes]:
    """PNG images of the PDF's pages (pdftoppm, from poppler); [] where it is not installed."""
    if not shutil.which("pdftoppm"):
        return []
    with tempfile.TemporaryDirectory(dir=private_tmp()) as tmp:        # the memo's text: in the data folder's private tmp/
        src = Path(tmp) / "memo.pdf"
        src.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", str(first), "-l", str(last), str(src),
                        str(Path(tmp) / "page")], check=True, capture_output=True, timeout=60)
        return [p.read_bytes() for p in sorted(Path(tmp).glob("page*.png"))]


def to_pdf(docx_bytes: bytes, out_dir: Path) -> Path | None:
    """Convert with LibreOffice where it is installed; None otherwise."""
    office = soffice()
    if not office:
        return None
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    src = out_dir / "memo.docx"
    src.write_bytes(docx_bytes)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([office, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                        "--outdir", str(out_dir), str(src)], check=True, capture_output=True, timeout=180)
    pdf = out_dir / "memo.pdf"
    return pdf if pdf.exists() else None
