"""clets-defense: navigation only. The pages live in assessment/pages/."""
import streamlit as st

from assessment import ui

st.set_page_config(page_title="clets-defense", layout="wide")
ui.ensure_case()
st.navigation([
    st.Page("assessment/pages/cases.py", title="Cases", default=True),
    st.Page("assessment/pages/facts.py", title="Facts"),
    st.Page("assessment/pages/evidence.py", title="Evidence"),
    st.Page("assessment/pages/assessment_view.py", title="Assessment"),
    st.Page("assessment/pages/review_view.py", title="Review"),
    st.Page("assessment/pages/memo_view.py", title="Memo"),
    st.Page("assessment/pages/knowledge_view.py", title="Knowledge base"),
    st.Page("assessment/pages/templates_view.py", title="Memo templates"),
]).run()
