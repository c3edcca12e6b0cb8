import streamlit as st

from assessment import charts, events, memo, ui
from assessment.errors import AssessmentError

st.title("Memo")
c = ui.case()
firm = st.text_input("Firm name for the letterhead line", "Defense Counsel")
result = ui.result_or_stop("The case cannot be assessed")
ev = ui.evidence_result()
marked = events.marked(ev.events if ev else [], ui.marks())
with_charts = st.toggle("Include the timeline and heatmap", value=True)
figures = {}
if with_charts and ev is not None:
    if st.session_state.get("memo_charts_key") != st.session_state.get("evidence_key"):
        with st.spinner("Drawing the charts"):
            st.session_state.memo_charts = charts.memo_charts(ev)
            st.session_state.memo_charts_key = st.session_state.get("evidence_key")
    figures = st.session_state.memo_charts
try:
    data = memo.render(result, c, firm_name=firm, marks=marked, charts=figures)
except AssessmentError as exc:
    ui.show_problems(exc, "The memo cannot be generated")
    st.stop()
st.download_button("Download memo (.docx)", data, file_name=f"{c.matter.id}-assessment-memo.docx",
                   mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
ctx = memo.context(result, c, firm)
st.subheader("Preview")
st.markdown("**PRIVILEGED & CONFIDENTIAL - ATTORNEY WORK PRODUCT - DRAFT**")
for line in ctx["summary"]:
    st.write(line)
st.write("**Defenses:** " + "; ".join(f"{d['name']} ({d['strength']})" for d in ctx["defenses"]))
st.write(f"**Unverified items listed in the memo's box:** {len(ctx['unverified'])}")
st.write(f"**Events you marked on the Evidence page:** {len(marked)}")
for title, png in figures.items():
    st.image(png, caption=title)
