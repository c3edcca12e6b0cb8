import streamlit as st

from assessment import ui

st.title("Knowledge base")
kb = ui.knowledge()
st.caption(f"{len(kb.statutes)} statutes, {len(kb.defenses)} defenses, {len(kb.authorities)} authorities. "
           "Read-only here; entries are YAML files in knowledge/.")
tab_s, tab_d, tab_a = st.tabs(["Statutes", "Defenses", "Authorities"])
with tab_s:
    for s in kb.statutes.values():
        with st.expander(f"{s.citation}: {s.title}" + ("" if s.verified else " (UNVERIFIED)")):
            st.write(f"**Heading:** {s.official_heading}")
            st.write(f"**Source:** {s.source}; verified {s.verified_on}")
            for sub in s.subdivisions:
                st.write(f"- **{sub.id}** {sub.summary}")
            for m in s.misdescriptions:
                st.warning(f"{m.claim} {m.correction}")
with tab_d:
    for d in kb.defenses.values():
        with st.expander(d.name):
            st.write(d.covers)
            st.write("**Strengthened by:** " + "; ".join(f.reason for f in d.strengthened_by))
            st.write("**Weakened by:** " + "; ".join(f.reason for f in d.weakened_by))
with tab_a:
    for a in kb.authorities.values():
        status = "verified" if a.verified and a.holding_verified else "UNVERIFIED"
        st.write(f"- **{a.cite}** ({a.helps}; {status}): {a.holding}")
