"""The case file in forms: matter and client, allegations, subjects and dates. Every field of the
clets-case/1 format except the facts (Facts page) and the evidence files (Evidence page) is entered
and changed here. A change is kept as soon as it validates (the matter autosaves like every
page); a value that does not validate is refused with what and where, the rest of the case stays
as it was, and the field keeps what the user typed so it can be corrected."""
import datetime as dt

import pandas as pd
import streamlit as st
from pydantic import ValidationError

from assessment.app import autoform, caseforms
from assessment.app import labels as words
from assessment.app import state as ui
from assessment.core import casefile
from assessment.law import kb as kbmod

st.title("Case")
c = ui.case()
kb = ui.knowledge()
may_edit = ui.may_edit_case()
st.caption("Everything the case file holds, in forms: a change is saved as soon as it is complete and valid "
           "(no button to press). The facts are on the Facts page, the evidence files on the Evidence page.")
if not may_edit:
    st.info("Shown read-only: your role may not change the case file.")

EARLIEST, LATEST = dt.date(1940, 1, 1), dt.date(2100, 12, 31)


def refuse(lines: list[str]) -> None:
    st.error("Not saved; the case keeps its earlier values:\n" + "\n".join(f"- {ui.md_escape(x)}" for x in lines))


def date_value(value) -> dt.date | None:
    return value if isinstance(value, dt.date) else None


# ---- matter and client -------------------------------------------------------------------------------
st.header("Matter and client")
current = {"matter": c.matter.model_dump(mode="json"), "client": c.client.model_dump(mode="json")}
gen, _ = autoform.generation("client", current, "name")
base = current           # a field shows the case as it is; its key keeps what is being typed
k = f"case-client-{gen}-"
m, cl = base["matter"], base["client"]
a, b, d = st.columns(3)
title = a.text_input("Title", m["title"], key=k + "title", max_chars=300, disabled=not may_edit)
stage = b.selectbox("Stage", casefile.Stage.__args__, index=casefile.Stage.__args__.index(m["stage"]),
                    format_func=words.enum, key=k + "stage", disabled=not may_edit)
county = d.text_input("County", m.get("county") or "", key=k + "county", max_chars=120, disabled=not may_edit)
prepared_by = a.text_input("Prepared by (the memo's author line)", m.get("prepared_by") or "",
                           key=k + "prepared_by", max_chars=200, disabled=not may_edit)
name = b.text_input("Client's name", cl["name"], key=k + "name", max_chars=200, disabled=not may_edit)
role = d.selectbox("Client's role", casefile.Role.__args__, index=casefile.Role.__args__.index(cl["role"]),
                   format_func=words.enum, key=k + "role", disabled=not may_edit)
agency = a.text_input("Agency", cl.get("agency") or "", key=k + "agency", max_chars=200, disabled=not may_edit)
ori = b.text_input("Agency ORI (9 characters, e.g. CA0190000)", cl.get("ori") or "", key=k + "ori", max_chars=9,
                   disabled=not may_edit)
prior = d.selectbox("Prior discipline", casefile.TriState.__args__,
                    index=casefile.TriState.__args__.index(cl["prior_discipline"]), format_func=words.enum,
                    key=k + "prior", disabled=not may_edit,
                    help=kb.facts["prior_discipline"].question if "prior_discipline" in kb.facts else None)
needed = {f.key for f in kb.facts.values()}


def date_label(label: str, key: str) -> str:
    return label + (" · a rule needs it" if key in needed else "")


def date_help(key: str) -> str | None:
    return kb.facts[key].question if key in kb.facts else None


a, b, d = st.columns(3)
client_dates = {}
for col, (field, label) in zip((a, b, d), (("hire_date", "Hire date"), ("assignment_date", "Assigned to CLETS duties"),
                                            ("clets_training_date", "CLETS training completed")), strict=True):
    client_dates[field] = col.date_input(date_label(label, f"client.{field}"),
        dt.date.fromisoformat(cl[field]) if cl.get(field) else None, min_value=EARLIEST, max_value=LATEST,
        format="YYYY-MM-DD", key=k + field, help=date_help(f"client.{field}"), disabled=not may_edit)
a, b = st.columns(2)
operators = a.text_area("Operator ids (one per line, or separated by commas)", "\n".join(cl["operator_ids"]),
                        key=k + "operators", height=80, disabled=not may_edit,
                        help="The CLETS operator ids the audit log shows for the client: queries under them are the "
                             "client's.")
terminals = b.text_area("Terminal ids", "\n".join(cl["terminal_ids"]), key=k + "terminals", height=80,
                        disabled=not may_edit, help="The terminals the client used (the audit log's terminal column).")
if may_edit:
    try:
        new_matter = casefile.Matter.model_validate({**c.matter.model_dump(), "title": title.strip(), "stage": stage,
                                                     "county": county.strip() or None,
                                                     "prepared_by": prepared_by.strip() or None})
        new_client = casefile.Client.model_validate({
            "name": name.strip(), "role": role, "agency": agency.strip() or None,
            "ori": ori.strip().upper() or None, **client_dates, "operator_ids": caseforms.ids(operators),
            "terminal_ids": caseforms.ids(terminals), "prior_discipline": prior})
        empty = [w for w, v in (("the title", new_matter.title), ("the client's name", new_client.name)) if not v]
        if empty:
            refuse([f"Matter and client: {' and '.join(empty)} cannot be empty"])
        elif (new_matter, new_client) != (c.matter, c.client):
            autoform.keep({"matter": new_matter, "client": new_client}, "client",
                 {"matter": new_matter.model_dump(mode="json"), "client": new_client.model_dump(mode="json")})
            c = st.session_state.case
    except ValidationError as exc:
        refuse(caseforms.problems(exc, "Matter and client"))

# ---- allegations -------------------------------------------------------------------------------------
st.header("Allegations")
st.caption("One row for each charge or allegation. The citation picker offers only what the knowledge base holds "
           "(sections and their subdivisions); a statute it lacks has to be added on the Knowledge base page first.")
options = words.citation_options(kb)
titles = words.citation_titles(kb)
current = [x.model_dump(mode="json") for x in c.allegations]
# a knowledge-base edit (another user's) changes the picker's options: the grid is made again from the case
gen, base = autoform.generation("allegations", current + [kbmod.knowledge_generation()], "grid")
base = base[:-1]
known = list(dict.fromkeys(options + [x["citation"] for x in base]))
frame = pd.DataFrame([{"citation": x["citation"], "status": x["status"], "counts": x["counts"],
                       "statute": titles.get(x["citation"], "")} for x in base],
                     columns=["citation", "status", "counts", "statute"])
edited = st.data_editor(
    frame, key=f"case-allegations-{gen}-grid", num_rows="dynamic" if may_edit else "fixed", hide_index=True,
    width="stretch", disabled=True if not may_edit else ["statute"],
    column_config={
        "citation": st.column_config.SelectboxColumn("citation", options=known, required=True, width="medium",
                                                     format_func=lambda v: f"{v} · {titles[v]}" if v in titles else v),
        "status": st.column_config.SelectboxColumn("status", options=list(casefile.AllegationStatus.__args__),
                                                   required=True, default="alleged", format_func=words.enum,
                                                   help="charged: in a filed complaint; alleged: in a notice or "
                                                        "report; possible: what the facts could support"),
        "counts": st.column_config.NumberColumn("counts", min_value=1, max_value=999, step=1, default=1, required=True),
        "statute": st.column_config.TextColumn("statute (from the knowledge base)", width="large")})
if may_edit:
    allegations, bad = caseforms.allegations_from_rows(edited.to_dict("records"), kb)
    if bad:
        refuse(bad)
    elif allegations != c.allegations:
        autoform.keep({"allegations": allegations}, "allegations",
                      [x.model_dump(mode="json") for x in allegations] + [kbmod.knowledge_generation()])
        c = st.session_state.case
    with st.form(f"add_allegation-{autoform.added_count('allegation')}", border=True):
        st.markdown("**Add an allegation**")
        a, b, d = st.columns([3, 2, 1])
        pick = a.selectbox("Citation", options, index=None, placeholder="Type to search: PC 502(c)(7), VC 1808.45 ...",
                           format_func=lambda v: f"{v} · {titles[v]}")
        status = b.selectbox("Status", casefile.AllegationStatus.__args__, index=1, format_func=words.enum)
        counts = d.number_input("Counts", min_value=1, max_value=999, value=1, step=1)
        if st.form_submit_button("Add allegation"):
            added, bad = caseforms.allegations_from_rows(
                [*[x.model_dump() for x in c.allegations], {"citation": pick, "status": status, "counts": counts}], kb)
            if pick is None:
                st.error("Choose a citation first; nothing was added.")
            elif bad:
                refuse(bad)
            else:
                autoform.keep({"allegations": added})
                autoform.added_count("allegation", 1)                  # a fresh, empty form; a refused one keeps its values
                st.rerun()

# ---- subjects ---------------------------------------------------------------------------------------
st.header("Subjects")
st.caption("The people whose records were queried. The relationship and any protective order decide which "
           "statutes and defenses apply; the plate and licence number find the subject's queries in the audit log.")
current = [x.model_dump(mode="json") for x in c.subjects]
gen, base = autoform.generation("subjects", current, "grid")
frame = pd.DataFrame([{**x, "dob": dt.date.fromisoformat(x["dob"]) if x.get("dob") else None} for x in base],
                     columns=["name", "relationship", "protective_order", "dob", "plate", "license_number"])
frame["dob"] = pd.to_datetime(frame["dob"]).dt.date if len(frame) else frame["dob"]
edited = st.data_editor(
    frame, key=f"case-subjects-{gen}-grid", num_rows="dynamic" if may_edit else "fixed", hide_index=True,
    width="stretch", disabled=not may_edit,
    column_config={
        "name": st.column_config.TextColumn("name", required=True, max_chars=200, width="medium"),
        "relationship": st.column_config.SelectboxColumn(
            "relationship to the client", options=list(casefile.Relationship.__args__), required=True,
            default="unknown", format_func=words.enum),
        "protective_order": st.column_config.SelectboxColumn(
            "protective order", options=list(casefile.ProtectiveOrder.__args__), required=True, default="none",
            format_func=words.enum),
        "dob": st.column_config.DateColumn("date of birth", min_value=EARLIEST, max_value=LATEST, format="YYYY-MM-DD"),
        "plate": st.column_config.TextColumn("plate", max_chars=12),
        "license_number": st.column_config.TextColumn("licence number", max_chars=20)})
if may_edit:
    subjects, bad = caseforms.subjects_from_rows(edited.to_dict("records"))
    if bad:
        refuse(bad)
    elif subjects != c.subjects:
        autoform.keep({"subjects": subjects}, "subjects", [x.model_dump(mode="json") for x in subjects])
        c = st.session_state.case
    with st.form(f"add_subject-{autoform.added_count('subject')}", border=True):
        st.markdown("**Add a subject**")
        a, b, d = st.columns(3)
        row = {"name": a.text_input("Name", max_chars=200),
               "relationship": b.selectbox("Relationship to the client", casefile.Relationship.__args__,
                                           index=casefile.Relationship.__args__.index("unknown"), format_func=words.enum),
               "protective_order": d.selectbox("Protective order", casefile.ProtectiveOrder.__args__,
                                               format_func=words.enum),
               "dob": a.date_input("Date of birth", None, min_value=EARLIEST, max_value=LATEST, format="YYYY-MM-DD"),
               "plate": b.text_input("Plate", max_chars=12),
               "license_number": d.text_input("Licence number", max_chars=20)}
        if st.form_submit_button("Add subject"):
            added, bad = caseforms.subjects_from_rows([*[x.model_dump() for x in c.subjects], row])
            if not (row["name"] or "").strip():
                st.error("A subject needs a name; nothing was added.")
            elif bad:
                refuse(bad)
            else:
                autoform.keep({"subjects": added})
                autoform.added_count("subject", 1)
                st.rerun()

# ---- dates ------------------------------------------------------------------------------------------
st.header("Dates")
st.caption("Leave a date empty when it is not known: the assessment asks for each one a rule needs "
           "(marked), and says what it would change.")
current = c.dates.model_dump(mode="json")
gen, _ = autoform.generation("dates", current, "first_query")
base = current           # a field shows the case as it is; its key keeps what is being typed
k = f"case-dates-{gen}-"
chosen = {}
cols = st.columns(2)
for i, field in enumerate(casefile.Dates.model_fields):
    chosen[field] = cols[i % 2].date_input(
        date_label(words.date_label(field), f"dates.{field}"),
        dt.date.fromisoformat(base[field]) if base.get(field) else None, min_value=EARLIEST, max_value=LATEST,
        format="YYYY-MM-DD", key=k + field, help=date_help(f"dates.{field}") or words.date_help(field),
        disabled=not may_edit)
if may_edit:
    new_dates = casefile.Dates.model_validate({f: date_value(v) for f, v in chosen.items()})
    order = words.date_order_problems(kb, new_dates, c.client)
    if order:
        st.warning("Check these dates (kept as entered):\n" + "\n".join(f"- {ui.md_escape(x)}" for x in order))
    if new_dates != c.dates:
        autoform.keep({"dates": new_dates}, "dates", new_dates.model_dump(mode="json"))
        c = st.session_state.case
