"""Session state shared by the Streamlit pages. Matter data lives only in the user's session
(never in Streamlit's data cache, which all users share). Everything stored goes through the
firm's services (matters, access_log, exports), which open their own transactions, check the role
and the wall, and log; nothing here reads the database itself."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from assessment.app import webguard
from assessment.core import casefile, safepath, settings
from assessment.core.errors import AssessmentError
from assessment.core.review import Review
from assessment.evidence import analyse as evidence
from assessment.evidence import charts, mappings
from assessment.firm import access_log, exports, matters, sessions, tmpfiles
from assessment.firm.context import Actor
from assessment.firm.permissions import Forbidden, allowed
from assessment.firm.permissions import require as check_role
from assessment.law import engine
from assessment.law import kb as kbmod


@kbmod.knowledge_cache(maxsize=4)      # shared by every session, emptied by a saved edit
def _load_kb(directory: str) -> kbmod.KnowledgeBase:
    return kbmod.load(directory)


def knowledge() -> kbmod.KnowledgeBase:
    return _load_kb(str(kbmod.default_dir()))


def reload_knowledge() -> None:
    """After a saved edit: every session sees the new knowledge base on its next run (the save
    has emptied every knowledge cache and counted a new generation, so each session's `result()`
    computes its assessment again)."""
    kbmod.clear_knowledge_caches()


def open_case(case: casefile.CaseFile, base_dir: Path, label: str) -> None:
    """Put `case` (its evidence files in `base_dir`) in this session, dropping everything derived
    from the case before it."""
    old = st.session_state.get("case_dir")
    _forget(DERIVED)
    if old is not None and Path(old) != Path(base_dir):
        tmpfiles.remove(old)
    st.session_state.case = case
    st.session_state.case_dir = Path(base_dir)
    st.session_state.case_label = label


DERIVED = ("result", "result_generation", "evidence", "evidence_key", "evidence_error", "plans", "marks", "narrative_basis",
           "rejected_suggestions", "review", "memo_last", "memo_charts", "work_dir", "save_conflict",
           "evidence_dirty", "pending", "case_form_gens")
OPEN = ("case", "case_dir", "case_label", "matter_pk", "matter_version", "saved_snapshot", "save_status")


def _forget(keys) -> None:
    for key in (*keys, *[k for k in st.session_state if str(k).startswith("fact-")]):
        value = st.session_state.pop(key, None)
        if key in ("case_dir", "work_dir"):
            tmpfiles.remove(value)       # no copy of the evidence outlives its use


# ---- saved matters --------------------------------------------------------------------------------
def actor(place: str = "") -> Actor:
    """The signed-in user and where the request comes from, for the firm's services (their checks
    and the log)."""
    return Actor(user(), source(), place or st.session_state.get("page_title", ""))


def user():
    return st.session_state.get("user")


def _tab() -> str:
    """This browser tab's Streamlit session, as a short tag (it exists before sign-in too)."""
    run = get_script_run_ctx()
    return hashlib.sha256(run.session_id.encode()).hexdigest()[:8] if run is not None else "-"


def resolve_client(peer: str | None, forwarded: str | None, trusted: set[str]) -> str:
    """The client's address: the connection's peer, or, when that peer is a reverse proxy in
    `trusted`, the last address before it in X-Forwarded-For (the one the proxy itself saw). A
    header from anyone else is not believed."""
    peer = peer if isinstance(peer, str) and peer else "unknown"
    if peer in trusted:
        for addr in reversed([a.strip() for a in (forwarded or "").split(",") if a.strip()]):
            if addr not in trusted:
                return f"{addr} via {peer}"
    return peer


def client_address() -> str:
    """This request's client (`$CLETS_TRUSTED_PROXIES`: comma-separated addresses of the firm's reverse proxies)."""
    trusted = settings.TRUSTED_PROXIES.get()
    try:
        forwarded = st.context.headers.get("X-Forwarded-For")
    except Exception:  # noqa: BLE001 - no headers outside a browser request
        forwarded = None
    return resolve_client(getattr(st.context, "ip_address", None), forwarded, trusted)


def source() -> str:
    """Where a request comes from, for the access log: the sign-in session, the browser tab and the
    client's address."""
    token = st.session_state.get("auth_token")
    tag = sessions.token_sha(token)[:8] if token else "-"      # the session's stored key, shortened
    return f"session {tag}, tab {_tab()}, {client_address()}"


def _snapshot() -> tuple:
    """What a save stores, to compare with the last save: the case and review (pages replace them,
    never change them in place, so the saved objects stay as they were) and the marks as text."""
    return st.session_state.case, review(), json.dumps(marks(), sort_keys=True)


def open_matter(pk: int) -> None:
    """Open a saved matter: its case, review and marks, and its evidence in a private folder."""
    folder = tmpfiles.make("clets-matter-")
    try:
        opened = matters.checkout(actor(), pk, folder, knowledge())
    except BaseException:
        tmpfiles.remove(folder)
        raise
    open_case(opened.case, folder, opened.ref)
    st.session_state.review = opened.review
    st.session_state.marks = opened.marks
    st.session_state.matter_pk, st.session_state.matter_version = pk, opened.version
    st.session_state.saved_snapshot = _snapshot()
    st.session_state.save_status = f"Opened version {opened.version}"
    if opened.dropped:
        st.session_state.open_notice = ("The saved case file named evidence files by paths that are not allowed (they "
                                        "lead out of the matter's folder); they are left out and shown here, and the "
                                        "next save drops them: " + ", ".join(repr(n) for n in opened.dropped))


def close_matter() -> None:
    """No matter open (after it is deleted, or on a change of user)."""
    _forget(DERIVED + OPEN)


def evidence_changed() -> None:
    """The Evidence page loaded new files successfully: the next save stores them."""
    st.session_state.evidence_dirty = True


def autosave() -> bool:
    """Save the open matter if anything changed since it was opened or last saved. A save on a
    stale copy is refused (matters.Conflict) and the page says so; nothing is overwritten.
    True when this call found a conflict (the caller reruns to show it)."""
    pk = st.session_state.get("matter_pk")
    if pk is None or st.session_state.get("save_conflict") or "case" not in st.session_state:
        return False
    snap = _snapshot()
    files = {}
    if st.session_state.get("evidence_dirty"):
        files = session_files(st.session_state.case, st.session_state.case_dir)
    if snap == st.session_state.get("saved_snapshot") and not files:
        return False
    saved = st.session_state.get("saved_snapshot") or (None, None, None)
    try:
        v = matters.save_matter(actor(), pk, st.session_state.matter_version,
                                case=st.session_state.case if snap[0] != saved[0] else None,
                                review=review() if snap[1] != saved[1] else None,
                                marks=marks() if snap[2] != saved[2] else None, evidence=files or None)
    except matters.Conflict as exc:
        st.session_state.save_conflict = str(exc)
        return True
    except Forbidden as exc:
        st.session_state.save_conflict = f"Not saved: {exc}"
        return True
    st.session_state.matter_version, st.session_state.saved_snapshot = v, snap
    st.session_state.evidence_dirty = False
    st.session_state.save_status = f"Saved {dt.datetime.now(dt.UTC):%H:%M:%S} UTC, version {v}"
    return False


def session_files(case: casefile.CaseFile, folder: Path) -> dict[str, bytes]:
    """The evidence files the case names, as this session holds them (read only inside `folder`)."""
    out = {}
    for rel in case.evidence.names():
        try:
            path = safepath.inside(folder, rel)
        except safepath.Outside:
            continue
        if path.is_file():
            out[rel] = path.read_bytes()
    return out


def page_viewed(title: str, shows_matter: bool) -> None:
    """Log a view of the open matter each time the user arrives on a page that shows it, or opens
    another matter there."""
    st.session_state.page_title = title
    here = (title, st.session_state.get("matter_pk"))
    if shows_matter and here[1] is not None and st.session_state.get("last_view") != here:
        log("view")
    st.session_state.last_view = here


def show_conflict() -> None:
    """A refused save, on every page until the user reopens the matter (their copy can be downloaded)."""
    msg = st.session_state.get("save_conflict")
    if not msg:
        return
    st.error(md_escape(msg))
    a, b = st.columns(2)
    unsaved = casefile.dumps(st.session_state.case)
    pk = st.session_state.get("matter_pk")

    def copy(c) -> str:
        c.log("export", pk, reason="unsaved copy")
        return unsaved
    download("Download my unsaved copy (case file)", copy, f"{st.session_state.case.matter.id}-unsaved.yaml",
             "application/x-yaml", a, matter_pk=pk)
    if b.button("Reopen the saved matter"):
        open_matter(st.session_state.matter_pk)
        st.rerun()


def ensure_case() -> None:
    """Check the knowledge base (stop with a located error if it is broken) and open the user's
    most recent matter when none is open."""
    try:
        knowledge()
    except AssessmentError as exc:
        show_problems(exc, "The knowledge base does not validate, so no case can be assessed")
        st.stop()
    pk = st.session_state.get("matter_pk")
    if pk is not None and user() is not None:
        if not matters.still_listed(user(), pk):      # access withdrawn, or the matter deleted, since it was opened
            close_matter()
            st.session_state.auto_open = False
            st.warning("The matter that was open has been deleted or your access to it withdrawn; it is closed.")
    if "case" not in st.session_state and user() is not None and st.session_state.get("auto_open", True):
        if not allowed(user().role, "matter.read"):
            return
        rows = matters.list_matters(actor())
        st.session_state.auto_open = False
        resume = st.session_state.pop("resume_pk", None)
        pick = next((r.pk for r in rows if r.pk == resume), rows[0].pk if rows else None)
        if pick is not None:
            try:
                open_matter(pick)
            except AssessmentError as exc:     # a damaged saved matter must not keep the user out of the app
                show_problems(exc, "The most recent matter could not be opened; open another on the Matters page")
    tmpfiles.touch(st.session_state.get("case_dir"), st.session_state.get("work_dir"))
    if notice := st.session_state.pop("open_notice", None):
        st.warning(md_escape(notice))


def case() -> casefile.CaseFile:
    """The open matter's case file; without one, the page says where to open one and stops. Every
    page that shows a matter comes through here, so each checks the role itself."""
    require("matter.read")
    ensure_case()
    if "case" not in st.session_state:
        st.info("No matter is open: open or create one on the Matters page.")
        st.stop()
    return st.session_state.case


def working_dir() -> Path:
    """A private folder for this session's uploads, seeded with the case's current evidence."""
    if "work_dir" not in st.session_state:
        st.session_state.work_dir = tmpfiles.make("clets-session-")
    work = st.session_state.work_dir
    src = st.session_state.case_dir
    if src != work:
        for rel in case().evidence.names():          # copied file to file, only inside both folders
            try:
                source_, target = safepath.inside(src, rel), safepath.inside(work, rel)
            except safepath.Outside:
                continue
            if source_.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source_, target)
    return work


def as_of() -> dt.date:
    return st.session_state.get("as_of", dt.date.today())


def result(progress=None) -> dict:
    """The assessment of the current case (recomputed when the case changes, and when a saved
    edit in any session has changed the knowledge base since it was computed)."""
    generation = kbmod.knowledge_generation()
    if st.session_state.get("result") is None or st.session_state.get("result_generation") != generation:
        c = case()
        plans = st.session_state.get("plans") or {}
        key = json.dumps([c.client.model_dump(mode="json"), [x.model_dump(mode="json") for x in c.subjects],
                          c.evidence.model_dump(mode="json"), str(st.session_state.case_dir),
                          {k: v.model_dump(mode="json") for k, v in sorted(plans.items())}], sort_keys=True)
        if st.session_state.get("evidence_key") != key:   # facts edits do not re-read a large log
            st.session_state.evidence = evidence.analyse(c, st.session_state.case_dir, plans=plans, progress=progress,
                                                         remembered=remembered_mappings())
            st.session_state.evidence_key = key
            st.session_state.memo_charts = _draw_later(st.session_state.evidence)
        ev = st.session_state.evidence
        st.session_state.result = engine.assess(c, knowledge(), as_of=as_of(), ev=ev,
                                                narrative_basis=st.session_state.get("narrative_basis"))
        st.session_state.result_generation = generation
    return st.session_state.result


def remembered_mappings():
    """The column mappings remembered for the open matter and for agencies (mappings.py)."""
    return mappings.remembered(actor(), st.session_state.get("matter_pk"))


_CHART_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="memo-charts")   # its thread starts on first use


def _draw_later(ev):
    """The memo's chart PNGs, drawn in a background thread as soon as the evidence is analysed
    (about a second for a large log), so generating the memo does not wait for them."""
    if ev is None or not ev.events:
        return None
    return _CHART_POOL.submit(charts.memo_charts, ev)


def memo_charts() -> dict[str, bytes]:
    """The memo's charts for the current evidence (waits for the background drawing if needed). A
    drawing that failed (charts.ChartError: a figure without its marks) is raised, and started again
    for the next memo rather than kept."""
    result()
    fut = st.session_state.get("memo_charts")
    if fut is None:
        return {}
    try:
        return fut.result()
    except Exception:
        st.session_state.memo_charts = _draw_later(st.session_state.get("evidence"))
        raise


def evidence_result():
    """The analysed evidence behind the current result (events and shifts for charts), or None."""
    result()
    return st.session_state.get("evidence")


def marks() -> dict[str, dict]:
    """The attorney's marks on events, keyed 'file#row': {'mark': material|disputed|undisputed, 'note'}."""
    return st.session_state.setdefault("marks", {})


def apply_marks(changes: list[tuple[str, dict | None]], editor_key: str) -> None:
    """Put a grid's marks into the matter's marks (saved by autosave): each (key, {"mark", "note"}, or None to
    remove it). An unchanged entry keeps its author; a role that may not make the attorney's judgments adds
    and changes its own marks but not an attorney's, and is told so (the grid is reset to what is kept)."""
    store, me = marks(), user()
    blocked = []
    for k, new in changes:
        old = store.get(k)
        if all(((old or {}).get(f) or "") == ((new or {}).get(f) or "") for f in matters.MARK_FIELDS):
            continue                      # unchanged (mark and note): the mark keeps its author
        if old is not None and not allowed(me.role, "review.write") and matters.marked_by_attorney(old):
            blocked.append(k)            # a paralegal adds marks, but does not change an attorney's
            continue
        if new is None:
            store.pop(k, None)
        else:
            store[k] = {**new, "by": me.id, "by_role": me.role}
    notice = f"{editor_key}_notice"
    if blocked:
        st.session_state.pop(editor_key, None)
        st.session_state[notice] = (f"{len(blocked)} mark(s) an attorney set were left as they were: your role may "
                                    "add marks and change its own, not an attorney's.")
        st.rerun()
    if text := st.session_state.pop(notice, None):
        st.warning(text)


def review():
    """The attorney's review of this case (overrides, notes, sections): see review.py."""
    return st.session_state.setdefault("review", Review())


def may_edit_case() -> bool:
    """The signed-in user's role may change the open matter's case file (matters.py checks again on save)."""
    return user() is not None and allowed(user().role, "matter.write")


def require(action: str) -> None:
    """Stop the page (and log the refusal) unless the signed-in user's role may do `action`."""
    try:
        check_role(user(), action)
    except Forbidden as exc:
        log(action, "page", st.session_state.get("page_title") or "-", reason=exc.why, outcome="denied")
        st.error(f"Your role may not use this page ({exc.why}).")
        st.stop()


def browser_cookie() -> str | None:
    try:
        return st.context.cookies.get(webguard.XSRF_COOKIE)
    except Exception:  # noqa: BLE001 - no browser (AppTest)
        return None


def own_browser() -> str | None:
    """This browser's id from the guard's HTTP-only cookie (webguard.BROWSER_COOKIE), or None."""
    try:
        jar = st.context.cookies
        return jar.get(webguard.SECURE_BROWSER_COOKIE) or jar.get(webguard.BROWSER_COOKIE)
    except Exception:  # noqa: BLE001 - no browser (AppTest)
        return None


def download(label: str, make, file_name: str, mime: str, container=st, *, matter_pk: int | None = None,
             **kwargs) -> None:
    """A download button whose file is made, checked and logged only when it is clicked, for a
    session still signed in (exports.make_for_session: `make` gets a matters.Ctx); the web server
    then hands the file only to this browser's session, for `matter_pk` if given (webguard)."""
    token, src, place = st.session_state.get("auth_token"), source(), st.session_state.get("page_title", "")
    cookie = browser_cookie()

    def deferred() -> bytes:
        data = exports.make_for_session(token, make, source=src, place=place)
        webguard.grant(data, mime, file_name, token, cookie, matter_pk)
        return data

    container.download_button(label, deferred, file_name=file_name, mime=mime, **kwargs)


def log(event: str, object_type: str = "matter", object_id="", reason: str = "", outcome: str = "success") -> None:
    """One access-log row for something the user did on this page."""
    access_log.append(actor(), event, object_type=object_type,
                      object_id=object_id if object_id != "" else st.session_state.get("matter_pk", ""),
                      reason=reason, outcome=outcome)


def result_or_stop(what: str) -> dict:
    """The assessment, or a located error on the page and nothing more."""
    case()                        # the role check, and a matter must be open
    try:
        return result()
    except AssessmentError as exc:
        show_problems(exc, what)
        st.stop()


def literal(lines: list[str]) -> str:
    """Lines shown exactly as they are, as a list of code spans (they wrap) whose backtick fence is
    longer than any run of backticks inside: a file name or a value from a file is text, never
    Markdown (no link or image)."""
    out = []
    for line in lines:
        line = " ".join(line.splitlines())
        fence = "`" * (1 + max((len(run) for run in re.findall(r"`+", line)), default=0))
        pad = " " if line.startswith("`") or line.endswith("`") else ""
        out.append(f"- {fence}{pad}{line}{pad}{fence}")
    return "\n".join(out)


def show_problems(exc: AssessmentError, what: str) -> None:
    st.error(f"{md_escape(what)}. Nothing was changed.\n\n" + literal([str(p) for p in exc.problems]))


HIGHLIGHT = {"STATUTE": "blue", "CASE_CITE": "blue", "DATE": "green", "PERSON": "violet", "MONEY": "orange",
             "PLATE": "red", "CASE_NUMBER": "orange", "OPERATOR_ID": "red", "TERMINAL": "red", "ORI": "gray"}
_MD_SPECIAL = set("\\`*_{}[]()#+-.!|<>$~:&")


def md_escape(text: str) -> str:
    """Case text as literal Markdown: every character Markdown or Streamlit could interpret is escaped."""
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in text).replace("\n", "  \n")


def highlight(text: str, entities: list[dict]) -> str:
    """The narrative with each entity on a coloured background and its label after it (escaped Markdown,
    never HTML)."""
    out, pos = [], 0
    for e in sorted(entities, key=lambda e: e["start"]):
        if e["start"] < pos:
            continue
        out.append(md_escape(text[pos:e["start"]]))
        out.append(f":{HIGHLIGHT.get(e['label'], 'gray')}-background[{md_escape(text[e['start']:e['end']])}"
                   f" *{e['label']}*]")
        pos = e["end"]
    out.append(md_escape(text[pos:]))
    return "".join(out)
