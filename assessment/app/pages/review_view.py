import pandas as pd
import streamlit as st
from pydantic import ValidationError

from assessment.app import autoform
from assessment.app import state as ui
from assessment.core import review as reviewmod
from assessment.firm.permissions import allowed
from assessment.memo.words import Words

st.title("Review")
st.caption("Every conclusion the memo will state, with the engine's answer and its basis. Where your judgment "
           "differs, choose your answer and give the reason: the memo prints it as the attorney's judgment, with the "
           "engine's answer beside it. Nothing here changes the case file or the engine.")
result = ui.result_or_stop("The case cannot be assessed")
rv = ui.review()
words = Words(result, ui.case())
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


# The grids save as the user works: a judgment with its reason is kept at once; one without a reason
# yet is held in the grid and named below until the reason is given.
current = {"review": rv.model_dump(mode="json"), "rows": [[r.kind, r.target, r.engine] for r in rows]}
gen, base = autoform.generation("review", current, "defenses")
base_rv = reviewmod.Review.model_validate(base["review"])
COLUMNS = ["your judgment", "reason", "conclusion", "engine", "basis", "target"]


def table(kind: str) -> pd.DataFrame:
    data = []
    for r in rows:
        if r.kind != kind:
            continue
        o = base_rv.override_for(kind, r.target)
        data.append({"target": r.target, "conclusion": r.what, "engine": r.engine,
                     "your judgment": o.value if o else "", "reason": o.reason if o else "", "basis": words(r.basis)})
    return pd.DataFrame(data, columns=COLUMNS)


def editor(kind: str, options: tuple[str, ...], name: str) -> pd.DataFrame:
    """The columns the attorney fills come first and wide; what the engine says follows."""
    return st.data_editor(
        table(kind), key=autoform.key("review", gen, name), hide_index=True, width="stretch",
        disabled=True if not may_edit else ["target", "conclusion", "engine", "basis"], column_order=COLUMNS[:-1],
        column_config={"your judgment": st.column_config.SelectboxColumn(
                           "your judgment", options=["", *options], required=False, width="medium",
                           format_func=lambda v: v or "(the engine's)"),
                       "reason": st.column_config.TextColumn("reason (required for a judgment of your own)",
                                                             max_chars=500, width="large"),
                       "conclusion": st.column_config.TextColumn("conclusion", width="large"),
                       "engine": st.column_config.TextColumn("engine", width="medium"),
                       "basis": st.column_config.TextColumn("basis", width="medium")})


st.subheader("Defenses")
defenses = editor("defense", reviewmod.STRENGTHS, "defenses")
st.subheader("Elements")
elements = editor("element", reviewmod.ELEMENT_STATUSES, "elements")
waiting_box = st.empty()      # a judgment still waiting for its reason is named here, beside the grids
st.subheader("Also stated")
st.caption("These follow from the knowledge base, the facts and the evidence; to change them, change those.")
st.dataframe(pd.DataFrame(
    [{"conclusion": f"{s.citation}: classification", "memo states": s.classification or "not stated",
      "basis": words([f"kb:{s.statute_id}"])} for s in result.statutes]
    + [{"conclusion": f"{s.citation}: exposure", "memo states": s.max_exposure or "not stated",
        "basis": words([f"kb:{s.statute_id}"])} for s in result.statutes]
    + [{"conclusion": f"{s.citation}: limitation", "memo states": s.limitation.status,
        "basis": s.limitation.authority} for s in result.statutes if s.limitation]
    + [{"conclusion": f"finding {f.id}", "memo states": f"{f.count}: {f.summary}", "basis": words([f"finding:{f.id}"])}
       for f in result.findings]),
    hide_index=True, width="stretch")
st.subheader("Notes and sections")
notes = st.text_area("Notes for the memo (printed under 'Attorney's notes')", rv.notes, max_chars=5000,
                     disabled=not may_edit, key=autoform.key("review", gen, "notes"))
sections = st.multiselect("Sections to include", list(reviewmod.SECTIONS), default=rv.sections,
                          format_func=lambda s: reviewmod.SECTIONS[s], key=autoform.key("review", gen, "sections"),
                          help="The caption, question presented, brief answer and the box of unverified items are "
                               "always included.", disabled=not may_edit)

if may_edit:
    table_rows = [{"kind": kind, **row} for kind, frame in (("defense", defenses), ("element", elements))
                  for row in frame.to_dict("records")]
    for row in table_rows:
        row["basis"] = ""
    waiting = [r["conclusion"] for r in table_rows
               if (r.get("your judgment") or "").strip() not in ("", r["engine"]) and not (r.get("reason") or "").strip()]
    ready = [r for r in table_rows if r["conclusion"] not in waiting]
    try:
        new, _ = reviewmod.from_rows(ready, notes, sections)
    except ValidationError as exc:
        new = None
        st.error(f"Not saved; the review keeps its earlier judgments: {ui.md_escape(str(exc))}")
    if waiting:
        waiting_box.warning("Not saved yet: give a reason for each judgment that differs from the engine's (the memo prints "
                   "it beside the engine's answer). Leaving the page now loses these:\n"
                   + "\n".join(f"- {ui.md_escape(m)}" for m in waiting))
    if new is not None:
        # kept as they were: a judgment whose new value waits for its reason, and one whose conclusion is
        # not on screen now (a charge removed for a while; only "Drop the judgments ..." removes those)
        shown = {(r["kind"], r["target"]) for r in table_rows}
        held = {(r["kind"], r["target"]) for r in table_rows if r["conclusion"] in waiting}
        keep_old = [o for o in rv.overrides if (o.kind, o.target) in held or (o.kind, o.target) not in shown]
        new = new.model_copy(update={"overrides": keep_old + [o for o in new.overrides
                                                              if (o.kind, o.target) not in held]})
    if new is not None and new != rv:
        st.session_state.review = new
        autoform.written("review", {"review": new.model_dump(mode="json"),
                                    "rows": [[r.kind, r.target, r.engine] for r in rows]})
    st.caption(f"Saved as you work: {len(st.session_state.review.overrides)} judgment(s) of your own, "
               f"{len(st.session_state.review.sections)} sections (the sidebar shows the last save).")
