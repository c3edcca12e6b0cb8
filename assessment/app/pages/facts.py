import pandas as pd
import streamlit as st
from pydantic import ValidationError

from assessment.app import state as ui
from assessment.core import casefile
from assessment.core.errors import AssessmentError
from assessment.narrative import pipeline as narrative

st.title("Facts")
c = ui.case()
kb = ui.knowledge()
st.caption("`unknown` is a real answer: the memo turns it into a question for investigation.")
basis: dict = st.session_state.setdefault("narrative_basis", {})
rejected: set = st.session_state.setdefault("rejected_suggestions", set())


def label(key: str) -> str:
    return kb.facts[key].label if key in kb.facts else key.replace("_", " ")


with st.form("facts"):
    text = st.text_area("Narrative (report excerpts, interview notes)", c.facts.narrative or "", height=160)
    values = {}
    cols = st.columns(2)
    for i, key in enumerate(casefile.FACT_KEYS):
        options = list(casefile.Facts.model_fields[key].annotation.__args__)
        st.session_state.setdefault(f"fact-{key}", getattr(c.facts, key))
        values[key] = cols[i % 2].selectbox(label(key), options, key=f"fact-{key}",
                                            help=kb.facts[key].question if key in kb.facts else None)
    saved = st.form_submit_button("Save facts")
if saved:
    try:
        new_facts = casefile.Facts.model_validate({"narrative": text or None, **values})
        if new_facts.narrative != c.facts.narrative:       # sentence numbers no longer hold
            basis.clear()
            rejected.clear()
        st.session_state.case = c = c.model_copy(update={"facts": new_facts})
        st.session_state.result = None
        st.success("Facts saved.")
    except ValidationError as exc:
        st.error(f"Facts not saved; nothing was changed: {ui.md_escape(str(exc))}")

st.subheader("From the narrative")
if not c.facts.narrative:
    st.info("Enter a narrative above and save: statutes, dates, people and facts found in it will be listed here.")
    st.stop()
people = [c.client.name] + [s.name for s in c.subjects]
try:
    got = narrative.extract(c.facts.narrative, kb, people)
except AssessmentError as exc:
    st.error(ui.md_escape(str(exc)))
    st.stop()
sentences = got["sentences"]
st.markdown(ui.highlight(c.facts.narrative, got["entities"]))
if got["entities"]:
    with st.expander(f"{len(got['entities'])} entities found"):
        st.dataframe(pd.DataFrame([{"label": e["label"], "text": e["text"], "normalized": e["normalized"],
                                    "knowledge base": e.get("kb") or e.get("problem") or "",
                                    "relationship": e.get("relationship") or ""} for e in got["entities"]]),
                     hide_index=True, width="stretch")

st.markdown("**Suggested facts.** Each comes from one sentence; nothing changes until you accept it. "
            "An accepted fact cites its sentence in the assessment and the memo. The most confident come first; "
            "each says why it was suggested and how sure it is.")
pending = [f for f in got["facts"] if (f["key"], f["value"], f["sentence"]) not in rejected
           and not (basis.get(f["key"], {}).get("sentence") == f["sentence"]
                    and getattr(c.facts, f["key"]) == f["value"])]
low = [f for f in pending if f["confidence"] == "low"]
if low and not st.toggle(f"Show {len(low)} low-confidence suggestion{'s' if len(low) != 1 else ''} "
                         "(an allegation, a fact the narrative states both ways, or one the trained model does not read "
                         "in its sentence)", key="show-low-suggestions"):
    pending = [f for f in pending if f["confidence"] != "low"]
if not pending:
    st.caption("No suggestions left." if not low else "No confident suggestions left.")


def accept(f: dict, sentence: str) -> None:
    """Runs before the page's widgets, so the fact's selector shows the accepted value."""
    case = st.session_state.case
    st.session_state.case = case.model_copy(update={"facts": case.facts.model_copy(update={f["key"]: f["value"]})})
    st.session_state[f"fact-{f['key']}"] = f["value"]
    basis[f["key"]] = {"sentence": f["sentence"], "text": sentence, "value": f["value"]}
    st.session_state.result = None


def reject(f: dict) -> None:
    rejected.add((f["key"], f["value"], f["sentence"]))


for f in pending:
    current = getattr(c.facts, f["key"])
    box = st.container(border=True)
    box.markdown(f"**{ui.md_escape(label(f['key']))}: {ui.md_escape(str(f['value']))}** (now: {ui.md_escape(str(current))})")
    box.caption(f"{f['confidence'].capitalize()} confidence · sentence {f['sentence']} · {ui.md_escape(f['reason'])}")
    box.text(sentences[f["sentence"]])
    a, r, _ = box.columns([1, 1, 4])
    a.button("Accept", key=f"accept-{f['key']}-{f['value']}-{f['sentence']}", on_click=accept,
             args=(f, sentences[f["sentence"]]))
    r.button("Reject", key=f"reject-{f['key']}-{f['value']}-{f['sentence']}", on_click=reject, args=(f,))

accepted = {k: v for k, v in basis.items() if getattr(c.facts, k) == v["value"]}
if accepted:
    st.markdown("**Accepted from the narrative**")
    st.dataframe(pd.DataFrame([{"fact": label(k), "value": v["value"], "basis": f"narrative:{v['sentence']}",
                                "sentence": v["text"]} for k, v in accepted.items()]), hide_index=True, width="stretch")

st.subheader("Client and dates")
st.json({"client": c.client.model_dump(mode="json"), "dates": c.dates.model_dump(mode="json"),
         "allegations": [a.model_dump() for a in c.allegations],
         "subjects": [s.model_dump(mode="json") for s in c.subjects]}, expanded=False)
