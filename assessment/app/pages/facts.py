import datetime as dt
import hashlib
import re

import pandas as pd
import streamlit as st
from pydantic import ValidationError

from assessment.app import autoform
from assessment.app import labels as words
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


current = c.facts.model_dump(mode="json")
gen, _ = autoform.generation("facts", current, "narrative")
base = current           # a field shows the case as it is; its key keeps what is being typed
text = st.text_area("Narrative (report excerpts, interview notes)", base["narrative"] or "", height=160,
                    key=autoform.key("facts", gen, "narrative"),
                    help="Kept when you leave the box (or press Ctrl+Enter); statutes, dates, people and facts found "
                         "in it are listed below.")
values = {}
cols = st.columns(2)
for i, key in enumerate(casefile.FACT_KEYS):
    options = list(casefile.Facts.model_fields[key].annotation.__args__)
    values[key] = cols[i % 2].selectbox(label(key), options, index=options.index(base[key]), format_func=words.enum,
                                        key=autoform.key("facts", gen, key),
                                        help=kb.facts[key].question if key in kb.facts else None)
try:
    new_facts = casefile.Facts.model_validate({"narrative": text or None, **values})
except ValidationError as exc:
    st.error(f"Facts not saved; the case keeps its earlier facts: {ui.md_escape(str(exc))}")
else:
    if new_facts != c.facts:
        if new_facts.narrative != c.facts.narrative:       # sentence numbers no longer hold
            basis.clear()
            rejected.clear()
        autoform.keep({"facts": new_facts}, "facts", new_facts.model_dump(mode="json"))
        c = st.session_state.case
st.caption("Saved as you work: the sidebar shows the last save.")

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


def add_allegation(citation: str) -> None:
    case = st.session_state.case
    autoform.keep({"allegations": [*case.allegations, casefile.Allegation(citation=citation, status="alleged")]})
    st.session_state.facts_notice = f"{citation} added as an allegation (status: alleged); change it on the Case page."


def add_subject(name: str, relationship: str) -> None:
    case = st.session_state.case
    autoform.keep({"subjects": [*case.subjects, casefile.Subject(name=name, relationship=relationship)]})
    st.session_state.facts_notice = f"{name} added as a subject; add the plate or licence number on the Case page."


def set_date(field: str, value: str) -> None:
    case = st.session_state.case
    autoform.keep({"dates": case.dates.model_copy(update={field: dt.date.fromisoformat(value)})})
    st.session_state.facts_notice = f"{words.date_label(field)}: {value}."


if notice := st.session_state.pop("facts_notice", None):
    st.success(ui.md_escape(notice))
charged = {a.citation for a in c.allegations}
named = {n.casefold() for n in people} | {w.casefold() for n in people for w in n.split() if len(w) > 2}  # "Quinlan"
usable = [e for e in got["entities"]
          if (e["label"] == "STATUTE" and e.get("kb") and not kb.resolve(e["normalized"]).problem)
          or (e["label"] == "PERSON" and e["normalized"].casefold() not in named)
          or (e["label"] == "DATE" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", e["normalized"] or ""))]
usable = list({(e["label"], e["normalized"]): e for e in usable}.values())      # each once
if usable:
    st.markdown("**Found in the narrative.** Add what applies to the case file: nothing is added without a click.")
    for e in usable:
        i = hashlib.sha256(f"{e['label']}|{e['normalized']}".encode()).hexdigest()[:10]   # the entity, not its place
        a, b, d = st.columns([3, 2, 2])
        a.markdown(f":{ui.HIGHLIGHT.get(e['label'], 'gray')}-background[{ui.md_escape(e['normalized'])}] "
                   f"*{words.ENTITY_WORDS.get(e['label'], e['label'].lower())}*"
                   + (f" · {ui.md_escape(words.enum(e['relationship']))}" if e.get("relationship") else ""))
        if e["label"] == "STATUTE":
            if e["normalized"] in charged:
                b.caption("already an allegation")
            else:
                b.button("Add as allegation", key=f"ent-add-charge-{i}", on_click=add_allegation,
                         args=(e["normalized"],))
        elif e["label"] == "PERSON":
            b.button("Add as subject", key=f"ent-add-subject-{i}", on_click=add_subject,
                     args=(e["normalized"], e.get("relationship") or "unknown"))
        else:
            field = b.selectbox("Set as", list(casefile.Dates.model_fields), index=None, placeholder="Set as date ...",
                                format_func=words.date_label, key=f"ent-date-field-{i}", label_visibility="collapsed")
            d.button("Set date", key=f"ent-set-date-{i}", disabled=field is None, on_click=set_date,
                     args=(field, e["normalized"]))
    with st.expander(f"All {len(got['entities'])} entities found"):
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
by_key: dict[str, list[dict]] = {}
for f in pending:
    by_key.setdefault(f["key"], []).append(f)
pairs = {k: g for k, g in by_key.items() if len({f["value"] for f in g}) > 1}     # always shown: one to choose
singles = [f for f in pending if f["key"] not in pairs]
low = [f for f in singles if f["confidence"] == "low"]
if low and not st.toggle(f"Show {len(low)} low-confidence suggestion{'s' if len(low) != 1 else ''} "
                         "(an allegation, or one the trained model does not read in its sentence)",
                         key="show-low-suggestions"):
    singles = [f for f in singles if f["confidence"] != "low"]
if not singles and not pairs:
    st.caption("No suggestions left." if not low else "No confident suggestions left.")


def typed_narrative() -> str | None:
    """The narrative box's value, if the user changed it in the same browser round trip as a click
    (the box's change and the click arrive in one run, the click's callback first)."""
    gen = st.session_state.get("case_form_gens", {}).get("facts", (0,))[0]
    typed = st.session_state.get(autoform.key("facts", gen, "narrative"))
    case = st.session_state.case
    return typed if isinstance(typed, str) and (typed or None) != case.facts.narrative else None


def accept(f: dict, sentence: str) -> None:
    """Runs before the page's widgets, which are then made again from the case and show the accepted value.
    A narrative changed in the same round trip is kept, and the suggestion (read from the old text,
    its sentence numbers no longer hold) is not taken: the page reads the new text again."""
    case = st.session_state.case
    if (typed := typed_narrative()) is not None:
        autoform.keep({"facts": case.facts.model_copy(update={"narrative": typed or None})})
        basis.clear()
        rejected.clear()
        st.session_state.facts_notice = "The narrative changed: its suggestions were read again. Choose again below."
        return
    autoform.keep({"facts": case.facts.model_copy(update={f["key"]: f["value"]})})
    basis[f["key"]] = {"sentence": f["sentence"], "text": sentence, "value": f["value"]}


def reject(*fs: dict) -> None:
    for f in fs:
        rejected.add((f["key"], f["value"], f["sentence"]))


def restore(item: tuple) -> None:
    rejected.discard(item)


def show(box, f: dict, prefix: str = "") -> None:
    current = getattr(c.facts, f["key"])
    now = "agrees with the value now set" if current == f["value"] else f"now: {words.enum(str(current))}"
    box.markdown(f"{prefix}**{ui.md_escape(label(f['key']))}: {ui.md_escape(words.enum(str(f['value'])))}** "
                 f"({ui.md_escape(now)})")
    box.caption(f"{f['confidence'].capitalize()} confidence · sentence {f['sentence']} · {ui.md_escape(f['reason'])}")
    box.text(sentences[f["sentence"]])


for key, group in pairs.items():              # the narrative says it both ways: one box, one choice
    values = list(dict.fromkeys(f["value"] for f in group))
    box = st.container(border=True)
    box.markdown(f"**{ui.md_escape(label(key))}: the narrative suggests {len(values)} answers. Choose one, or neither.**")
    firsts = [next(f for f in group if f["value"] == v) for v in values]
    for n, f in enumerate(firsts):
        show(box, f, prefix=f"{chr(65 + n)}. ")
    cols = box.columns(len(firsts) + 3)
    for n, f in enumerate(firsts):
        cols[n].button(f"Choose {chr(65 + n)}: {words.enum(str(f['value']))}",
                       key=f"accept-{f['key']}-{f['value']}-{f['sentence']}", on_click=accept,
                       args=(f, sentences[f["sentence"]]))
    cols[len(firsts)].button("Neither", key=f"reject-pair-{key}", on_click=reject, args=tuple(group))
for f in singles:
    box = st.container(border=True)
    show(box, f)
    a, r, _ = box.columns([1, 1, 4])
    a.button("Accept", key=f"accept-{f['key']}-{f['value']}-{f['sentence']}", on_click=accept,
             args=(f, sentences[f["sentence"]]))
    r.button("Reject", key=f"reject-{f['key']}-{f['value']}-{f['sentence']}", on_click=reject, args=(f,))

if rejected:
    with st.expander(f"Rejected suggestions ({len(rejected)}): restore one to decide again"):
        for n, item in enumerate(sorted(rejected, key=lambda x: (x[2], x[0], str(x[1])))):
            a, b = st.columns([5, 1])
            a.markdown(f"{ui.md_escape(label(item[0]))}: {ui.md_escape(words.enum(str(item[1])))} · sentence {item[2]}")
            b.button("Restore", key=f"restore-{n}-{item[0]}-{item[1]}-{item[2]}", on_click=restore, args=(item,))

accepted = {k: v for k, v in basis.items() if getattr(c.facts, k) == v["value"]}
if accepted:
    st.markdown("**Accepted from the narrative**")
    st.dataframe(pd.DataFrame([{"fact": label(k), "value": words.enum(str(v["value"])),
                                "basis": f"narrative sentence {v['sentence']}", "sentence": v["text"]}
                               for k, v in accepted.items()]), hide_index=True, width="stretch")
st.caption("The client, allegations, subjects and dates are entered on the Case page.")
