import datetime as dt
import re

import pandas as pd
import streamlit as st

from assessment.app import autoform, labels
from assessment.app import state as ui
from assessment.core import safepath
from assessment.core.errors import EV004, AssessmentError, Problem
from assessment.evidence import analyse as evidence
from assessment.evidence import charts, events, mappings, sniff
from assessment.evidence.model import FINDINGS, SUBJECT_QUERIES
from assessment.evidence.model import label as finding_label
from assessment.firm import tmpfiles, uploads
from assessment.firm.permissions import allowed

st.title("Evidence")
c = ui.case()
plans: dict = st.session_state.setdefault("plans", {})


VOCABS = {"audit_logs": sniff.AUDIT_HEADERS, "shifts": sniff.SHIFT_HEADERS, "incidents": sniff.CAD_HEADERS}
reported: set[str] = set()          # the problems shown in this run: each is shown once


def as_named(exc: AssessmentError) -> AssessmentError:
    """The problems with every private working folder taken out of them (`<data>/tmp/<folder>/audit.csv`
    is `audit.csv`): a file is named as the user named it, never by a path on the server."""
    roots = {str(tmpfiles.root()), str(tmpfiles.root().resolve())}
    private = re.compile("(?:" + "|".join(re.escape(r) for r in sorted(roots, key=len, reverse=True)) + r")/[^/]+/")
    for p in exc.problems:
        p.file, p.message, p.hint = (private.sub("", v) if v else v for v in (p.file, p.message, p.hint))
    return exc


def report(exc: AssessmentError, what: str) -> None:
    """Show the problems not shown yet in this run (a file that the analysis and the mapping both
    cannot read is reported once), named as the user named the files."""
    fresh = [p for p in as_named(exc).problems if str(p) not in reported]
    reported.update(str(p) for p in fresh)
    if fresh:
        ui.show_problems(AssessmentError(fresh), what)


def readable(candidate, folder) -> bool:
    """Whether every evidence file of `candidate` can be sampled (its columns can then be mapped on
    this page); an empty or unreadable file cannot be mapped, only uploaded again."""
    for kind, vocab in VOCABS.items():
        for rel in getattr(candidate.evidence, kind):
            try:
                sniff.sample(safepath.inside(folder, rel), vocab)
            except (AssessmentError, safepath.Outside):
                return False
    return True


def analyse_with_progress(candidate, folder, label: str):
    """Analyse with a progress bar; None (and a located error) when the evidence cannot be read."""
    failure = None
    with st.status(label, expanded=True) as status:
        bar = st.progress(0.0, text="Starting")
        try:
            ev = evidence.analyse(candidate, folder, plans=plans, progress=lambda f, m: bar.progress(f, text=m),
                                  remembered=ui.remembered_mappings())
        except AssessmentError as exc:
            failure = exc
            status.update(label="The evidence was not loaded", state="error", expanded=False)
        else:
            status.update(label="Evidence loaded and analysed", state="complete", expanded=False)
    if failure is not None:
        report(failure, "The evidence was not loaded")
        return None
    return ev


with st.form("evidence_upload", clear_on_submit=True):
    audit_up = st.file_uploader("CLETS transaction logs (CSV, TXT or XLSX, or CSV compressed as .gz; several files "
                                "allowed)", type=["csv", "txt", "xlsx", "gz"], accept_multiple_files=True, key="up-audit")
    shifts_up = st.file_uploader("Shift schedule (CSV or XLSX)", type=["csv", "txt", "xlsx"], key="up-shifts")
    cad_up = st.file_uploader("CAD incidents (CSV or XLSX)", type=["csv", "txt", "xlsx"], key="up-incidents")
    go = st.form_submit_button("Load evidence")
ups = (audit_up or []) + [u for u in (shifts_up, cad_up) if u is not None]
refused = [Problem(EV004, f"the file's name is not a plain file name: {why}", file=repr(up.name)[1:-1][:120],
                   hint="rename the file (no folders, '..' or control characters) and upload it again")
           for up in ups if (why := safepath.upload_problem(up.name))] if go else []
refused = refused or ([p for up in ups for p in uploads.check_evidence(up.getvalue(), up.name)] if go else [])
if refused:
    ui.show_problems(AssessmentError(refused), "The upload was refused")
    ui.log("upload", reason="refused: " + ", ".join(sorted({p.code for p in refused})), outcome="failure")
elif go and ups:
    work = ui.working_dir()
    updated = c.evidence.model_copy()
    for up in ups:           # kept byte for byte, only inside the session's own folder; SHA-256 in the files table
        safepath.inside(work, up.name).write_bytes(up.getvalue())
        plans.pop(up.name, None)
    if audit_up:
        updated.audit_logs = [up.name for up in audit_up]
    for kind, up in (("shifts", shifts_up), ("incidents", cad_up)):
        if up is not None:
            setattr(updated, kind, [up.name])
    candidate = c.model_copy(update={"evidence": updated})
    st.session_state.pending = (candidate, work)
    ev = analyse_with_progress(candidate, work, "Reading the evidence")
    if ev is not None:
        st.session_state.case, st.session_state.case_dir = candidate, work
        st.session_state.result = None
        st.session_state.pop("pending", None)
        ui.evidence_changed()
    elif not readable(candidate, work):       # nothing to map: the error above says which file to upload again
        st.session_state.pop("pending", None)

# the files being mapped: a failed upload's, else the case's
pending = st.session_state.get("pending")
remembered = ui.remembered_mappings()
# a pending upload brings only its evidence: the rest is the case as it is now (the Case page may have
# changed it since the upload)
map_case, map_dir = ((c.model_copy(update={"evidence": pending[0].evidence}), pending[1]) if pending
                     else (c, st.session_state.case_dir))


FAMILIES = {"timestamp": sniff.TIMESTAMP_FORMATS, "date": sniff.DATE_FORMATS, "dob": sniff.DATE_FORMATS,
            "time": sniff.TIME_FORMATS, "received": sniff.TIMESTAMP_FORMATS,
            "start": sniff.TIMESTAMP_FORMATS + sniff.TIME_FORMATS, "end": sniff.TIMESTAMP_FORMATS + sniff.TIME_FORMATS}
KIND_NAMES = {"audit_logs": "audit log", "shifts": "shift schedule", "incidents": "CAD incidents"}


def mapping_editor(rel: str, vocab=sniff.AUDIT_HEADERS) -> None:
    try:           # only the matter's own files, in the session's folder; errors name the file, not a path
        path = safepath.inside(map_dir, rel)
        s = sniff.sample(path, vocab)
    except safepath.Outside:
        st.error(f"{ui.md_escape(rel)} is not a file of this matter.")
        return
    except AssessmentError as exc:
        for p in exc.problems:
            p.file = rel if p.file and p.file.endswith(rel) else p.file
        report(exc, f"{rel} cannot be read")
        return
    ori = (map_case.client.ori or "").upper() or mappings.file_ori(s)
    plan = plans.get(rel) or mappings.plan_for(path, vocab, ori, sample=s, remembered=remembered)
    st.caption(ui.md_escape(f"{plan.kind.upper()}, {plan.encoding}, delimiter {plan.delimiter!r}, headers on line "
                            f"{plan.header_line}; mapping: {plan.source}"))
    options = ["(none)"] + plan.headers
    chosen: dict[str, str] = {}
    formats: dict[str, str] = {}
    grid = st.columns(3)
    for n, meaning in enumerate(evidence.AUDIT_FIELDS if vocab is sniff.AUDIT_HEADERS else list(vocab)):
        with grid[n % 3]:
            current = plan.columns.get(meaning)
            conf = plan.confidence.get(meaning)
            label = f"{labels.meaning(meaning)} ({'%.0f%%' % (conf * 100) if conf is not None else 'not found'})"
            pick = st.selectbox(label, options, index=options.index(current) if current in options else 0,
                                key=f"map-{rel}-{meaning}", help=plan.reasons.get(meaning))
            if pick != "(none)":
                chosen[meaning] = pick
                family = FAMILIES.get(meaning)
                if family:
                    best = plan.formats.get(meaning) if pick == current else None
                    if best is None:   # a column the user chose: read its sample values
                        i = plan.headers.index(pick)
                        best, _ = sniff.detect_format([r[i] for r in s.rows if i < len(r)], family)
                    fmts = [best] + [f for f in family if f != best] if best else family
                    formats[meaning] = st.selectbox(f"{labels.meaning(meaning)} format", fmts, format_func=labels.date_format,
                                                    key=f"fmt-{rel}-{meaning}-{pick}")
    scopes = ["only this file", "this matter's files with these headers"]
    if allowed(ui.user().role, "mapping.agency") and ori:
        scopes.append(f"every matter's files from agency {ori} (administrators)")
    remember = st.radio("Remember this mapping for", scopes, key=f"remember-{rel}", horizontal=True,
                        help="A remembered mapping is shown as such wherever it is used; saving one is logged.")
    if st.button("Apply this mapping", key=f"apply-{rel}", type="primary"):
        new = plan.model_copy(update={"columns": chosen, "formats": formats, "source": "edited",
                                      "confidence": {m: 1.0 for m in chosen},
                                      "reasons": {m: "chosen by the user" for m in chosen}})
        plans[rel] = new
        if remember == scopes[1]:
            mappings.remember_for_matter(ui.actor(), st.session_state.matter_pk, new)
        elif remember != scopes[0]:
            mappings.remember_for_agency(ui.actor(), ori, new)
        ev = analyse_with_progress(map_case, map_dir, f"Reading {rel} with the new mapping")
        if ev is not None:
            st.session_state.case, st.session_state.case_dir = map_case, map_dir
            st.session_state.result = None
            st.session_state.pop("pending", None)
            ui.evidence_changed()
            st.rerun()


if pending:
    st.subheader("Column mapping of the upload")
    st.info("The uploaded evidence is not loaded yet: correct the mapping below, upload other files, or discard it. "
            "The evidence loaded before is unchanged and shown further down.")
    for kind, vocab in VOCABS.items():
        for rel in getattr(map_case.evidence, kind):
            with st.expander(f"How {ui.md_escape(rel)} ({KIND_NAMES[kind]}) is read", expanded=True):
                mapping_editor(rel, vocab)
    if st.button("Discard the failed upload"):
        st.session_state.pop("pending", None)
        st.rerun()
elif map_case.evidence.audit_logs:
    st.subheader("Column mapping")
    for kind, vocab in VOCABS.items():
        for rel in getattr(map_case.evidence, kind):
            with st.expander(f"How {ui.md_escape(rel)} ({KIND_NAMES[kind]}) is read"):
                mapping_editor(rel, vocab)

result = ui.result_or_stop("The evidence named in the case file cannot be analysed")
ev_data, ev = result.evidence, ui.evidence_result()
if not ev_data or ev is None:
    st.warning("No audit log is loaded for this case.")
    st.stop()
by_id = {f.id: f for f in result.findings}
metrics = [("Client queries", ev_data.client_queries)]
metrics += [(k.label, by_id[fid].count) for fid, k in FINDINGS.items() if k.headline and fid in by_id]
for col, (label, value) in zip(st.columns(len(metrics)), metrics, strict=True):
    col.metric(label, f"{value:,}")
for w in ev_data.warnings:
    st.warning(ui.md_escape(w))

st.subheader("Timeline and events")
f1, f2, f3 = st.columns([2, 2, 3])
show = f1.selectbox("Events to list", ["subject queries", "all client queries", "marked"]
                    + [f for f in by_id if f != SUBJECT_QUERIES and FINDINGS[f].per_query],
                    format_func=lambda o: finding_label(o) if o in FINDINGS else o, key="ev-show")
who = f2.multiselect("Subjects", events.subjects(ev.events), key="ev-subjects")
days = [e["time"][:10] for e in ev.events if e.get("time")]
lo, hi = (dt.date.fromisoformat(min(days)), dt.date.fromisoformat(max(days))) if days else (None, None)
span = f3.date_input("Dates", (lo, hi), min_value=lo, max_value=hi, key="ev-dates") if lo else ()
start, end = (span if isinstance(span, tuple) and len(span) == 2 else (lo, hi))
marks = ui.marks()
chosen = (events.marked(ev.events, marks) if show == "marked"
          else events.select(ev.events, show=show, subjects_=who, start=start, end=end))
everything = events.select(ev.events, show="all client queries", start=start, end=end)
chart = charts.timeline(everything, ev.shifts)
if chart is not None:
    st.altair_chart(chart, width="stretch")
heat_subjects = st.toggle("Heatmap of subject queries only", key="ev-heat-subjects")
heat = charts.heatmap(everything, only_subjects=heat_subjects)
if heat is not None:
    st.altair_chart(heat, width="stretch")

st.subheader("Events")
st.caption("Mark each event material, disputed or undisputed and add a note; marked events are listed in the memo.")
COLUMNS = ["mark", "note", "time", "subject", "case number", "findings", "terminal", "file", "row", "key"]
shown_keys = [events.key(e) for e in chosen]
# the grid starts from the marks as they were when these rows were first shown: its own edits are
# applied once (never twice, never to a row that moved) and a mark changed elsewhere remakes it
gen, base = autoform.generation("events", {"rows": shown_keys, "marks": {k: marks.get(k) for k in shown_keys}},
                                "grid")
table = pd.DataFrame([{"key": events.key(e), "time": e["time"], "file": e["file"], "row": e["row"],
                       "terminal": e["terminal"], "subject": e["subject"] or "", "case number": e["case_number"] or "",
                       "findings": ", ".join(e["findings"]),
                       "mark": (base["marks"].get(events.key(e)) or {}).get("mark", ""),
                       "note": (base["marks"].get(events.key(e)) or {}).get("note", "")} for e in chosen],
                     columns=COLUMNS)
edited = st.data_editor(
    table, key=autoform.key("events", gen, "grid"), hide_index=True, width="stretch", column_order=COLUMNS[:-1],
    disabled=["key", "time", "file", "row", "terminal", "subject", "case number", "findings"],
    column_config={"mark": st.column_config.SelectboxColumn("mark", options=["", *events.MARKS], width="small"),
                   "note": st.column_config.TextColumn("note", max_chars=500, width="large"),
                   "findings": st.column_config.TextColumn("findings", width="medium")})
rows = [(r["key"], {"mark": r["mark"] or "", "note": (r["note"] or "").strip()}) for _, r in edited.iterrows()]
ui.apply_marks([(k, new if any(new.values()) else None) for k, new in rows], autoform.key("events", gen, "grid"))
autoform.written("events", {"rows": shown_keys, "marks": {k: ui.marks().get(k) for k in shown_keys}})

st.subheader("Findings")
st.dataframe(pd.DataFrame([{"finding": f.id, "count": f.count, "summary": f.summary,
                            "rows": ", ".join(map(str, f.rows[:50])) + (" ..." if len(f.rows) > 50 else "")}
                           for f in result.findings]), hide_index=True, width="stretch")
st.subheader("Files")
st.dataframe(pd.DataFrame([{"file": f.file, "kind": f.kind or "audit log", "rows": f.rows,
                            "encoding": f.encoding, "mapping": f.mapping, "sha256": f.sha256}
                           for f in ev_data.files]), hide_index=True, width="stretch")
