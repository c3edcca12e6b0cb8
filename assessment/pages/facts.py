import streamlit as st
from pydantic import ValidationError

from assessment import casefile, ui

st.title("Facts")
c = ui.case()
kb = ui.knowledge()
st.caption("`unknown` is a real answer: the memo turns it into a question for investigation.")

with st.form("facts"):
    narrative = st.text_area("Narrative (report excerpts, interview notes)", c.facts.narrative or "", height=160)
    values = {}
    cols = st.columns(2)
    for i, key in enumerate(casefile.FACT_KEYS):
        options = list(casefile.Facts.model_fields[key].annotation.__args__)
        label = kb.facts[key].label if key in kb.facts else key
        values[key] = cols[i % 2].selectbox(label, options, index=options.index(getattr(c.facts, key)), key=f"fact-{key}",
                                            help=kb.facts[key].question if key in kb.facts else None)
    saved = st.form_submit_button("Save facts")
if saved:
    try:
        new_facts = casefile.Facts.model_validate({"narrative": narrative or None, **values})
        st.session_state.case = c.model_copy(update={"facts": new_facts})
        st.session_state.result = None
        st.success("Facts saved.")
    except ValidationError as exc:
        st.error(f"Facts not saved; nothing was changed: {exc}")

st.subheader("Client and dates")
st.json({"client": c.client.model_dump(mode="json"), "dates": c.dates.model_dump(mode="json"),
         "allegations": [a.model_dump() for a in c.allegations],
         "subjects": [s.model_dump(mode="json") for s in c.subjects]}, expanded=False)
