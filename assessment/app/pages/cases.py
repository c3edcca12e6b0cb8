import datetime as dt

import pandas as pd
import streamlit as st

from assessment.app import labels
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
if notice := st.session_state.pop("matters_notice", None):      # what the run before the last rerun did
    st.success(ui.md_escape(notice))


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
    frame["days"] = frame["days"].astype("Int64")             # whole days; an empty cell, not "None" or "632.0"
    st.dataframe(frame.style.apply(lambda row: ["background-color: #FFE699" if row["days"] is not None
                                                and not pd.isna(row["days"]) and row["days"] <= SOON else ""
                                                for _ in row], axis=1),
                 hide_index=True, width="stretch",
                 column_config={"date": "next deadline", "days": st.column_config.NumberColumn("days left"),
                                "deadline": "kind"})
    st.caption("Computed from each case file's dates without its evidence, as of today; open a matter's Chronology "
               "page for every entry and its calendar (.ics) file.")
else:
    admins = ", ".join(matters.administrators()) or "an administrator"
    st.info("No matter is listed for you yet. "
            + ("Create one below, or ask " if allowed(user.role, "matter.create") else "Ask ")
            + "the attorney responsible for a matter to add you to its team"
            + (f" (an administrator can too: {ui.md_escape(admins)})." if user.role == "paralegal" else
               f", or an administrator ({ui.md_escape(admins)}) to list you on it."))

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
    st.session_state.pop("deleted_id", None)
    try:
        pk = matters.create_matter(ui.actor(), case, files)
    except matters.DeletedId as exc:         # the id is a deleted matter's: offer it back (below the forms)
        ui.show_problems(exc, f"{label} was not saved")
        st.session_state.deleted_id = (exc.pk, exc.ref)
    except AssessmentError as exc:
        ui.show_problems(exc, f"{label} was not saved")
    except Forbidden as exc:
        st.error(ui.md_escape(str(exc)))
    else:
        ui.open_matter(pk)
        st.rerun()


def restore(pk: int) -> None:
    st.session_state.pop("deleted_id", None)
    try:
        matters.restore_matter(ui.actor(), pk)
    except (Forbidden, matters.NotFound) as exc:
        st.error(ui.md_escape(str(exc)))
        return
    ui.open_matter(pk)
    st.rerun()


def offer_deleted() -> None:
    """After a create refused because a deleted matter has the id: restore that matter here, or
    (administrators) purge it under Deleted matters to reuse the id."""
    gone_pk, gone_ref = st.session_state.get("deleted_id") or (None, None)
    if gone_pk is None:
        return
    st.warning(f"A deleted matter has the id {ui.md_escape(gone_ref)}: restore it, or have an administrator purge it "
               "(under Deleted matters, below) to reuse the id for a new matter.")
    if allowed(user.role, "matter.delete") and st.button("Restore the deleted matter", key="restore-offered"):
        restore(gone_pk)


if allowed(user.role, "matter.create"):
    st.subheader("New matter")
    st.caption("The rest of the case (operator ids, terminals, allegations, subjects, dates) is entered on the Case "
               "page once the matter is created; statutes, people and dates in the narrative can be added from the "
               "Facts page with one click each.")
    with st.form("new_matter", clear_on_submit=False):
        a, b = st.columns(2)
        ref = a.text_input("Matter id (the firm's file number)", max_chars=120)
        client = b.text_input("Client's name", max_chars=200)
        role = st.radio("Client's role", casefile.Role.__args__, format_func=labels.enum, horizontal=True, index=None)
        a, b = st.columns(2)
        stage = a.selectbox("Stage", casefile.Stage.__args__, format_func=labels.enum)
        title = b.text_input("Title (empty: \u201cIn re\u201d and the client's name, or \u201cPeople v.\u201d once "
                             "charged)", max_chars=300)
        text = st.text_area("Narrative (optional: paste the report, notice or notes; it can be changed on the Facts page)",
                            height=120)
        go = st.form_submit_button("Create")
    if go:
        missing = [w for w, v in (("the matter id", ref.strip()), ("the client's name", client.strip()),
                                  ("the client's role", role)) if not v]
        default = f"{'People v.' if stage in ('charged', 'trial', 'sentencing') else 'In re'} {client.strip()}"
        try:
            if missing:
                raise ValueError(" and ".join(missing) + (" is" if len(missing) == 1 else " are") + " needed")
            new = casefile.CaseFile.model_validate({
                "format": "clets-case/1", "matter": {"id": ref.strip(), "title": title.strip() or default, "stage": stage},
                "client": {"name": client.strip(), "role": role}, "facts": {"narrative": text.strip() or None}})
        except ValueError as exc:
            st.error(f"Not created; what you typed is kept: {ui.md_escape(str(exc))}")
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
    offer_deleted()


def update_from_file(pk: int) -> None:
    """Update the open matter from an uploaded case file or bundle: what would change is shown, in
    words, before anything is written; the update names the version it was compared with (a save
    made since is refused as a Conflict) and keeps the matter's id whatever the file says."""
    st.subheader("Update this matter from a case file or bundle")
    st.caption("The same files as Import a case file. What would change is shown field by field first; nothing is "
               "saved until you apply it. The matter keeps its id, whatever id the file gives.")
    n = st.session_state.setdefault("update_round", 0)
    up = st.file_uploader("A clets-case/1 YAML file, or a ZIP holding case.yaml and the evidence files it names (.clets: "
                          "the same, sealed with a passphrase)", type=["yaml", "yml", "zip", "clets"], key=f"update_upload_{n}")
    sealed = up is not None and crypto.is_passphrase_sealed(up.getvalue())
    phrase = st.text_input("Passphrase of the sealed bundle", type="password", max_chars=256,
                           key=f"update_passphrase_{n}") if sealed else None
    if up is not None and st.button("Show what would change", key="update_preview"):
        st.session_state.pop("update_pending", None)
        st.session_state.pop("update_conflict", None)
        try:
            loaded, files = matters.read_upload(up.getvalue(), up.name, ui.knowledge(), phrase)
            version, lines = matters.preview_matter_update(ui.actor(), pk, loaded, files, ui.knowledge())
        except AssessmentError as exc:
            ui.show_problems(exc, f"{up.name} was not read")
        except (Forbidden, matters.NotFound) as exc:
            st.error(ui.md_escape(f"Not read: {exc}"))
        else:
            if lines:
                st.session_state.update_pending = {"pk": pk, "version": version, "case": loaded, "files": files,
                                                   "name": up.name, "lines": lines}
            else:
                st.info(f"{ui.md_escape(up.name)} holds nothing this matter does not: there is nothing to update.")
    if msg := st.session_state.get("update_conflict"):
        st.error(ui.md_escape(msg))
        if st.button("Reopen the saved matter", key="update_reopen"):
            st.session_state.pop("update_conflict", None)
            ui.open_matter(pk)
            st.rerun()
    pending = st.session_state.get("update_pending")
    if not pending or pending["pk"] != pk:
        st.session_state.pop("update_pending", None)
        return
    st.warning(f"Updating this matter from {ui.md_escape(pending['name'])} (compared with its version "
               f"{pending['version']}) changes what is listed below. Nothing is saved until you apply it.")
    st.markdown(ui.literal(pending["lines"]))
    a, b = st.columns(2)
    if b.button("Cancel", key="update_cancel"):
        st.session_state.pop("update_pending", None)
        st.rerun()
    if not a.button("Apply these changes", type="primary", key="update_apply"):
        return
    st.session_state.pop("update_pending", None)
    try:
        v = matters.update_matter_from_upload(ui.actor(), pk, pending["version"], pending["case"], pending["files"])
    except matters.Conflict as exc:
        st.session_state.update_conflict = f"{pending['name']} was not imported. {exc}"
        st.rerun()
    except AssessmentError as exc:
        ui.show_problems(exc, f"{pending['name']} was not imported")
    except (Forbidden, matters.NotFound) as exc:
        st.error(ui.md_escape(f"{pending['name']} was not imported: {exc}"))
    else:
        ui.open_matter(pk)
        st.session_state.update_round = n + 1           # an empty uploader for the next file
        st.session_state.matters_notice = f"This matter was updated from {pending['name']}: version {v}."
        st.rerun()


if "case" in st.session_state:
    pk = st.session_state.matter_pk
    st.subheader("Team of the open matter")
    try:
        members, candidates = matters.team_of(ui.actor(), pk)
    except (Forbidden, matters.NotFound) as exc:
        st.error(ui.md_escape(str(exc)))
        members, candidates = [], []
    st.write("Listed on this matter: " + ", ".join(f"{ui.md_escape(u.display_name or u.username)} ({u.role})"
                                                    for u in members))
    if allowed(user.role, "matter.team"):
        def change_team(user_id: int, listed: bool) -> None:
            try:
                matters.change_team(ui.actor(), pk, user_id, listed)
            except (Forbidden, matters.NotFound) as exc:
                st.session_state.team_notice = f"Not changed: {exc}"
        a, b = st.columns([3, 1])
        names = {u.id: f"{u.display_name or u.username} ({u.username})" for u in candidates}
        add = a.selectbox("Add a paralegal to this matter's team", list(names), index=None, format_func=names.get,
                          placeholder="Choose a paralegal" if candidates else "Every paralegal is listed already")
        b.button("Add to the team", disabled=add is None, on_click=change_team, args=(add, True))
        for u in members:
            if u.role in matters.TEAM_ROLES:
                a, b = st.columns([3, 1])
                a.caption(f"{ui.md_escape(u.display_name or u.username)} ({u.username}), paralegal")
                b.button("Remove", key=f"team-remove-{u.id}", on_click=change_team, args=(u.id, False))
        st.caption("Each change is in the access log. An administrator lists attorneys and keeps the walls on the Users "
                   "page.")
        if notice := st.session_state.pop("team_notice", None):
            st.error(ui.md_escape(notice))

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
    if allowed(user.role, "matter.write"):
        update_from_file(pk)
    if allowed(user.role, "matter.delete"):
        with st.expander("Delete this matter"):
            st.write("A deleted matter leaves every list, but nothing is erased: it can be restored below, until an "
                     "administrator purges it (which erases it and frees its id).")
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
                restore(r.pk)
        if allowed(user.role, "users.manage"):
            with st.expander("Purge a deleted matter (administrators)"):
                st.write("Purging erases the matter for good: its case file, review, marks, evidence files, memos and "
                         "remembered column mappings. Its id is then free for a new matter. The access log keeps its "
                         "rows; the firm's backups keep what they held.")
                by_pk = {r.pk: r for r in gone}
                pick = st.selectbox("Deleted matter", list(by_pk), key="purge_pick",
                                    format_func=lambda k: f"{by_pk[k].ref} · {by_pk[k].title}")
                typed = st.text_input("Type its matter id to confirm", max_chars=120, key="purge_confirm")
                if st.button("Purge for good", disabled=pick is None or typed.strip() != by_pk[pick].ref, key="purge_go"):
                    try:
                        n_files, n_memos = matters.purge_matter(ui.actor(), pick)
                    except (Forbidden, matters.NotFound) as exc:
                        st.error(ui.md_escape(f"Not purged: {exc}"))
                    else:
                        if (st.session_state.get("deleted_id") or (None,))[0] == pick:
                            st.session_state.pop("deleted_id", None)
                        st.session_state.matters_notice = (f"Matter {by_pk[pick].ref} was purged ({n_files} evidence "
                                                           f"file(s), {n_memos} memo(s) erased): its id is free.")
                        st.rerun()
