"""Forms that save as the user works. A page's section (the client, the allegations grid, the facts)
renders its widgets under the keys of a *generation*: the widgets keep their keys while the user
edits them (no focus lost, a grid's edits never applied twice), and get new keys when the case
changed elsewhere (another page, an accepted suggestion, an import, a reopened matter) or when
they were not on the page in the previous run. A field (text, choice, date) is given the case's
value as it is now (its key keeps what is being typed, so the value only counts when it is new); a
grid starts from the generation's `base`, the rows as they were when it was made, to which
Streamlit applies the grid's own edits. A validated change goes into the session's
case at once, and autosave (state.autosave) stores it at the end of the run."""
from __future__ import annotations

import hashlib
import json

import streamlit as st


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:12]


def generation(section: str, current, sentinel: str) -> tuple[int, object]:
    """The generation of `section`'s widgets and the values they start from. `current` is the
    section as the case holds it (JSON-like); `sentinel` names one widget of the section, whose key
    is f"case-{section}-{gen}-{sentinel}"."""
    gens = st.session_state.setdefault("case_form_gens", {})
    pk = st.session_state.get("matter_pk")
    gen, base, written, owner = gens.get(section, (0, None, None, None))
    digest = _digest(current)
    if owner != pk or digest != written or f"case-{section}-{gen}-{sentinel}" not in st.session_state:
        # a number never used before in this browser session, even after a matter is closed and its
        # generations forgotten: a widget left from an earlier one must not lend its value to a new one
        serial = st.session_state.get("case_form_serial", 0) + 1
        st.session_state.case_form_serial = serial
        gen, base = serial, current
        gens[section] = (gen, base, digest, pk)
    return gen, base


def key(section: str, gen: int, name: str) -> str:
    return f"case-{section}-{gen}-{name}"


def keep(update: dict, section: str | None = None, value=None) -> None:
    """Put a validated change into the open case. Made by `section`'s own widgets (`value`: the
    section as now written), they stay as they are; made by a button (no section), the widgets
    showing it are made again from the case."""
    case = st.session_state.case
    st.session_state.case = case.model_copy(update=update)
    st.session_state.result = None
    if section is not None:
        written(section, value)


def written(section: str, value) -> None:
    """`section`'s own widgets changed what it shows (now `value`): they stay as they are."""
    gens = st.session_state.case_form_gens
    gen, base, _, pk = gens[section]
    gens[section] = (gen, base, _digest(value), pk)


def added_count(form: str, more: int = 0) -> int:
    """A counter in an add form's key: after a successful add the form is new and empty; a refused
    one keeps what the user typed."""
    counts = st.session_state.setdefault("case_form_adds", {})
    counts[form] = counts.get(form, 0) + more
    return counts[form]
