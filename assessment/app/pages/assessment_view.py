import pandas as pd
import streamlit as st

from assessment.app import state as ui
from assessment.app.state import md_escape as esc
from assessment.core.errors import AssessmentError
from assessment.memo import brief
from assessment.memo.words import Words

st.title("Assessment")
result = ui.result_or_stop("The case cannot be assessed")
st.caption(f"As of {result.as_of.isoformat()}. Every conclusion lists its basis: the facts, audit rows and "
           "knowledge-base entries it rests on.")
words = Words(result, ui.case())

try:                                                  # the same brief answer as the memo: the attorney's review applied
    answer = brief.brief(result.reviewed(ui.review()), ui.case())
except AssessmentError:                               # a judgment that no longer fits is shown on the Review page
    answer = brief.brief(result, ui.case())
st.header("Brief answer")
st.write(esc(answer.answer))
for pt in answer.points:
    st.markdown(f"- **{esc(pt.label)}:** {esc(pt.text)}" + (f"  \n  :gray[{esc(pt.source)}]" if pt.source else ""))
if answer.questions:
    st.markdown("**Open questions that matter most**\n" + "\n".join(f"{i}. {esc(q)}" for i, q in enumerate(answer.questions, 1)))

st.header("Charges and exposure")
for s in result.statutes:
    with st.expander(esc(f"{s.citation}: {s.title} ({s.source}, {s.classification})"), expanded=True):
        st.write(f"**Exposure:** {esc(str(s.max_exposure))}")
        if s.why:
            st.write("**Raised because:** " + esc(" ".join(w.reason for w in s.why)))
        if s.limitation:
            st.write(f"**Limitation:** {esc(brief.limitation_line(s))}. {esc(s.limitation.explanation)}")
            if s.limitation.readings:
                st.dataframe(pd.DataFrame([{"if punishable as": f"{r.classification}: {r.tier}", "period": r.period,
                                            "rule": r.authority, "result": r.status,
                                            "latest act until": r.deadline_latest_act or ""}
                                           for r in s.limitation.readings]), hide_index=True, width="stretch")
            if s.limitation.if_charged_later:
                st.info(esc(s.limitation.if_charged_later))
        for m in s.misdescriptions:
            st.warning(esc(f"Common misdescription: {m.claim} {m.correction}"))
        st.dataframe(pd.DataFrame([{"element": e.text, "status": e.status, "basis": words(e.basis)}
                                   for e in s.elements]), hide_index=True, width="stretch")

st.header("Defenses, ranked")
st.dataframe(pd.DataFrame([{"defense": d.name, "strength": d.strength, "why": d.summary,
                            "basis": words(d.basis)} for d in result.defenses]),
             hide_index=True, width="stretch")

pobr = result.computed.pobr
st.write(f"**POBR year** (Gov. Code § 3304(d)): **{esc(pobr.status.replace('-', ' '))}**. {esc(pobr.explanation)}")

st.header("Open questions")
for q in dict.fromkeys(answer.questions + result.open_questions):     # the brief answer's first; no notes
    if "Analysis:" not in q:
        st.write(f"- {esc(q)}")

st.header("Unverified items")
if result.unverified:
    st.error("\n".join(f"- **{esc(u.kind.capitalize())}**: {esc(u.what)} ({esc(u.source)})" for u in result.unverified))
else:
    st.success("Everything this assessment relies on is marked verified.")
