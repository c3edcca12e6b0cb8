"""clets-defense: sign-in and navigation only. The pages live in assessment/app/pages/; each one
checks the user's role again on the server (ui.require), and matters.py checks every read and
write of a matter against the role and the matter's access list."""
import streamlit as st

from assessment.app import gate
from assessment.app import state as ui
from assessment.firm.permissions import allowed

st.set_page_config(page_title="clets-defense", layout="wide")
user = gate.signed_in()
ui.autosave()          # a change made by the previous run (one that ended in st.rerun); a conflict shows below
ui.ensure_case()

PAGES = [  # (file, title, the action a role needs to see it)
    ("cases", "Matters", "matter.read"),
    ("case_view", "Case", "matter.read"),
    ("facts", "Facts", "matter.read"),
    ("evidence", "Evidence", "matter.read"),
    ("assessment_view", "Assessment", "matter.read"),
    ("chronology_view", "Chronology", "matter.read"),
    ("review_view", "Review", "matter.read"),
    ("memo_view", "Memo", "matter.read"),
    ("knowledge_view", "Knowledge base", None),      # everyone reads; staff and admins edit
    ("templates_view", "Memo templates", "template.edit"),
    ("users_view", "Users", "users.manage"),
    ("log_view", "Access log", "log.read"),
    ("account", "Account", None),
]
SECTIONS = {"Matter": ("cases", "case_view", "facts", "evidence", "assessment_view", "chronology_view", "review_view",
                        "memo_view"),
            "Firm": ("knowledge_view", "templates_view", "users_view", "log_view"), "You": ("account",)}
pages = {section: [st.Page(f"assessment/app/pages/{file}.py", title=title) for file, title, action in PAGES
                   if file in files and (action is None or allowed(user.role, action))]
         for section, files in SECTIONS.items()}
nav = st.navigation({k: v for k, v in pages.items() if v}, expanded=True)     # every page in view, none behind "more"
ui.page_viewed(nav.title, next(a for _, t, a in PAGES if t == nav.title) == "matter.read")
with st.sidebar:
    st.caption(f"Signed in: **{ui.md_escape(user.display_name)}** ({user.role})")
    status = st.empty()      # filled after this run's save, below: the status of what the user just did
    st.button("Sign out", on_click=gate.sign_out)
    gate.idle_watch()  # every 20 s, not activity: past the idle limit the sign-in form replaces the page
ui.show_conflict()
conflict = False
try:
    nav.run()
finally:               # also when the page stopped early (st.stop) or asked for a rerun
    conflict = ui.autosave()      # what this run changed; a refused save is shown at the top of the page
    if "case" in st.session_state:
        status.caption(f"Matter: {ui.md_escape(st.session_state.case.matter.id)} · "
                       f"{st.session_state.get('save_status', '')}")
if conflict:
    st.rerun()
