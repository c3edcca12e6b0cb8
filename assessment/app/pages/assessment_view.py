import pandas as pd
import streamlit as st

from assessment.app import state as ui
from assessment.app.state import md_escape as esc

st.title("Assessment")
result = ui.result_or_stop("The case cannot be assessed")
st.caption(f"As of {result.as_of.isoformat()}. Every conclusion lists its basis: fact:, finding: or kb: entries.")

st.header("Charges and exposure")
for s in result.statutes:
    with st.expander(esc(f"{s.citation}: {s.title} ({s.source}, {s.classification})"), expanded=True):
        st.write(f"**Exposure:** {esc(str(s.max_exposure))}")
        if s.why:
            st.write("**Raised because:** " + esc(" ".join(w.reason for w in s.why)))
        if s.limitation:
            st.write(f"**Limitation:** {esc(s.limitation.period)}: {esc(s.limitation.explanation)} "
                     f"(**{esc(s.limitation.status)}**)")
            if s.limitation.readings:
                st.dataframe(pd.DataFrame([{"if punishable as": f"{r.classification}: {r.tier}", "period": r.period,
                                            "rule": r.authority, "result": r.status,
                                            "latest act until": r.deadline_latest_act or ""}
                                           for r in s.limitation.readings]), hide_index=True, width="stretch")
            if s.limitation.if_charged_later:
                st.info(esc(s.limitation.if_charged_later))
        for m in s.misdescriptions:
            st.warning(esc(f"Common misdescription: {m.claim} {m.correction}"))
        st.dataframe(pd.DataFrame([{"element": e.text, "status": e.status, "basis": ", ".join(e.basis)}
                                   for e in s.elements]), hide_index=True, width="stretch")

st.header("Defenses, ranked")
st.dataframe(pd.DataFrame([{"defense": d.name, "strength": d.strength, "why": d.summary,
                            "basis": ", ".join(d.basis)} for d in result.defenses]),
             hide_index=True, width="stretch")

pobr = result.computed.pobr
st.write(f"**POBR year** (Gov. Code § 3304(d)): **{esc(pobr.status.replace('-', ' '))}**. {esc(pobr.explanation)}")

st.header("Open questions")
for q in result.open_questions:
    st.write(f"- {esc(q)}")

st.header("Unverified items")
if result.unverified:
    st.error("\n".join(f"- **{esc(u.kind)} {esc(u.id)}**: {esc(u.what)}" for u in result.unverified))
else:
    st.success("Everything this assessment relies on is marked verified.")
