import pandas as pd
import streamlit as st

from assessment import evidence, ui
from assessment.errors import AssessmentError

st.title("Evidence")
c = ui.case()

kinds = {"audit_logs": "CLETS transaction log (CSV/XLSX)", "shifts": "Shift schedule (CSV)",
         "incidents": "CAD incidents (CSV)"}
with st.form("evidence_upload", clear_on_submit=True):
    uploads = {k: st.file_uploader(label, type=["csv", "xlsx", "txt"], key=f"up-{k}") for k, label in kinds.items()}
    go = st.form_submit_button("Load evidence")
if go and any(uploads.values()):
    work = ui.working_dir()
    updated = c.evidence.model_copy()
    for kind, up in uploads.items():
        if up is not None:
            (work / up.name).write_bytes(up.getvalue())
            setattr(updated, kind, [up.name])
    candidate = c.model_copy(update={"evidence": updated})
    try:
        evidence.analyse(candidate, work)
    except AssessmentError as exc:
        ui.show_problems(exc, "The evidence was not loaded")
    else:
        st.session_state.case, st.session_state.case_dir = candidate, work
        st.session_state.result = None
        st.success("Evidence loaded and analysed.")

result = ui.result_or_stop("The evidence named in the case file cannot be analysed")
ev = result["evidence"]
if not ev:
    st.warning("No audit log is loaded for this case.")
    st.stop()
cols = st.columns(3)
cols[0].metric("Client queries", ev["client_queries"])
by_id = {f["id"]: f for f in result["findings"]}
cols[1].metric("Subject queries", by_id["subject-queries"]["count"])
if "off-duty-subject-queries" in by_id:
    cols[2].metric("Off duty", by_id["off-duty-subject-queries"]["count"])
for w in ev["warnings"]:
    st.warning(w)
st.subheader("Findings")
st.dataframe(pd.DataFrame([{"finding": f["id"], "count": f["count"], "summary": f["summary"],
                            "rows": ", ".join(map(str, f["rows"][:50])) + (" ..." if len(f["rows"]) > 50 else "")}
                           for f in result["findings"]]), hide_index=True, use_container_width=True)
st.subheader("Files")
st.dataframe(pd.DataFrame([{"file": f["file"], "kind": f.get("kind", "audit log"), "rows": f["rows"],
                            "sha256": f["sha256"]} for f in ev["files"]]), hide_index=True, use_container_width=True)
