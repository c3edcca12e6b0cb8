import re
from decimal import Decimal

import streamlit as st
from ruamel.yaml import YAML

from assessment.app import state as ui
from assessment.core.errors import AssessmentError
from assessment.firm.context import Actor
from assessment.firm.permissions import allowed
from assessment.law import edit
from assessment.law import kb as kbmod

CODE_ORDER = ("PC", "VC", "GC", "18 USC")         # the Penal Code first, the federal code last


def statute_order(s) -> tuple:
    """Code, then section as a number (PC 92, 484, 502, 11142; VC 1808.45 before 1808.46), then its letter
    (146e, 146g); a section that does not read as a number goes after the numbered ones of its code."""
    code = CODE_ORDER.index(s.code) if s.code in CODE_ORDER else len(CODE_ORDER)
    m = re.fullmatch(r"(\d+)(?:\.(\d+))?([a-z]*)", s.section.strip(), re.IGNORECASE)
    if m is None:
        return code, s.code, 1, Decimal(0), s.section
    return code, s.code, 0, Decimal(f"{m[1]}.{m[2] or 0}"), m[3].lower()


st.title("Knowledge base")
kb = ui.knowledge()
kb_dir = kbmod.default_dir()
unverified = sum(1 for a in kb.authorities.values() if not (a.verified and a.holding_verified))
st.caption(f"{len(kb.statutes)} statutes, {len(kb.defenses)} defenses, {len(kb.authorities)} authorities "
           f"({unverified} with an unverified citation or holding). Entries are YAML files in {kb_dir}.")
browse, editing, hist = st.tabs(["Browse", "Edit", "History"])

with browse:
    query = st.text_input("Search", key="kb_search", placeholder="citation, title, defense or case name").strip().lower()

    def match(*texts):
        return not query or any(query in (t or "").lower() for t in texts)
    for s in sorted(kb.statutes.values(), key=statute_order):
        if match(s.citation, s.title, s.id, *(sub.summary for sub in s.subdivisions)):
            with st.expander(f"{s.citation}: {s.title}" + ("" if s.verified else " (UNVERIFIED)")):
                st.write(f"**Heading:** {s.official_heading}" + ("" if s.heading_verified else " (unverified)"))
                st.write(f"**Source:** {s.source}; " + (f"verified {s.verified_on}" if s.verified else "not verified"))
                for sub in s.subdivisions:
                    st.write(f"- **{sub.id}** {sub.summary}")
                for m in s.misdescriptions:
                    st.warning(f"{m.claim} {m.correction}")
    for d in kb.defenses.values():
        if match(d.id, d.name, d.covers):
            with st.expander(f"Defense: {d.name}"):
                st.write(d.covers)
                st.write("**Strengthened by:** " + "; ".join(f.reason for f in d.strengthened_by))
                st.write("**Weakened by:** " + "; ".join(f.reason for f in d.weakened_by))
    for a in kb.authorities.values():
        if match(a.cite, a.name, a.holding):
            status = "verified" if a.verified and a.holding_verified else "UNVERIFIED"
            st.write(f"- **{a.cite}** ({a.helps}; {status}): {a.holding}")

may_edit = allowed(ui.user().role, "kb.edit")
author = f"{ui.user().display_name} ({ui.user().username})"
who = Actor(ui.user(), ui.source(), st.session_state.get("page_title", ""))   # saves are logged as this
with editing:
    if not may_edit:
        st.info("Your role may read the knowledge base; staff and administrators edit it.")
    else:
        st.caption("Staff edit one file at a time. A save is refused, and nothing changes, unless the whole knowledge "
                   "base with your edit passes `clets-assess validate-kb` (every scenario, and the narrative-mining "
                   "patterns). Every save is kept with its author and reason, and written to the access log.")
        rel = st.selectbox("File", edit.files(kb_dir), key="kb_file")
        saved_text, saved_sha = edit.read(kb_dir, rel)
        if st.session_state.get("kb_open") != rel:
            st.session_state.kb_open, st.session_state.kb_base_sha = rel, saved_sha
            st.session_state.kb_text = saved_text
        top = YAML(typ="safe").load(saved_text) if rel.startswith(("statutes/", "defenses/")) else None
        if isinstance(top, dict) and "verified" in top:
            with st.form("kb_fields"):
                st.write(f"Provenance of **{top.get('id', rel)}** (applied to the YAML below, comments and order kept)")
                f_source = st.text_input("Source", str(top.get("source", "")))
                f_verified = st.checkbox("Verified", bool(top.get("verified")))
                f_on = st.date_input("Verified on", top.get("verified_on") or None)
                if st.form_submit_button("Apply to the YAML"):
                    updates = {("source",): f_source, ("verified",): f_verified}
                    if f_on:
                        updates[("verified_on",)] = f_on
                    st.session_state.kb_text = edit.set_fields(st.session_state.kb_text, updates)
                    st.rerun()
        text = st.text_area("YAML", key="kb_text", height=420)
        change = edit.diff(saved_text, text, rel)
        if change:  # the saved knowledge base is already valid: only an edit needs checking
            problems, count = edit.check(kb_dir, rel, text)
            if problems:
                st.error("This edit would break the knowledge base:\n\n" + "\n".join(f"- `{p}`" for p in problems))
            else:
                st.success(f"Valid: the knowledge base loads and {count} scenarios pass.")
            st.code(change, language="diff")
        else:
            st.caption("No changes against the saved version.")
        reason = st.text_input("Reason for the change", key="kb_reason")
        if st.button("Save", disabled=not change):
            ui.require("kb.edit")
            try:
                record = edit.save(who, kb_dir, rel, text, author=author, reason=reason,
                                      base_sha=st.session_state.kb_base_sha)
            except edit.Conflict as exc:
                st.error(ui.md_escape(str(exc)))
                st.code(edit.diff(exc.theirs, text, rel), language="diff")
            except AssessmentError as exc:
                ui.show_problems(exc, "Not saved")
            else:
                st.session_state.kb_base_sha = record.after_sha
                ui.reload_knowledge()
                st.success(f"Saved {rel} at {record.time} by {ui.md_escape(record.author)}.")


with hist:
    rel_h = (st.session_state.get("kb_file") if may_edit
             else st.selectbox("File", edit.files(kb_dir), key="kb_history_file"))
    records = edit.history(kb_dir, rel_h)
    if not records:
        st.caption(f"No saved edits of {rel_h} yet.")
    for i, r in enumerate(records):
        with st.expander(ui.md_escape(f"{r.time}: {r.author}: {r.reason}")):
            st.code(edit.diff(edit.version_text(kb_dir, r.before), edit.version_text(kb_dir, r.after), r.file),
                    language="diff")
            why = st.text_input("Reason", key=f"rev_reason_{i}", disabled=not may_edit)
            if st.button("Revert this change", key=f"revert_{i}", disabled=not may_edit):
                ui.require("kb.edit")
                current, current_sha = edit.read(kb_dir, r.file)
                try:
                    edit.revert(who, kb_dir, r.file, r, author=author, reason=why, base_sha=current_sha)
                except AssessmentError as exc:
                    ui.show_problems(exc, "Not reverted")
                else:
                    ui.reload_knowledge()
                    st.session_state.pop("kb_open", None)
                    st.success("Reverted.")
