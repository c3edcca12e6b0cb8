import datetime as dt

import pandas as pd
import streamlit as st

from assessment.app import state as ui
from assessment.core import casefile
from assessment.core.errors import AssessmentError
from assessment.firm import crypto, docket, matters
from assessment.firm.permissions import Forbidden, allowed
from assessment.law import chronology, engine
from assessment.law import kb as kbmod
from assessment.memo import chronology as chrono

st.title("Matters")
ui.require("matter.read")
user = ui.user()
if "case" in st.session_state:
    c = st.session_state.case
    st.info(f"Open: **{ui.md_escape(c.matter.title)}** ({ui.md_escape(c.matter.id)}). "
            f"{st.session_state.get('save_status', '')}. Changes are saved as you work.")



def next_deadlines() -> list[dict]:
    """The next deadline (the first on or after today) of each matter the user is listed on, soonest
    first; each case file is read through the firm's checks (logged) and assessed without evidence
    only when its version, the day or the knowledge base changed (kept in this session only)."""
    today, generation = dt.date.today(), kbmod.knowledge_generation()
    cache = st.session_state.get("docket_cache")
    if not cache or (cache["user"], cache["today"], cache["kb"]) != (user.id, today, generation):
        cache = {"user": user.id, "today": today, "kb": generation, "by_pk": {}}
    listed = matters.list_matters(ui.actor(), "", log_search=False)
    known = {pk: version for pk, (version, _) in cache["by_pk"].items()}
    fresh = {}
    for d in docket.case_files(ui.actor(), [r.pk for r in listed], known, ui.knowledge()):
        if d.case is None and not d.problem:
            fresh[d.pk] = cache["by_pk"][d.pk]
            continue
        found = d.problem
        if d.case is not None:
            try:
                result = engine.assess(d.case, ui.knowledge(), None, today, rank_questions=False)
            except AssessmentError as exc:
                found = "; ".join(str(p) for p in exc.problems)[:300]
            else:
                found = next(iter(chronology.due(result.chronology, today.isoformat())), None)
        fresh[d.pk] = (d.version, found)
    cache["by_pk"] = fresh
    st.session_state.docket_cache = cache
    out = []
    for r in listed:
        if r.pk not in fresh:
            continue
        e = fresh[r.pk][1]
        due = dt.date.fromisoformat(e.date) if e is not None and not isinstance(e, str) else None
        out.append({"date": due.isoformat() if due else "", "days": (due - today).days if due else None,
                    "matter": r.ref, "title": r.title, "deadline": chrono.deadline_type(e) if due else "",
                    "what": e.what if due else (e or "no deadline ahead on the case file's dates")})
    out.sort(key=lambda x: (x["date"] == "", x["date"], x["matter"]))
    return out


SOON = 30       # days: a deadline this close is shown as a warning
st.subheader("Docket")
due = next_deadlines()
if due:
    soon = [x for x in due if x["days"] is not None and x["days"] <= SOON]
    if soon:
        st.warning(f"Within {SOON} days: " + "; ".join(ui.md_escape(f"{x['matter']} {x['date']} ({x['deadline']})")
                                                        for x in soon))
    frame = pd.DataFrame(due, columns=["date", "days", "matter", "title", "deadline", "what"])
    st.dataframe(frame.style.apply(lambda row: ["background-color: #FFE699" if row["days"] is not None
                                                and not pd.isna(row["days"]) and row["days"] <= SOON else ""
                                                for _ in row], axis=1),
                 hide_index=True, width="stretch",
                 column_config={"date": "next deadline", "days": st.column_config.NumberColumn("days left"),
                                "deadline": "kind"})
    st.caption("Computed from each case file's dates without its evidence, as of today; open a matter's Chronology "
               "page for every entry and its calendar (.ics) file.")
else:
    st.caption("No matter is listed for you yet.")

st.subheader("Open a matter")
query = st.text_input("Search (matter id, title, or any text in the case file)", max_chars=200, key="matter_query")
# a search is logged once, not on every rerun of the page
rows = matters.list_matters(ui.actor(), query, log_search=st.session_state.get("query_logged") != query)
st.session_state.query_logged = query
st.caption(f"{len(rows)} matter(s) you are listed on" + (f" matching {ui.md_escape(repr(query))}" if query.strip() else ""))
for r in rows[:50]:
    a, b, c_ = st.columns([5, 2, 1])
    a.write(f"**{ui.md_escape(r.title)}** · {ui.md_escape(r.ref)} · {r.stage}")
    b.caption(f"changed {r.updated_at:%Y-%m-%d %H:%M} UTC by {ui.md_escape(r.updated_by)}")
    if c_.button("Open", key=f"open-{r.pk}", disabled=r.pk == st.session_state.get("matter_pk")):
        ui.open_matter(r.pk)
        st.rerun()
if len(rows) > 50:
    st.caption("The first 50 are listed: narrow the search to see others.")


def create(case: casefile.CaseFile, files: dict[str, bytes], label: str) -> None:
    try:
        pk = matters.create_matter(ui.actor(), case, files)
    except AssessmentError as exc:
        ui.show_problems(exc, f"{label} was not saved")
    except Forbidden as exc:
        st.error(ui.md_escape(str(exc)))
    else:
        ui.open_matter(pk)
        st.rerun()


if allowed(user.role, "matter.create"):
    st.subheader("New matter")
    with st.form("new_matter", clear_on_submit=False):
        a, b = st.columns(2)
        ref = a.text_input("Matter id (the firm's file number)", max_chars=120)
        title = b.text_input("Title", placeholder="People v. ...", max_chars=300)
        client = a.text_input("Client's name", max_chars=200)
        role = b.selectbox("Client's role", casefile.Role.__args__)
        stage = a.selectbox("Stage", casefile.Stage.__args__)
        go = st.form_submit_button("Create")
    if go:
        try:
            new = casefile.CaseFile.model_validate({"format": "clets-case/1",
                                                    "matter": {"id": ref.strip(), "title": title.strip(), "stage": stage},
                                                    "client": {"name": client.strip(), "role": role}})
            if not new.matter.id or not new.matter.title or not new.client.name:
                raise ValueError("the matter id, title and client's name are needed")
        except ValueError as exc:
            st.error(f"Not created: {ui.md_escape(str(exc))}")
        else:
            create(new, {}, "The new matter")

    st.subheader("Import a case file")
    up = st.file_uploader("A clets-case/1 YAML file, or a ZIP holding case.yaml and the evidence files it names "
                          "(.clets: the same, sealed with a passphrase)", type=["yaml", "yml", "zip", "clets"],
                          key="case_upload")
    sealed = up is not None and crypto.is_passphrase_sealed(up.getvalue())
    import_pass = st.text_input("Passphrase of the sealed bundle", type="password", max_chars=256,
                                key="import_passphrase") if sealed else None
    if up is not None and st.button("Import as a new matter"):
        try:
            loaded, files = matters.read_upload(up.getvalue(), up.name, ui.knowledge(), import_pass)
        except AssessmentError as exc:
            ui.show_problems(exc, f"{up.name} was not imported")
        else:
            create(loaded, files, up.name)

if "case" in st.session_state:
    pk = st.session_state.matter_pk
    st.subheader("Export the open matter")
    ref = st.session_state.case.matter.id
    seal = st.text_input("Passphrase to seal the bundle with (AES-256; recommended for any copy that leaves the "
                         "firm; at least 12 characters, give it to the recipient separately)", type="password",
                         max_chars=256, key="export_passphrase")
    if seal and len(seal) < 12:
        st.warning("A passphrase needs at least 12 characters; the bundle below is not sealed.")
        seal = ""
    a, b = st.columns(2)
    safe_ref = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in ref)        # a file name, not a path
    ui.download("Case file (YAML)", lambda ctx: matters.export_yaml(ctx, pk), f"{safe_ref}.yaml", "application/x-yaml",
                a, matter_pk=pk)
    ui.download("Case file with its evidence" + (" (sealed)" if seal else " (ZIP)"),
                lambda ctx: matters.export_bundle(ctx, pk, seal or None), f"{safe_ref}.{'clets' if seal else 'zip'}",
                "application/octet-stream" if seal else "application/zip", b, matter_pk=pk)
    if allowed(user.role, "matter.delete"):
        with st.expander("Delete this matter"):
            st.write("A deleted matter leaves every list, but nothing is erased: it can be restored below.")
            sure = st.checkbox("Yes, delete it", key="delete_sure")
            if st.button("Delete", disabled=not sure):
                matters.delete_matter(ui.actor(), pk)
                ui.close_matter()
                st.session_state.auto_open = False
                st.rerun()

if allowed(user.role, "matter.delete"):
    gone = matters.list_matters(ui.actor(), deleted=True)
    if gone:
        st.subheader("Deleted matters")
        for r in gone:
            a, b = st.columns([6, 1])
            a.write(f"{ui.md_escape(r.title)} · {ui.md_escape(r.ref)} · deleted {r.deleted_at:%Y-%m-%d %H:%M} UTC")
            if b.button("Restore", key=f"restore-{r.pk}"):
                matters.restore_matter(ui.actor(), r.pk)
                ui.open_matter(r.pk)
                st.rerun()
