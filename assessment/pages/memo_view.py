import streamlit as st

from assessment import memo, ui
from assessment.errors import AssessmentError

st.title("Memo")
c = ui.case()
firm = st.text_input("Firm name for the letterhead line", "Defense Counsel")
result = ui.result_or_stop("The case cannot be assessed")
try:
    data = memo.render(result, c, firm_name=firm)
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
