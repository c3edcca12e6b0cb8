import streamlit as st

from assessment.app import state as ui
from assessment.firm import db
from assessment.memo import templates as ts
from assessment.core.errors import AssessmentError
from assessment.firm.permissions import Forbidden

st.title("Memo templates")
ui.require("template.edit")
author = f"{ui.user().display_name} ({ui.user().username})"
st.caption("The memo is rendered from a Word template (docxtpl tags in a sandbox). Staff replace the letterhead and "
           "styles by uploading the firm's own .docx that keeps the tags. An upload is checked before it is used: no "
           "macros, embedded objects or outside links; every tag parses and names a field the memo provides; a test "
           "memo renders on the demo case. Every version is kept; any can be made active again.")
with db.session() as s:
    data, version = ts.active(s)
    versions = ts.history(s)
if "tpl_base_sha" not in st.session_state:
    st.session_state.tpl_base_sha = ts.sha(data)
st.write("**Active template:** " + ("the built-in template" if version is None else
                                    f"{ui.md_escape(version.name)}, saved {version.time} by "
                                    f"{ui.md_escape(version.author)} ({ui.md_escape(version.reason)})"))


def active_template(ctx) -> bytes:
    data_now, v = ts.active(ctx.s)
    ctx.log("export", None, object_type="template", object_id=str(v.id) if v else "built-in", reason="memo template")
    return data_now


ui.download("Download the active template", active_template, "memo-template.docx",
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
            with db.session() as s:
                c = ui.ctx(s)
                v = ts.save(s, c.user, up.getvalue(), up.name, author=author, reason=reason,
                            base_sha=st.session_state.tpl_base_sha, source=c.source, place=c.place)
            st.session_state.tpl_base_sha = v.sha
            st.success(f"Saved and active: {ui.md_escape(v.name)} ({v.time}).")
        except AssessmentError as exc:
            ui.show_problems(exc, f"The template {up.name} was refused; the active template is unchanged")
        except (ts.Conflict, Forbidden) as exc:
            st.error(ui.md_escape(str(exc)))

st.subheader("History")
st.caption("Making an earlier version active is logged like an upload.")


def revert(version) -> None:
    """Make `version` (None: the built-in template) active again, as a new, logged version."""
    try:
        with db.session() as s:
            c = ui.ctx(s)
            v = ts.revert(s, c.user, version, author=author, reason="restored from the history",
                          base_sha=st.session_state.tpl_base_sha, source=c.source, place=c.place)
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
