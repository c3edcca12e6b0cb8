import pandas as pd
import streamlit as st
from pydantic import ValidationError

from assessment.app import state as ui
from assessment.core import review as reviewmod
from assessment.firm.permissions import allowed

st.title("Review")
st.caption("Every conclusion the memo will state, with the engine's answer and its basis. Where your judgment "
           "differs, choose your answer and give the reason: the memo prints it as the attorney's judgment, with the "
           "engine's answer beside it. Nothing here changes the case file or the engine.")
result = ui.result_or_stop("The case cannot be assessed")
rv = ui.review()
may_edit = allowed(ui.user().role, "review.write")
if not may_edit:
    st.info("The attorney's judgments are shown read-only: your role may not change them.")
rows = result.conclusions()
stale = reviewmod.check(rows, rv)
if stale:
    st.warning("Some of your judgments no longer fit the assessment (the facts or charges changed since you made "
               "them); the memo cannot be generated until they are dropped:\n"
               + "\n".join(f"- {ui.md_escape(p.message)}" for p in stale))
    if st.button("Drop the judgments that no longer fit", disabled=not may_edit):
        keep = {(r.kind, r.target) for r in rows}
        st.session_state.review = rv = rv.model_copy(
            update={"overrides": [o for o in rv.overrides if (o.kind, o.target) in keep]})
        st.rerun()


def table(kind: str) -> pd.DataFrame:
    data = []
    for r in rows:
        if r.kind != kind:
            continue
        o = rv.override_for(kind, r.target)
        data.append({"target": r.target, "conclusion": r.what, "engine": r.engine,
                     "your judgment": o.value if o else "", "reason": o.reason if o else "", "basis": r.basis})
    return pd.DataFrame(data, columns=["target", "conclusion", "engine", "your judgment", "reason", "basis"])


def editor(kind: str, options: tuple[str, ...], key: str) -> pd.DataFrame:
    return st.data_editor(
        table(kind), key=key, hide_index=True, width="stretch",
        disabled=True if not may_edit else ["target", "conclusion", "engine", "basis"],
        column_config={"target": None,
                       "your judgment": st.column_config.SelectboxColumn(options=["", *options], required=False),
                       "reason": st.column_config.TextColumn(max_chars=500)})


st.subheader("Defenses")
defenses = editor("defense", reviewmod.STRENGTHS, "review_defenses")
st.subheader("Elements")
elements = editor("element", reviewmod.ELEMENT_STATUSES, "review_elements")
st.subheader("Also stated")
st.caption("These follow from the knowledge base, the facts and the evidence; to change them, change those.")
st.dataframe(pd.DataFrame(
    [{"conclusion": f"{s.citation}: classification", "memo states": s.classification or "not stated",
      "basis": f"kb:{s.statute_id}"} for s in result.statutes]
    + [{"conclusion": f"{s.citation}: exposure", "memo states": s.max_exposure or "not stated",
        "basis": f"kb:{s.statute_id}"} for s in result.statutes]
    + [{"conclusion": f"{s.citation}: limitation", "memo states": s.limitation.status,
        "basis": s.limitation.authority} for s in result.statutes if s.limitation]
    + [{"conclusion": f"finding {f.id}", "memo states": f"{f.count}: {f.summary}", "basis": f"finding:{f.id}"}
       for f in result.findings]),
    hide_index=True, width="stretch")
st.subheader("Notes and sections")
notes = st.text_area("Notes for the memo (printed under 'Attorney's notes')", rv.notes, max_chars=5000,
                     disabled=not may_edit)
sections = st.multiselect("Sections to include", list(reviewmod.SECTIONS), default=rv.sections,
                          format_func=lambda s: reviewmod.SECTIONS[s],
                          help="The caption, question presented, brief answer and the box of unverified items are "
                               "always included.", disabled=not may_edit)

if st.button("Save review", type="primary", disabled=not may_edit):
    rows = [{"kind": kind, **row} for kind, frame in (("defense", defenses), ("element", elements))
            for row in frame.to_dict("records")]
    try:
        new, missing = reviewmod.from_rows(rows, notes, sections)
    except ValidationError as exc:
        new, missing = None, [str(exc)]
    if new is None:
        st.error("Not saved; nothing was changed. Give a reason for each judgment that differs from the engine's:\n"
                 + "\n".join(f"- {ui.md_escape(m)}" for m in missing))
    else:
        st.session_state.review = new
        st.success(f"Review saved: {len(new.overrides)} judgment(s) of your own, {len(new.sections)} sections.")
