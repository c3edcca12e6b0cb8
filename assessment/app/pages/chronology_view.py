import pandas as pd
import streamlit as st

from assessment.app import state as ui
from assessment.firm import matters
from assessment.law import chronology
from assessment.memo import chronology as mc

st.title("Chronology")
c = ui.case()
result = ui.result_or_stop("The case cannot be assessed")
events = result.chronology
pk = st.session_state.matter_pk
if not events:
    st.info("The case file holds no dates yet: add them on the Facts page.")
    st.stop()

ahead = [e for e in chronology.due(events) if not e.passed]
st.caption(f"{len(events)} dated entries as of {result.as_of.isoformat()}: the case file's dates, the subject "
           f"queries in the audit log and every deadline the assessment computes ({len(ahead)} still ahead)."
           + (" A tolled deadline is drawn in green; the untolled date is listed beside it for comparison."
              if any(e.tolled for e in events) else ""))
chart = mc.chart(events, result.as_of)
if chart is not None:
    lanes = len({e.kind for e in events})
    st.altair_chart(chart, width="stretch", height=48 * lanes + 110)      # the lanes' labels need the room

st.subheader("Entries")
st.caption("Tick the entries that matter and add a note; the marks are kept with the matter.")
marks = ui.marks()
mine = mc.read_marks(marks)
table = pd.DataFrame([{"key": mc.key(e), "mark": bool(mine.get(mc.key(e), {}).get("marked")),
                       "note": mine.get(mc.key(e), {}).get("note", ""), "date": e.date, "kind": mc.LANES[e.kind],
                       "what": e.what, "file": e.file or "", "rows": ", ".join(map(str, e.rows or [])),
                       "rule": e.rule or "",
                       "tolled": "" if e.tolled is None else ("yes" if e.tolled else "no"),
                       "passed": "" if e.passed is None else ("yes" if e.passed else "no")} for e in events],
                     columns=["key", "mark", "note", "date", "kind", "what", "file", "rows", "rule", "tolled", "passed"])
edited = st.data_editor(
    table, key="chronology_editor", hide_index=True, width="stretch",
    disabled=["key", "date", "kind", "what", "file", "rows", "rule", "tolled", "passed"],
    column_config={"key": None, "mark": st.column_config.CheckboxColumn("mark", width="small"),
                   "note": st.column_config.TextColumn("note", max_chars=500, width="large"),
                   "what": st.column_config.TextColumn("what", width="large")})
ui.apply_marks([(r["key"], mc.stored_mark(bool(r["mark"]), r["note"] if isinstance(r["note"], str) else ""))
                for _, r in edited.iterrows()], "chronology_editor")

current = mc.read_marks(marks)
marked = sum(1 for e in events if current.get(mc.key(e), {}).get("marked"))   # entries shown, not stale keys
ref = c.matter.id
safe_ref = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in ref)        # a file name, not a path
csv_all = mc.csv_bytes(events, current)
csv_marked = mc.csv_bytes(events, current, only_marked=True)
calendar = mc.ics(chronology.due(events), c.matter)          # not a suggested statute's dates, nor superseded ones


def logged(data: bytes, what: str):
    """The file, made on the click after the role and wall checks, with its export logged."""
    def make(ctx) -> bytes:
        matters.member_matter(ctx, pk, "matter.read")
        ctx.log("export", pk, reason=what)
        return data
    return make


a, b, d = st.columns(3)
ui.download("Download chronology (CSV)", logged(csv_all, "chronology (CSV, all entries)"),
            f"{safe_ref}-chronology.csv", "text/csv", a, matter_pk=pk, on_click="ignore",
            help="Every entry, with the mark and note columns; formula-like cells are quoted.")
ui.download(f"Download marked entries (CSV, {marked})", logged(csv_marked, "chronology (CSV, marked entries)"),
            f"{safe_ref}-chronology-marked.csv", "text/csv", b, matter_pk=pk, disabled=not marked,
            on_click="ignore")
ui.download(f"Download deadlines (.ics, {len(ahead)})", logged(calendar, "chronology deadlines (iCalendar)"),
            f"{safe_ref}-deadlines.ics", "text/calendar", d, matter_pk=pk, disabled=not ahead, on_click="ignore",
            help="The deadlines still ahead, as all-day events for the firm's calendar, titled with the matter's "
                 "id (not the client's name).")
