import streamlit as st

from assessment.app import state as ui
from assessment.core.errors import AssessmentError
from assessment.firm.permissions import Forbidden
from assessment.memo import render as memo
from assessment.memo import templates as ts

st.title("Memo templates")
ui.require("template.edit")
author = f"{ui.user().display_name} ({ui.user().username})"
st.caption("The memo is rendered from a Word template (docxtpl tags in a sandbox). Staff replace the letterhead and "
           "styles by uploading the firm's own .docx that keeps the tags. An upload is checked before it is used: no "
           "macros, embedded objects or outside links; every tag parses and names a field the memo provides; a test "
           "memo renders on the demo case. Every version is kept; any can be made active again.")
if notice := st.session_state.pop("tpl_notice", None):          # the upload the last run saved
    st.success(notice)
version, active_sha, versions = ts.listing(ui.actor())
if "tpl_base_sha" not in st.session_state:
    st.session_state.tpl_base_sha = active_sha
st.write("**Active template:** " + ("the built-in template" if version is None else
                                    f"{ui.md_escape(version.name)}, saved {version.time} by "
                                    f"{ui.md_escape(version.author)} ({ui.md_escape(version.reason)})"))
ui.download("Download the active template", ts.export_active, "memo-template.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document")

st.subheader("Upload a new version")
with st.form("tpl_upload", clear_on_submit=False):
    up = st.file_uploader("Template (.docx)", type=["docx"])
    reason = st.text_input("Reason for the change", max_chars=500)
    send = st.form_submit_button("Check and save")
if send:
    if up is None:
        st.error("Choose a .docx file first.")
    else:
        try:
            v = ts.upload(ui.actor(), up.getvalue(), up.name, author=author, reason=reason,
                          base_sha=st.session_state.tpl_base_sha, check=memo.check_template)
            st.session_state.tpl_base_sha = v.sha
            st.session_state.tpl_notice = f"Saved and active: {ui.md_escape(v.name)} ({v.time})."
            st.rerun()             # the active template and the history above are drawn again with it
        except AssessmentError as exc:
            ui.show_problems(exc, f"The template {up.name} was refused; the active template is unchanged")
        except (ts.Conflict, Forbidden) as exc:
            st.error(ui.md_escape(str(exc)))

st.subheader("History")
st.caption("Making an earlier version active is logged like an upload.")


def revert(version) -> None:
    """Make `version` (None: the built-in template) active again, as a new, logged version."""
    try:
        v = ts.restore(ui.actor(), version, author=author, reason="restored from the history",
                       base_sha=st.session_state.tpl_base_sha, check=memo.check_template)
    except (AssessmentError, ts.Conflict, Forbidden) as exc:
        st.error(ui.md_escape(str(exc)))
        return
    st.session_state.tpl_base_sha = v.sha
    st.rerun()


if not versions:
    st.caption("No uploads yet: memos use the built-in template.")
for i, v in enumerate(versions):
    a, b = st.columns([4, 1])
    a.write(f"{v.time}: **{ui.md_escape(v.name)}** by {ui.md_escape(v.author)}: {ui.md_escape(v.reason)} "
            f"(SHA-256 {v.sha[:12]}){' (active)' if i == 0 else ''}")
    if i and b.button("Make active", key=f"tpl_revert_{v.id}"):
        revert(v)
if versions and st.button("Go back to the built-in template"):
    revert(None)
