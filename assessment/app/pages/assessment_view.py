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

st.header("What to investigate first")
ranked = [p for p in result.investigation_priorities if p.changes]
st.caption("Each open question (an unknown fact, a missing date a rule needs) was answered every possible way and "
           "the case assessed again: ranked by what the answer would change, a defense that would decide the case "
           "first, then new or barred counts, then other defenses, collateral consequences and elements.")
for p in ranked[:5]:
    st.markdown(f"{p.rank}. **{esc(p.question)}**  \n{esc(p.impact)}"
                + (f"  \n:gray[Investigate: {esc(p.investigation)}]" if p.investigation else "")
                + (f"  \n:gray[Request: {esc(p.discovery_request)}]" if p.discovery_request else ""))
if not ranked:
    st.write("No open question: no unknown fact or missing date would change a conclusion of this assessment."
             if not result.investigation_priorities else
             f"None of the {len(result.investigation_priorities)} open questions would change a conclusion.")
if result.investigation_priorities:
    with st.expander(f"All {len(result.investigation_priorities)} open questions, every answer tried"):
        st.table(pd.DataFrame([{"#": p.rank, "question": p.question,
                                "answers tried": "; ".join(
                                    f"{a.label}: {len(a.changes)} change{'' if len(a.changes) == 1 else 's'}"
                                    for a in p.answers),
                                "what changes": p.impact, "investigate": p.investigation,
                                "discovery request": p.discovery_request} for p in result.investigation_priorities]
                              ).set_index("#"))

st.header("What each outcome costs")
if result.dispositions:
    st.caption("For this client's role, each way the case can end and what it costs, in a few words (\u2020: a rule "
               "not verified in its source; open an outcome below for each cell in full with its rule).")
    headings = [c.heading for c in result.dispositions[0].cells]
    st.table(pd.DataFrame([{"outcome": d.label + ("" if d.available else " (not open)"),
                            **{c.heading: ((c.short or c.status.replace("-", " ")) + ("" if c.verified else " \u2020")
                                           if d.available else (d.availability if c.column == "criminal" else ""))
                               for c in d.cells}} for d in result.dispositions]).set_index("outcome")[headings])
    for d in result.dispositions:
        with st.expander(f"{d.label}: each cell in full"):
            if not d.available:
                st.write(esc(d.availability))
            for c in d.cells:
                st.markdown(f"**{esc(c.heading)}** ({c.status.replace('-', ' ')}): {esc(c.text)}  \n"
                            f":gray[{esc(c.rule)}{'' if c.verified else ' (UNVERIFIED)'} \u00b7 {esc(words(c.basis))}]")

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
