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
from assessment.core.text import clause, first_sentence, plural, reflow, sentence, unend
from assessment.evidence import analyse, synth
from assessment.evidence.model import FINDINGS
from assessment.firm.tmpfiles import root as private_tmp
from assessment.law import engine
from assessment.law import kb as kbmod
from assessment.law.chronology import due
from assessment.law.model import Assessment, Defense, Element, NarrativeSource, Reason, Statute
from assessment.memo import brief, runner
from assessment.memo import chronology as chronology_figure
from assessment.memo.sandbox import CHRONOLOGY_FIGURE
from assessment.memo.templates import DOCXTPL_PREFIX, check_package, check_rendered, check_tags, line_place, located_text
from assessment.memo.words import DATES, Words, label, rows_text, short_cite, short_source

ROLE_LABELS = {
    "peace_officer": "peace officer", "dispatcher": "dispatcher", "records_staff": "records staff",
    "probation_officer": "probation officer", "custodial_officer": "custodial officer",
    "civilian_employee": "civilian employee", "contractor": "contractor", "other": "other",
}
RELATIONSHIPS = {"ex_partner": "former partner", "coworker": "co-worker", "public_figure": "public figure",
                 "case_subject": "subject of an official case", "unknown": "relationship unknown"}
PROTECTIVE = {"none": "", "protects_subject": "protected by an order restraining the client",
              "protects_client": "restrained by an order protecting the client"}
DEFENSE_RULE = ("How strength is decided: the strongest factor for a defense sets its strength by its legal effect "
                "(dispositive, substantial or supporting, and whether it reaches every count or only some); a factor "
                "against it of the same weight lowers it one band, and a dispositive factor against caps it at weak. "
                "Factors are never counted.")
UNVERIFIED_KINDS = {"heading": "Code heading of", "consequence": "Consequence", "authority": "Authority",
                    "discovery": "Discovery item", "penalty": "Penalty tier", "statute": "Statute", "element": "Element",
                    "defense": "Defense", "limitation": "Limitation rule"}
APPENDIX_ROWS = 400          # audit rows listed per finding in the appendix; the JSON holds every one
WHOLE = 100_000              # a first sentence is never cut


def _client_line(case: CaseFile) -> str:
    c = case.client
    parts = [f"{c.name}, {ROLE_LABELS[c.role]}" + (f", {c.agency}" if c.agency else "") + (f" (ORI {c.ori})" if c.ori else "")]
    for key, what in (("hire_date", "hired"), ("assignment_date", "assigned CLETS duties"),
                      ("clets_training_date", "CLETS training completed")):
        value = getattr(c, key)
        parts.append(f"{what} {value.isoformat()}" if value else f"{what}: no date on record")
    if c.operator_ids:
        parts.append(("operator ID " if len(c.operator_ids) == 1 else "operator IDs ") + ", ".join(c.operator_ids))
    if c.terminal_ids:
        parts.append(("assigned terminal " if len(c.terminal_ids) == 1 else "assigned terminals ") + ", ".join(c.terminal_ids))
    parts.append({"yes": "prior discipline on record", "no": "no prior discipline",
                  "unknown": "prior discipline unknown"}[c.prior_discipline])
    return "; ".join(parts) + "."


def _subject_lines(case: CaseFile) -> list[dict]:
    out = []
    for i, s in enumerate(case.subjects, 1):
        extra = [RELATIONSHIPS.get(s.relationship, s.relationship.replace("_", " "))]
        if PROTECTIVE[s.protective_order]:
            extra.append(PROTECTIVE[s.protective_order])
        out.append({"text": f"Subject {i}: {s.name} ({'; '.join(extra)}).", "source": f"Case file: subject {i}"})
    return out


def _fact_groups(case: CaseFile, narrative_basis: dict[str, NarrativeSource] | None) -> list[dict]:
    """The tri-state facts in three lines (yes, no, unknown), the stated purpose on its own, and
    each fact taken from the narrative with the sentence it came from."""
    groups: dict[str, list[str]] = {"yes": [], "no": [], "unknown": []}
    for key in casefile.FACT_KEYS:
        if key == "stated_purpose":
            continue
        groups[getattr(case.facts, key)].append(label(key))
    out = [{"text": f"Stated purpose of the queries: {label(case.facts.stated_purpose)}.", "source": "Fact: stated purpose"}]
    for value, head in (("yes", "Established (yes)"), ("no", "Established (no)"), ("unknown", "Not yet known")):
        if groups[value]:
            out.append({"text": f"{head}: {', '.join(groups[value])}.", "source": "Facts entered by the attorney"})
    for key, nb in sorted((narrative_basis or {}).items(), key=lambda kv: kv[1].sentence):
        out.append({"text": f"From the narrative: {label(key)} ({getattr(case.facts, key, '')}).",
                    "source": f"Narrative, sentence {nb.sentence}: \u201c{nb.text}\u201d"})
    return out


SUMMARY_WORDS = 220


def _summary(paragraphs: list[str]) -> dict:
    """The narrative as the body's summary of the facts: whole, up to SUMMARY_WORDS words; else its
    first whole sentences up to that length, and the rest left to Appendix F."""
    words = sum(len(p.split()) for p in paragraphs)
    if words <= SUMMARY_WORDS:
        return {"paragraphs": paragraphs, "continued": False}
    out: list[str] = []
    count = 0
    text = " ".join(paragraphs)
    while text and count < SUMMARY_WORDS:
        head = first_sentence(text, WHOLE)
        n = len(head.split())
        if count + n > SUMMARY_WORDS:
            if not out:                          # one sentence longer than the summary: its first words
                out.append(" ".join(head.split()[:SUMMARY_WORDS]) + " ...")
            break
        out.append(head)
        count += n
        text = text[len(head):].strip()
    return {"paragraphs": [" ".join(out)], "continued": True}


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


def long_date(day: dt.date) -> str:
    """'December 2, 2026', whatever the machine's locale."""
    return f"{MONTHS[day.month - 1]} {day.day}, {day.year}"


def _fact_lines(case: CaseFile, words: Words) -> list[dict]:
    """Each fact as a line (label, value, source): kept for firm templates made from the built-in
    one before issue 16, which list facts one by one."""
    out = [{"label": "Client", "value": _client_line(case), "source": "Case file: client"}]
    out += [{"label": f"Subject {i}", "value": x["text"], "source": x["source"]}
            for i, x in enumerate(_subject_lines(case), 1)]
    out += [{"label": label(k).capitalize(), "value": getattr(case.facts, k).replace("_", " "), "source": words([f"fact:{k}"])}
            for k in casefile.FACT_KEYS]
    return out + [{"label": "Dates", "value": _dates_line(case), "source": "Case file: dates"}]


def _dates_line(case: CaseFile) -> str:
    known = [f"{DATES.get(k, label(k))} {v.isoformat()}" for k in type(case.dates).model_fields
             if (v := getattr(case.dates, k))]
    return ("Dates: " + "; ".join(known) + ".") if known else "Dates: none entered yet."


def _judgment(item: Defense | Element) -> str:
    """'' for the engine's own answer; else the attorney's judgment, the engine's answer and why."""
    o = item.override
    if not o:
        return ""
    return f"attorney's judgment (the engine gives {o.engine.replace('-', ' ')}): {unend(o.reason)}"


PLEA_COLUMNS = {"employment": "job:", "post": "POST:", "pension": "pension:"}   # what a plea decides for the career


def _recommendations(result: Assessment) -> list[dict]:
    """What to do next, each with the entry it comes from: the defenses to pursue, how to
    strengthen them, limitation points, and the unverified items to check."""
    out = []
    live = [d for d in result.defenses if d.strength in ("strong", "moderate")]
    if live:
        out.append({"text": "Lead with " + "; then ".join(f"{d.name} ({d.strength})" for d in live) + ".",
                    "source": "; ".join(f"Knowledge base: {d.name}" for d in live)})
    for s in result.statutes:
        lim = s.limitation
        if lim and lim.status in ("expired", "partly-expired", "contested") and s.source != "suggested":
            out.append({"text": f"Raise the limitation on {brief.limitation_line(s)}.", "source": lim.authority})
    rows = {d.id: d for d in result.dispositions if d.available}
    if "felony-reduced" in rows and "misdemeanor" in rows:        # the plea that keeps the career, from the matrix
        def costs(d) -> str:
            return "; ".join(f"{PLEA_COLUMNS[c.column]} {unend(c.short or c.status)[0].lower()}"
                             f"{unend(c.short or c.status)[1:]}" for c in d.cells if c.column in PLEA_COLUMNS)
        out.append({"text": f"Before any plea, weigh what it costs: a felony plea later reduced under § 17(b): "
                            f"{costs(rows['felony-reduced'])}. A straight misdemeanor plea: {costs(rows['misdemeanor'])}.",
                    "source": "Knowledge base: what each outcome costs (Appendix G)"})
    if result.unverified:
        out.append({"text": f"Check the {plural(len(result.unverified), 'unverified item')} in the box at the end "
                            "before relying on them.", "source": "Knowledge base: verification status"})
    return out


def question_presented(result: Assessment, case: CaseFile) -> str:
    cites = [s.citation for s in result.statutes if s.source != "suggested"]
    charged = (" under " + (", ".join(cites[:-1]) + " and " if len(cites) > 1 else "") + cites[-1]) if cites else ""
    return (f"On the facts entered and the audit evidence loaded, what is {case.client.name}'s criminal exposure"
            f"{charged} for access to CLETS information, what collateral consequences follow, and which "
            "defenses do the facts support?")


def _section(citation: str) -> tuple[str, str]:
    """(the code as a reader writes it, the section) of a citation: ('Pen. Code', '502'), ('18 U.S.C.', '2724')."""
    m = re.match(r"^(?:(\d+) USC|([A-Z&.]+)) ([0-9]+(?:\.[0-9]+)?[a-z]?)", citation)
    if not m:
        return "", citation
    if m.group(1):
        return f"{m.group(1)} U.S.C.", m.group(3)
    return {"PC": "Pen. Code", "VC": "Veh. Code", "GC": "Gov. Code"}.get(m.group(2), m.group(2)), m.group(3)


def provision_label(citation: str, pid: str) -> str:
    """A quoted provision's citation: '(h)(1)' of PC 502 is 'Pen. Code § 502(h)(1)'; '15154' next
    to GC 15153 is 'Gov. Code § 15154'; '2723(a)' next to 18 USC 2724 is '18 U.S.C. § 2723(a)'; a
    provision named by a word ('forfeiture') is the section's own."""
    code, section = _section(citation)
    if pid.startswith("("):
        where = f"§ {section}{pid}"
    elif pid[:1].isdigit():
        where = f"§ {pid}"
    else:
        where = f"§ {section} ({pid})"
    return f"{code} {where}".strip()


def _provision_text(pid: str, text: str) -> str:
    """The text without a lead-in that repeats its own section ('§ 77: ...')."""
    return re.sub(rf"^§\s*{re.escape(pid)}\s*:\s*", "", text)


def _unverified_label(uid: str) -> str:
    """The citation an unverified item's id names ('pc-502(c)(7):d3a' is PC 502(c)(7)); '' for an
    id that names none (a consequence, an authority: their text says what they are)."""
    if re.match(r"^(PC|VC|GC|\d+ USC) ", uid):
        return uid
    m = (re.match(r"^(pc|vc|gc)-([0-9.]+[a-z]?)((?:\([a-z0-9]+\))*)", uid)
         or re.match(r"^usc-(\d+)-([0-9]+)((?:\([a-z0-9]+\))*)", uid))
    if not m:
        return ""
    if uid.startswith("usc-"):
        return f"{m.group(1)} USC {m.group(2)}{m.group(3)}"
    return f"{m.group(1).upper()} {m.group(2)}{m.group(3)}"


def _limitation(s: Statute, words: Words) -> dict:
    lim = s.limitation
    if lim is None:
        return {"line": "No limitation period is stored in the knowledge base for this tier.", "detail": "",
                "readings": [], "source": ""}
    detail = " ".join(x for x in (sentence(lim.explanation), sentence(lim.commenced_by or ""),
                                  sentence(lim.if_charged_later or "")) if x)
    readings = [{"tier": f"{r.classification}: {unend(r.tier)}", "period": f"{r.period} ({r.authority})",
                 "status": r.status.replace("-", " ").replace("expired", "barred"),
                 "until": r.deadline_latest_act or "-"} for r in lim.readings or []]
    if lim.status == "contested":               # the readings table says each; the explanation says why
        line = "Contested under Pen. Code § 805(a); the readings are in the table below."
    elif lim.status == "unknown":               # the explanation says what is missing
        line = "Cannot be computed yet."
    else:
        line = sentence(brief.limitation_line(s).split(": ", 1)[1])
    return {"line": line, "detail": detail, "readings": readings, "source": words(lim.basis)}


def _dedup(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _exposure_cell(s: Statute) -> str:
    """The custody and fine of the tier the facts show, for a table cell (the class has its own column)."""
    tier = next((t for t in s.penalty_tiers or [] if t.applies), None)
    return f"{clause(tier.custody)}; fine: {clause(tier.fine)}" if tier else "not stated"


def _reason(r: Reason, words: Words) -> dict:
    """A reason for or against a defense, with its basis in words (`basis` for templates made before issue 16)."""
    source = words(r.basis)
    return {"reason": sentence(r.reason), "source": source, "basis": source}


def _element_basis(e: Element, words: Words) -> str:
    """The element's basis in words; for an element nothing in the case decides, what would."""
    if e.status == "unknown" and all(b.startswith("kb:") for b in e.basis):
        waiting = [label(k.split(":", 1)[-1].split(".")[-1]) for k in e.waits_on or []]
        return ("Not yet known: " + ", ".join(waiting)) if waiting else "Nothing in the case shows it yet"
    return words(e.basis)


def _statute(s: Statute, words: Words, splits_shown: set[str]) -> dict:
    unnumbered = {"suggested": "suggested by the engine", "possible": "possible charge"}
    counts = (plural(s.counts, "count") + " " + s.source) if s.counts else unnumbered.get(s.source, s.source)
    return {
        "citation": s.citation, "title": s.title, "counts": counts,
        "official_heading": unend(s.official_heading),
        "why": " ".join(sentence(w.reason) for w in s.why or []),
        "why_source": words([b for w in s.why or [] for b in w.basis]),
        "subdivision_summary": sentence(s.subdivision_summary or ""),
        "classification": s.classification or "not stated",
        "max_exposure": sentence(s.max_exposure or "Not stated in the knowledge base"),
        "limitation": _limitation(s, words),
        "misdescriptions": [{"claim": unend(m.claim).strip("\u201c\u201d\""), "correction": sentence(m.correction)}
                            for m in s.misdescriptions],
        "elements": [{"text": e.text, "status": e.status.replace("-", " ") + (f"; {_judgment(e)}" if e.override else ""),
                      "source": (basis := _element_basis(e, words)), "basis": basis} for e in s.elements]
        or [{"text": "No elements stored for this citation.", "status": "unknown", "source": "", "basis": ""}],
        "splits": [{"question": sp.question, "analysis": sp.analysis,
                    "defense_line": "; ".join(sp.defense_line), "prosecution_line": "; ".join(sp.prosecution_line)}
                   for sp in s.splits if sp.id not in splits_shown],
        "notes": [sentence(q.split(": ", 1)[1]) for q in s.open_questions if "Analysis:" in q],
        "questions": [q for q in s.open_questions if "Analysis:" not in q],
        # kept for firm templates made from the built-in one before issue 16 (they name these)
        "source_label": counts, "section": _section(s.citation)[1],
        "limitation_text": (f"{s.limitation.period} ({s.limitation.authority}). {sentence(s.limitation.explanation)}"
                            if s.limitation else "not stated in the knowledge base for this tier."),
        "provisions": [{"id": pr.id, "text": _provision_text(pr.id, pr.text)} for pr in s.provisions],
    }


BODY_PRIORITIES = 5          # open questions the body ranks; every one is in Appendix I
KIND_WORDS = {"fact": "case file", "finding": "audit log", "investigation": "investigation", "filing": "filing",
              "deadline": "deadline"}


def _priorities(result: Assessment) -> list[dict]:
    """Every open question, ranked by what its answer changes (law/priorities.py), for the memo."""
    return [{"rank": p.rank, "question": p.question, "impact": sentence(p.impact), "moves": bool(p.changes),
             "answers": "; ".join(f"if {a.label}, {plural(len(a.changes), 'change')}" for a in p.answers)
             or "none",
             "investigate": sentence(p.investigation) if p.investigation else "",
             "request": sentence(p.discovery_request) if p.discovery_request else "",
             "source": short_source(p.source) + ("" if p.verified else "; UNVERIFIED") if p.source else ""}
            for p in result.investigation_priorities]


NOTE_APPENDIX = {"consequence": "C", "authority": "D"}
BOX_NOTE = 200               # characters of a verification note the body's box prints whole; a longer one, its first sentence


def _box_note(kind: str, note: str) -> str:
    """A verification note for the body's box: whole when short; else its first sentence and where the rest is
    (consequences in Appendix C, authorities in Appendix D, each with its note in full)."""
    if len(note) <= BOX_NOTE:
        return sentence(note)
    where = f" The full note is in Appendix {NOTE_APPENDIX[kind]}." if kind in NOTE_APPENDIX else ""
    return f"{sentence(first_sentence(note, WHOLE))}{where}"


def _dispositions(result: Assessment) -> list[dict]:
    """The disposition matrix: each outcome with its cells, a short form for the body's table (a dagger marks a
    rule not verified; an unknown cell names the fact it turns on) and the full text with its rule for Appendix G."""
    rows = []
    for d in result.dispositions:
        cells = []
        for c in d.cells:
            flag = "" if c.verified else " UNVERIFIED"
            short = c.short or c.status.replace("-", " ").capitalize()
            cells.append({"column": c.column, "heading": c.heading, "status": c.status, "text": sentence(c.text),
                          "short": short + ("" if c.verified or c.status == "unknown" else " \u2020"),
                          "rule": unend(c.rule) + flag})
        rows.append({"id": d.id, "label": d.label, "available": d.available,
                     "why": unend(d.availability.removeprefix("Not open: ")),
                     "availability": sentence(d.availability), "cells": cells, "by": {c["column"]: c for c in cells}})
    return rows


def _column_line(rows: list[dict], column: str) -> str:
    """One heading of the open outcomes in a line (the body's table leaves it out): its short form once where it is the
    same whatever the outcome (the DPPA action does not turn on the disposition), else outcome by outcome."""
    cells = [(d["label"], d["by"][column]["short"]) for d in rows if d["available"] and column in d["by"]]
    if not cells:
        return ""
    if len({short for _, short in cells}) == 1:
        return f"{unend(cells[0][1])}, whatever the outcome (Appendix G)"
    return "; ".join(f"{label}: {unend(short)}" for label, short in cells)


def _chronology(result: Assessment) -> tuple[list[dict], list[dict]]:
    """(every entry of the chronology, the deadlines still ahead on the counts in the case file and the POBR year and
    training rules) for the memo."""
    rows, ahead = [], []
    due_ahead = [e for e in due(result.chronology) if not e.passed]
    for e in result.chronology:
        where = (f"{e.file} rows {rows_text(e.rows)}" if e.file and e.rows else "")
        state = ("" if e.kind != "deadline" else
                 ("passed" if e.passed else "ahead") + (", tolled" if e.tolled else ""))
        rows.append({"date": e.date[:10], "kind": KIND_WORDS.get(e.kind, e.kind), "what": unend(e.what),
                     "where": where, "rule": e.rule or "", "state": state, "deadline": e.kind == "deadline",
                     "passed": bool(e.passed)})
        if e in due_ahead:
            ahead.append(rows[-1])
    return rows, ahead


def context(result: Assessment, case: CaseFile, firm_name: str = "Defense Counsel", marks: list[dict] | None = None,
            review: reviewmod.Review | None = None, prepared_by: str | None = None) -> dict:
    """Everything the template may use, as plain data. Built only from the assessment (with the
    attorney's overrides applied, see `Assessment.reviewed`), the case file, the attorney's marks
    on audit events (see `events.marked`) and the attorney's notes. `prepared_by` is the signed-in
    attorney (the app) or the --prepared-by name (the command line); else the case file's."""
    result = result.reviewed(review)
    review = review or reviewmod.Review()
    words = Words(result, case)
    answer = brief.brief(result, case)
    splits_shown: set[str] = set()
    full = []
    for s in result.statutes:
        full.append(_statute(s, words, splits_shown))
        splits_shown |= {sp.id for sp in s.splits}
    named = {id(s) for s in brief.case_counts(result)}
    charged = [d for s, d in zip(result.statutes, full, strict=True) if id(s) in named]
    others = [(s, d) for s, d in zip(result.statutes, full, strict=True) if id(s) not in named]
    other_rows = [{"citation": s.citation, "title": s.title, "classification": s.classification or "not stated",
                   "exposure": _exposure_cell(s),
                   "why": unend(d["why"]) if d["why"] else "named in the case file",
                   "limitation": brief.limitation_short(s)} for s, d in others]
    provisions, seen = [], set()
    for s in result.statutes:
        if s.statute_id in seen:
            continue
        seen.add(s.statute_id)
        provisions += [{"label": provision_label(s.citation, pr.id), "text": _provision_text(pr.id, pr.text),
                        "source": pr.source + ("" if pr.verified else "; UNVERIFIED")} for pr in s.provisions]
    misdescriptions, claims = [], set()
    for d in full:
        for m in d["misdescriptions"]:
            if m["claim"] not in claims:
                claims.add(m["claim"])
                misdescriptions.append(m)
    pobr = result.computed.pobr
    ranked = sorted(result.defenses, key=lambda d: d.strength == "not-supported")   # stable: the engine's order
    supported = [d for d in ranked if d.strength != "not-supported"]
    defenses = [{"rank": i, "name": d.name, "strength": d.strength.replace("-", " "), "summary": sentence(d.summary),
                 "judgment": _judgment(d), "applies_to": ", ".join(d.applies_to),
                 "pobr": sentence(pobr.explanation) if d.id == "administrative-limitations"
                 and pobr.status != "not-applicable" else "",
                 "reasons_for": [_reason(r, words) for r in d.reasons_for],
                 "reasons_against": [_reason(r, words) for r in d.reasons_against],
                 "authorities_for": "; ".join(map(short_cite, d.authorities_for)),
                 "authorities_against": "; ".join(map(short_cite, d.authorities_against)),
                 "to_strengthen": [sentence(t) for t in d.to_strengthen]}
                for i, d in enumerate(ranked, 1)]
    not_supported = [{"name": d.name + (f" ({_judgment(d)})" if d.override else ""),
                      "why": unend(pobr.coverage_basis if d.id == "administrative-limitations" and pobr.covered == "no"
                                   else first_sentence(d.reasons_against[0].reason if d.reasons_against else d.summary,
                                                       WHOLE))}
                     for d in result.defenses if d.strength == "not-supported"]
    findings = [{"id": f.id, "label": FINDINGS[f.id].label, "count": f.count, "summary": sentence(f.summary),
                 "rows_text": rows_text(f.rows), "all_rows": rows_text(f.rows, APPENDIX_ROWS)}
                for f in result.findings if FINDINGS[f.id].spec or f.count]   # further ones when they hold rows
    ev = result.evidence
    if ev:
        audit = [f for f in ev.files if f.kind is None]
        evidence_intro = (f"Audit log{'s' if len(audit) > 1 else ''}: "
                          + "; ".join(f"{f.file} ({plural(f.rows, 'row')})" for f in audit)
                          + f". {plural(ev.client_queries, 'query')} ran under the client's operator ids.")
        evidence_files = [{"file": f.file, "kind": f.kind or "audit log", "rows": f.rows, "sha256": f.sha256}
                          for f in ev.files]
    else:
        evidence_intro = "No audit log was loaded, so there are no findings yet."
        evidence_files = []
    authorities = [{"cite": a.cite, "helps": a.helps, "holding": a.holding, "note": sentence(a.note) if a.note else "",
                    "status": ("verified" if a.verified and a.holding_verified else
                               "UNVERIFIED: " + ("citation and holding" if not a.verified and not a.holding_verified
                                                 else "citation" if not a.verified else "holding"))}
                   for a in result.authorities]
    asked = [q for q in _dedup(answer.questions + result.open_questions)
             if "Analysis:" not in q and not brief.about_suggested(q, result)]
    later = [] if brief.timing_matters(result) else [q for q in asked if brief.is_timing(q) and q not in answer.questions]
    body_questions = [q for q in asked if q not in later]
    collateral = [{"title": fam.title,
                   "consequences": [{"title": sentence(c.title), "text": sentence(c.text),
                                     "cite": short_source(c.source) + ("" if c.verified else "; UNVERIFIED"),
                                     "source": c.source + ("" if c.verified else "; UNVERIFIED"),
                                     "note": sentence(c.note) if c.note else "", "verified": c.verified}
                                    for c in fam.consequences]}
                  for fam in result.collateral if fam.consequences]
    who = prepared_by or case.matter.prepared_by
    priorities = _priorities(result)
    top = {q["question"] for q in [q for q in priorities if q["moves"]][:BODY_PRIORITIES]}
    body_questions = [q for q in body_questions if q not in top]         # those are ranked above them
    dispositions = _dispositions(result)
    chronology, ahead = _chronology(result)
    titles = {f"{fam.family}.{c.id}": c.title for fam in result.collateral for c in fam.consequences}
    return {
        "firm": {"name": firm_name},
        "matter": result.matter.model_dump(mode="json"),
        "client": {"name": case.client.name, "role_label": ROLE_LABELS[case.client.role], "agency": case.client.agency},
        "prepared_by": who or "____________________ (attorney)",
        "author": who or "",
        "prepared_on": long_date(dt.date.today()),
        "as_of": result.as_of.isoformat(),
        "as_of_long": long_date(result.as_of),
        "question": question_presented(result, case),
        "brief": {"answer": answer.answer, "points": [vars(p) for p in answer.points], "questions": answer.questions},
        "brief_answer": [answer.answer] + [f"{p.label}: {p.text}" for p in answer.points],
        "notes": " ".join(reflow(review.notes)),
        "notes_paragraphs": reflow(review.notes),
        "sections": {name: name in review.sections for name in reviewmod.SECTIONS},
        "recommendations": _recommendations(result),
        "overrides": [{"what": c.what, "engine": c.engine.replace("-", " "),
                       "attorney": o.value.replace("-", " "), "reason": o.reason}
                      for c in result.conclusions() if (o := review.override_for(c.kind, c.target))],
        "client_line": _client_line(case),
        "subjects": _subject_lines(case),
        "fact_groups": _fact_groups(case, result.narrative_basis),
        "dates_line": _dates_line(case),
        "narrative": " ".join(reflow(case.facts.narrative or "")),
        "narrative_paragraphs": reflow(case.facts.narrative or ""),
        "facts": _fact_lines(case, words),
        "summary": _summary(reflow(case.facts.narrative or "")),
        "evidence_intro": evidence_intro,
        "evidence_files": evidence_files,
        "evidence_warnings": [sentence(w) for w in ev.warnings] if ev else [],
        "charts": [],
        "marked_events": [{"time": (e.get("time") or "").replace("T", " "), "where": f"{e['file']} row {e['row']}",
                           "subject": e.get("subject") or "", "mark": e.get("mark") or "", "note": e.get("note") or ""}
                          for e in (marks or [])],
        "findings": findings,
        "statutes": full,
        "charged": charged,
        "other_exposure": other_rows,
        "appendix_statutes": [d for _, d in others],
        "provisions": provisions,
        "defense_rule": DEFENSE_RULE,
        "defenses": defenses,
        "ranked": defenses[:len(supported)],
        "defenses_not_supported": not_supported,
        "collateral": collateral,
        "open_questions": body_questions,
        "timing_questions": later,
        "discovery": [{"item": sentence(d.item), "why": sentence(d.why),
                       "cite": short_source(d.source) + ("" if d.verified else "; UNVERIFIED"),
                       "source": d.source, "status": "" if d.verified else "; UNVERIFIED"}
                      for d in result.discovery],
        "authorities": authorities,
        "authorities_unverified": sum(a["status"] != "verified" for a in authorities),
        "unverified": [{"kind": UNVERIFIED_KINDS.get(u.kind, u.kind.capitalize()), "id": u.id,
                        "label": _unverified_label(u.id),
                        "line": sentence(titles.get(u.id) or u.what), "what": unend(u.what),
                        "source": unend(short_source(u.source)), "note": _box_note(u.kind, u.note)}
                       for u in result.unverified],
        "misdescriptions": misdescriptions,
        "priorities": priorities,
        "priorities_top": [q for q in priorities if q["moves"]][:BODY_PRIORITIES],
        "dispositions": dispositions,
        "dispositions_open": [d for d in dispositions if d["available"]],
        "dppa_line": _column_line(dispositions, "dppa"),
        "dispositions_closed": [d for d in dispositions if not d["available"]],
        "disposition_headings": [c["heading"] for c in dispositions[0]["cells"]] if dispositions else [],
        "chronology": chronology,
        "deadlines_ahead": ahead,
    }


def render(result: Assessment, case: CaseFile, template: Path | bytes, *, firm_name: str = "Defense Counsel",
           marks: list[dict] | None = None, charts: dict[str, bytes] | None = None,
           review: reviewmod.Review | None = None, template_name: str | None = None,
           prepared_by: str | None = None) -> bytes:
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
    ctx = context(result, case, firm_name, marks, review, prepared_by)
    figures = dict(charts or {})
    if result.chronology and CHRONOLOGY_FIGURE not in figures:
        drawn = chronology_figure.png(result.chronology, result.as_of)
        if drawn:
            figures[CHRONOLOGY_FIGURE] = drawn
    try:
        docx = runner.run(data, ctx, list(figures.items()))
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
    variables = set(context(result, case)) | {"charts", "chronology_chart"}
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
