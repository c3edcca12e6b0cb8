"""The red team's findings of 2026-12-01 (issue 13), each reproduced as the attack it was and
refused now. H3 (the access log) is in test_access_log.py, M5's data-folder modes and L5's
damaged database in test_db.py, M6 in test_matters.py, H4 in test_templates.py, M1-M4 in
test_accounts.py and test_app_access.py, M7 and M11 (and H2 in a real browser) in
test_browser.py, M10 and L3 in test_audit_shapes.py and test_bad_input.py."""
import asyncio
import datetime as dt
import hashlib
import json
import os
import re
import secrets

import pytest
from sqlalchemy import select, text
from streamlit.testing.v1 import AppTest

from assessment.app import state as ui
from assessment.app import webguard
from assessment.core import casefile, safepath
from assessment.core.errors import AssessmentError
from assessment.core.review import Review
from assessment.evidence import analyse as evidence
from assessment.evidence import mappings, sniff
from assessment.firm import access_log, blobs, crypto, db, exports, keys, logins, matters, sessions, tmpfiles
from assessment.firm.permissions import Forbidden
from assessment.firm.tables import Blob, EvidenceFile, LoginSession, Matter, User
from assessment.memo import archive as memo_archive

from conftest import DEMO, PASSWORD, ROOT, case_text, make_user, run_cli, sign_in

APP = str(ROOT / "streamlit_app.py")


def ctx(s, name):
    return matters.Ctx(s, s.execute(select(User).where(User.username == name)).scalar_one(), "test", "test")


def new_matter(name: str, ref: str, title: str = "People v. Test") -> int:
    with db.session() as s:
        case = casefile.loads(case_text(matter=f'matter:\n  id: "{ref}"\n  title: "{title}"\n  stage: charged'))
        return matters.create(ctx(s, name), case, {"audit.csv": (DEMO / "off-duty-lookups" / "audit.csv").read_bytes()})


def denied_rows():
    with db.session() as s:
        return [(r.actor, r.event, r.reason) for r in access_log.query(s, outcome="denied")]


# ---- C1: upload names are paths ---------------------------------------------------------------------
def test_c1_an_upload_named_as_a_path_is_refused_and_nothing_is_written_outside(tmp_path):
    make_user("ann", "attorney")
    at = sign_in(AppTest.from_file(APP, default_timeout=90))
    at.run()
    at.switch_page("assessment/app/pages/evidence.py")
    at.run()
    before = at.session_state.case.evidence
    target = tmp_path / "planted" / "X.csv"
    target.parent.mkdir()
    name = "../" * 12 + str(target).lstrip("/")
    at.get("file_uploader")[0].upload(name, b"Timestamp,Operator\n2025-01-01 10:00,OP1\n", "text/csv")
    next(b for b in at.button if b.label == "Load evidence").click().run()
    assert not at.exception, at.exception
    assert not target.exists() and not list(tmp_path.rglob("X.csv"))        # nothing written anywhere
    assert any("EV004" in e.value and "names a folder" in e.value for e in at.error)
    assert at.session_state.case.evidence == before and not at.session_state.get("evidence_dirty")
    with db.session() as s:
        assert access_log.query(s, event="upload")[0].reason == "refused: EV004"
        assert s.execute(select(EvidenceFile.name)).scalars().all().count(name) == 0


@pytest.mark.parametrize("name, why", [
    ("../x.csv", "names a folder"), ("a/b.csv", "names a folder"), ("..", "not a file name"),
    ("x\x00.csv", "control character"), ("x\n.csv", "control character"), ("C:\\x.csv", "backslash"),
    ("audit.csv:stream", "colon"), ("", "empty"), ("x" * 300, "longer than"),
])
def test_c1_upload_names_must_be_plain_file_names(name, why):
    assert why in safepath.upload_problem(name)
    assert safepath.upload_problem("audit (1).csv") is None and safepath.upload_problem("Jüngling log.xlsx") is None


def test_c1_a_stored_bad_name_does_not_lock_users_out_of_the_matter(tmp_path):
    """The red team's name was autosaved, and every later sign-in on the matter failed. A name an
    earlier version stored is skipped when the matter's files are written out; the app opens."""
    make_user("ann", "attorney")
    with db.session() as s:
        pk = s.execute(select(Matter.id).where(Matter.ref == "DEMO-001")).scalar_one()
        sha = s.execute(select(EvidenceFile.sha256).where(EvidenceFile.matter_id == pk)).scalars().first()
        s.add(EvidenceFile(matter_id=pk, name="../../../../tmp/evil.csv", sha256=sha, size=1))
    folder = tmp_path / "open"
    folder.mkdir()
    with db.session() as s:
        written = matters.materialize(ctx(s, "ann"), pk, folder)
    assert "../../../../tmp/evil.csv" not in written and "audit.csv" in written
    assert not (tmp_path.parent / "tmp" / "evil.csv").exists()
    at = sign_in(AppTest.from_file(APP, default_timeout=90))
    at.run()
    assert not at.exception and at.title[0].value == "Matters"


def test_c1_a_case_file_saved_with_a_bad_name_still_opens_without_it():
    """The autosave also wrote the name into the case file's text, which the model now refuses:
    the matter opens without that name, and says so."""
    make_user("ann", "attorney")
    with db.session() as s:
        m = s.execute(select(Matter).where(Matter.ref == "DEMO-001")).scalar_one()
        assert "audit_logs:\n    - audit.csv" in m.casefile
        m.casefile = m.casefile.replace("audit_logs:\n    - audit.csv",
                                        "audit_logs:\n    - ../../../../tmp/evil.csv\n    - ./audit.csv")
        pk = m.id
    with db.session() as s:
        opened = matters.open_(ctx(s, "ann"), pk)
    assert opened.case.evidence.audit_logs == ["audit.csv"] and opened.dropped == ["../../../../tmp/evil.csv"]
    at = sign_in(AppTest.from_file(APP, default_timeout=90))
    at.run()
    assert not at.exception and any("not allowed" in w.value for w in at.warning)


# ---- C2: the ethical wall through the memo archive --------------------------------------------------
def test_c2_a_memo_is_kept_with_its_matter_and_read_only_through_its_wall():
    """Bob made a matter whose id differs from Alice's walled one only in punctuation and
    downloaded her memo from the shared folder name. Memos are now keyed by the matter's database
    key and every read passes the wall."""
    make_user("alice", "attorney", demo=False)
    make_user("bob", "attorney", demo=False)
    alice_pk = new_matter("alice", "ALICE SECRET/2025")
    bob_pk = new_matter("bob", "ALICE_SECRET_2025")
    with db.session() as s:
        rec = memo_archive.store(ctx(s, "alice"), alice_pk, b"alice's privileged memo", inputs="0" * 64,
                                 template_sha="1" * 64, template_version="built-in", review=Review(notes="secret"))
    with db.session() as s:
        assert memo_archive.records(ctx(s, "bob"), bob_pk) == []
        with pytest.raises(matters.NotFound):                    # her memo's id, under his own matter
            memo_archive.read(ctx(s, "bob"), bob_pk, rec.id)
    with pytest.raises(Forbidden, match="not listed"):          # her memo under her matter: the wall
        with db.session() as s:
            memo_archive.read(ctx(s, "bob"), alice_pk, rec.id)
    with pytest.raises(Forbidden):
        with db.session() as s:
            memo_archive.records(ctx(s, "bob"), alice_pk)
    assert any(a.endswith(":bob") for a, _, _ in denied_rows())
    with db.session() as s:
        assert memo_archive.read(ctx(s, "alice"), alice_pk, rec.id) == b"alice's privileged memo"
        export = access_log.query(s, event="export")[0]
    assert export.object_id == str(alice_pk) and export.reason == f"memo {rec.id} (docx)"   # her matter, by its key
    with db.engine().connect() as conn:                          # and at rest it is encrypted
        stored = bytes(conn.execute(text("SELECT content FROM blobs WHERE sha256 = :h"),
                                    {"h": hashlib.sha256(b"alice's privileged memo").hexdigest()}).scalar_one())
    assert crypto.is_sealed(stored) and b"privileged" not in stored


# ---- H1: evidence paths in a case file ----------------------------------------------------------------
@pytest.mark.parametrize("name", ["/etc/passwd", "../clets-matter-1234-x/audit.csv", "logs/../../x.csv",
                                  "C:\\evidence\\x.csv", "audit\x00.csv", "//host/share/x.csv", "logs//x.csv"])
def test_h1_a_case_file_naming_a_server_file_is_refused_in_the_model(name):
    text_ = case_text(evidence="evidence:\n  audit_logs: [" + json.dumps(name) + "]")
    with pytest.raises(AssessmentError) as err:
        casefile.loads(text_, "case.yaml")
    (p,) = err.value.problems
    assert p.code == "CF006" and p.field == "evidence.audit_logs[0]"
    assert p.line == text_.splitlines().index("evidence:") + 2
    assert "exist" not in p.message                  # says nothing of whether the path exists


def test_h1_a_yaml_only_import_naming_server_files_is_refused():
    data = case_text(evidence="evidence:\n  audit_logs: [/etc/passwd]\n  shifts: ../other/shifts.csv").encode()
    with pytest.raises(AssessmentError) as err:
        matters.read_upload(data, "import.yaml")
    assert [p.field for p in err.value.problems] == ["evidence.audit_logs[0]", "evidence.shifts[0]"]


def test_h1_reads_stay_inside_the_case_folder_and_errors_name_no_server_path(tmp_path):
    case_dir = tmp_path / "matter"
    case_dir.mkdir()
    outside = tmp_path / "other-matter-audit.csv"
    outside.write_bytes((DEMO / "off-duty-lookups" / "audit.csv").read_bytes())
    (case_dir / "audit.csv").symlink_to(outside)              # a link planted inside the folder
    case = casefile.loads(case_text(evidence="evidence:\n  audit_logs: [audit.csv]"))
    with pytest.raises(AssessmentError) as err:
        evidence.analyse(case, case_dir)
    (p,) = err.value.problems
    assert p.code == "CF006" and p.file == "audit.csv" and str(tmp_path) not in str(p)
    (case_dir / "audit.csv").unlink()
    with pytest.raises(AssessmentError) as err:
        evidence.analyse(case, case_dir)
    assert err.value.problems[0].message == "evidence file not found" and str(tmp_path) not in str(err.value.problems[0])


# ---- H2 and M11: exports and downloads after the session ---------------------------------------------
def _signed_in(name: str) -> str:
    with db.session() as s:
        result = logins.sign_in(s, name, PASSWORD)
    assert result.ok
    return result.token


def test_h2_an_export_clicked_after_the_session_ended_is_refused_and_logged():
    make_user("ann", "attorney")
    with db.session() as s:
        pk = s.execute(select(Matter.id).where(Matter.ref == "DEMO-001")).scalar_one()
    made = []

    def bundle(c):
        made.append(c.user.username)
        return matters.export_bundle(c, pk)
    token = _signed_in("ann")
    assert exports.make_for_session(token, bundle, source="test", place="Matters")[:2] == b"PK" and made == ["ann"]
    with db.session() as s:                        # the page sat open past the idle limit
        row = s.get(LoginSession, sessions.token_sha(token))
        row.last_seen_at -= dt.timedelta(minutes=31)
    with pytest.raises(exports.ExportRefused, match="Locked after 30 minutes"):
        exports.make_for_session(token, bundle, source="test", place="Matters")
    token = _signed_in("ann")
    with db.session() as s:                        # or the account was disabled meanwhile
        s.execute(select(User).where(User.username == "ann")).scalar_one().disabled = True
    with pytest.raises(exports.ExportRefused):
        exports.make_for_session(token, bundle, source="test", place="Matters")
    assert made == ["ann"]                          # nothing was made after the first
    with db.session() as s:
        refusals = [r.reason for r in access_log.query(s, event="export", outcome="denied")]
    assert len(refusals) == 2 and all(r.startswith("the session is over") for r in refusals)


def _cookie(token_bytes: bytes) -> str:
    from streamlit.web.server.starlette.starlette_app_utils import generate_xsrf_token_string
    return generate_xsrf_token_string(token_bytes)


def _through_guard(path: str, headers: list, answer: list, scheme: str = "http") -> dict:
    """The start of the answer to a GET through webguard.Guard, in front of a server that would hand
    out every file with the headers `answer`."""
    async def inner(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": answer})
        await send({"type": "http.response.body", "body": b"the file"})
    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b""}
    asyncio.run(webguard.Guard(inner)({"type": "http", "path": path, "headers": headers, "scheme": scheme,
                                       "client": ("10.0.0.9", 1)}, receive, send))
    assert (b"content-security-policy", webguard.CSP.encode()) in sent[0]["headers"]
    return sent[0]


def _fetch(path: str, cookie: str | None) -> int:
    headers = [(b"cookie", f"{webguard.XSRF_COOKIE}={cookie}".encode())] if cookie else []
    return _through_guard(path, headers, [])["status"]


def test_h2_media_is_handed_only_to_the_signed_in_browser_it_was_granted_to(monkeypatch):
    make_user("ann", "attorney")
    with db.session() as s:
        pk = s.execute(select(Matter.id).where(Matter.ref == "DEMO-001")).scalar_one()
    token, cookie, other = _signed_in("ann"), _cookie(b"A" * 16), _cookie(b"B" * 16)
    data = b"memo bytes"
    file_id = webguard.media_id(data, "application/pdf", "memo.pdf")
    monkeypatch.setattr(webguard, "_is_download", lambda fid: fid == file_id)
    download, image = f"/media/{file_id}.pdf", "/media/0123abcd.png"
    webguard.bind(cookie, token)
    assert _fetch(download, cookie) == 404                      # a download nobody was granted
    webguard.grant(data, "application/pdf", "memo.pdf", token, cookie, pk)
    assert _fetch(download, cookie) == 200                      # this browser, this session, this matter
    assert _fetch(download, None) == 404                        # no cookie
    assert _fetch(download, other) == 404                       # another browser
    assert _fetch(image, cookie) == 200 and _fetch(image, None) == 404
    assert _fetch("/static/media/MaterialSymbols-Rounded.woff2", None) == 200      # the app's own files: for all
    with db.session() as s:                                     # access withdrawn: the grant is worth nothing
        root = make_user("root", "admin", demo=False)
        matters.grant(matters.Ctx(s, root), pk, root)
        matters.revoke(matters.Ctx(s, root), pk, ctx(s, "ann").user)
    assert _fetch(download, cookie) == 404
    with db.session() as s:
        sessions.sign_out(s, token)
    webguard.unbind(token)
    assert _fetch(image, cookie) == 404                         # signed out: nothing at all
    with db.session() as s:
        reasons = [r.reason for r in access_log.query(s, event="export", outcome="denied")]
    assert "download refused: not listed on the matter" in reasons
    assert "download refused: another browser, or the grant has expired" in reasons


def _answer(path: str, headers: list, scheme: str = "http") -> list[tuple[bytes, bytes]]:
    """The headers of one answer, from a server answering HTML for the app's pages and a cacheable
    script for a static file."""
    kind = [(b"content-type", b"text/html; charset=utf-8")] if not path.startswith("/static/") else [
        (b"content-type", b"application/javascript"), (b"cache-control", b"public, immutable, max-age=31536000")]
    return _through_guard(path, headers, kind, scheme)["headers"]


def _set_cookies(headers) -> list[bytes]:
    return [v for k, v in headers if k == b"set-cookie"]


def test_a_browser_gets_an_http_only_id_on_the_page_only_and_never_on_a_cached_file():
    page = _answer("/", [])
    (first,) = _set_cookies(page)
    assert first.startswith(b"clets_browser=") and b"HttpOnly" in first and b"SameSite=Strict" in first
    assert b"Secure" not in first and b"Expires" not in first and b"Max-Age" not in first    # a session cookie
    assert (b"cache-control", b"no-store") in page
    assert _set_cookies(_answer("/static/js/main.js", [])) == []           # a cache would hand it to everyone
    (secure,) = _set_cookies(_answer("/", [], scheme="https"))
    assert secure.startswith(b"__Host-clets_browser=") and b"; Secure" in secure   # no subdomain can plant it
    (proxied,) = _set_cookies(_answer("/facts", [(b"x-forwarded-proto", b"https")]))
    assert proxied.startswith(b"__Host-clets_browser=")
    browser = first.split(b";")[0].split(b"=", 1)[1].decode()
    assert _set_cookies(_answer("/", [(b"cookie", f"{webguard.BROWSER_COOKIE}={browser}".encode())])) == []


def test_a_browser_holds_one_session_a_reload_takes_it_up_and_sign_out_forgets_it():
    make_user("ann", "attorney")
    make_user("pat", "paralegal", demo=False)
    browser = secrets.token_urlsafe(32)              # the guard's memory is the process's: a browser of its own
    ann = _signed_in("ann")
    assert webguard.remember(browser, ann) is None
    webguard.note_matter(browser, ann, 7)
    assert webguard.resume(browser) == (ann, 7)
    assert webguard.resume(secrets.token_urlsafe(32)) == (None, None)      # another browser
    assert webguard.resume("short") == (None, None) and webguard.resume(None) == (None, None)
    pat = _signed_in("pat")
    assert webguard.remember(browser, pat) == ann                          # the caller ends ann's session
    webguard.note_matter(browser, ann, 9)                                  # ann's old tab changes nothing
    assert webguard.resume(browser) == (pat, None)
    assert webguard.forget(browser) == pat                                 # sign-out
    assert webguard.resume(browser) == (None, None)
    webguard.remember(browser, pat)
    webguard.unbind(pat)                                                   # the session ended: nothing to take up
    assert webguard.resume(browser) == (None, None)


# ---- L1, L2 -----------------------------------------------------------------------------------------
def test_l1_an_id_taken_behind_a_wall_is_not_revealed():
    make_user("alice", "attorney", demo=False)
    make_user("bob", "attorney", demo=False)
    new_matter("alice", "2025-0142")
    with pytest.raises(AssessmentError) as err:
        new_matter("bob", "2025-0142")
    message = str(err.value.problems[0])
    assert "cannot be used" in message and "exist" not in message and "deleted" not in message
    assert any(a.endswith(":bob") and "behind a wall" in r for a, _, r in denied_rows())
    with pytest.raises(AssessmentError, match="already exists"):           # her own: she is told plainly
        new_matter("alice", "2025-0142")


def attorney_and_paralegal() -> int:
    """ann (attorney) with the demo matters, and pat (paralegal) listed on DEMO-001; its key."""
    make_user("ann", "attorney")
    make_user("pat", "paralegal", demo=False)
    root = make_user("root", "admin", demo=False)
    with db.session() as s:
        pk = s.execute(select(Matter.id).where(Matter.ref == "DEMO-001")).scalar_one()
        matters.grant(matters.Ctx(s, root), pk, ctx(s, "pat").user)
    return pk


def test_l2_a_paralegal_adds_marks_but_does_not_change_the_attorneys():
    pk = attorney_and_paralegal()
    with db.session() as s:
        v = matters.version(ctx(s, "ann"), pk)
        attorney_mark = {"mark": "disputed", "note": "client was home", "by": 1, "by_role": "attorney"}
        v = matters.save(ctx(s, "ann"), pk, v, marks={"audit.csv#5": attorney_mark})
    own = {"mark": "material", "note": "", "by": 2, "by_role": "paralegal"}
    with db.session() as s:
        v = matters.save(ctx(s, "pat"), pk, v, marks={"audit.csv#5": attorney_mark, "audit.csv#9": own})
        v = matters.save(ctx(s, "pat"), pk, v, marks={"audit.csv#5": attorney_mark,
                                                     "audit.csv#9": {**own, "mark": "undisputed"}})
    for changed in ({"audit.csv#9": own},                                           # removed
                    {"audit.csv#5": {**attorney_mark, "mark": "undisputed", "by_role": "paralegal"}}):
        with pytest.raises(Forbidden, match="attorney's marks"):
            with db.session() as s:
                matters.save(ctx(s, "pat"), pk, v, marks=changed)
    # the review's takeover in two saves: first claim the attorney's mark as one's own, then change it
    with db.session() as s:
        v = matters.save(ctx(s, "pat"), pk, v, marks={"audit.csv#5": {**attorney_mark, "by": 2, "by_role": "paralegal"},
                                                     "audit.csv#9": {**own, "mark": "undisputed"}})
    with pytest.raises(Forbidden):
        with db.session() as s:
            matters.save(ctx(s, "pat"), pk, v, marks={"audit.csv#5": {**attorney_mark, "mark": "undisputed"},
                                                     "audit.csv#9": {**own, "mark": "undisputed"}})
    with db.session() as s:
        saved = json.loads(s.get(Matter, pk).marks)
    assert saved["audit.csv#5"] == {**attorney_mark, "by": ctx(s, "ann").user.id}     # the server names the author
    assert saved["audit.csv#9"]["mark"] == "undisputed" and saved["audit.csv#9"]["by_role"] == "paralegal"


def test_a_refused_save_writes_nothing_of_itself():
    """A paralegal's save of a new title together with a change to an attorney's mark: refused as a
    whole (the review found the title committed, the version unchanged and no update row)."""
    pk = attorney_and_paralegal()
    with db.session() as s:
        v = matters.save(ctx(s, "ann"), pk, matters.version(ctx(s, "ann"), pk),
                         marks={"audit.csv#5": {"mark": "disputed", "note": ""}})
        opened = matters.open_(ctx(s, "pat"), pk)
    renamed = opened.case.model_copy(update={"matter": opened.case.matter.model_copy(update={"title": "Renamed"})})
    with pytest.raises(Forbidden):
        with db.session() as s:
            matters.save(ctx(s, "pat"), pk, v, case=renamed, marks={"audit.csv#5": {"mark": "material", "note": ""}})
    with db.session() as s:
        m = s.get(Matter, pk)
        assert (m.title, m.version) == ("People v. Riley Tran", v)
        assert [r.outcome for r in access_log.query(s, event="update", object_id=pk)][:1] == ["success"]


# ---- L4 ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("peer, forwarded, trusted, shown", [
    ("203.0.113.5", "198.51.100.7", set(), "203.0.113.5"),                        # a header from anyone: ignored
    ("10.0.0.2", "198.51.100.7, 10.0.0.9", {"10.0.0.2", "10.0.0.9"}, "198.51.100.7 via 10.0.0.2"),
    ("10.0.0.2", "1.2.3.4, 198.51.100.7", {"10.0.0.2"}, "198.51.100.7 via 10.0.0.2"),    # the spoofed first entry
    (None, None, set(), "unknown"),
])
def test_l4_the_client_address_believes_only_the_firms_own_proxy(peer, forwarded, trusted, shown):
    assert ui.resolve_client(peer, forwarded, trusted) == shown


def test_l4_app_log_rows_name_the_session_and_the_tab():
    make_user("ann", "attorney")
    at = sign_in(AppTest.from_file(APP, default_timeout=90))
    at.run()
    with db.session() as s:
        view = access_log.query(s, event="view", actor=":ann")[0]
    assert re.fullmatch(r"session \S+, tab [0-9a-f]{8}, \S+", view.source), view.source


# ---- L5: the first administrator's password -----------------------------------------------------------
def test_l5_the_first_password_goes_to_a_terminal_only():
    from assessment.cli import firstrun
    creds = ("admin", "correct-horse-battery-42")
    assert "correct-horse-battery-42" in firstrun.announce(creds, "http://127.0.0.1:8501", terminal=True)
    logged = firstrun.announce(creds, "http://127.0.0.1:8501", terminal=False)
    assert "correct-horse-battery-42" not in logged
    path = db.data_dir() / "first-admin-password.txt"
    assert str(path) in logged and "correct-horse-battery-42" in path.read_text()
    assert path.stat().st_mode & 0o777 == 0o600


# ---- M5: temporary copies ---------------------------------------------------------------------------
def test_m5_evidence_copies_live_in_the_private_tmp_and_go_with_the_session():
    make_user("ann", "attorney")
    at = sign_in(AppTest.from_file(APP, default_timeout=90))
    at.run()
    folder = at.session_state.case_dir
    assert tmpfiles.owns(folder) and (folder / "audit.csv").exists()
    assert folder.parent.stat().st_mode & 0o777 == 0o700
    next(b for b in at.button if b.label == "Sign out").click().run()
    assert not folder.exists()


def test_m5_the_sweep_removes_what_dead_processes_and_closed_tabs_left():
    dead = tmpfiles.root() / "clets-matter-999999999-abc"           # no such process
    dead.mkdir()
    stale = tmpfiles.make("clets-session-")                          # this process, untouched for an hour
    os.utime(stale, (0, dt.datetime.now().timestamp() - 3600))
    live = tmpfiles.make("clets-matter-")
    assert tmpfiles.sweep() == 2
    assert not dead.exists() and not stale.exists() and live.exists()


# ---- M8: Markdown injection ----------------------------------------------------------------------------
UNESCAPED = re.compile(r"(?<!\\)\]\((?:https?:)?//|(?<!\\)!\[")


def _outside_code(text_: str) -> str:
    """The Markdown outside code spans (whose content is shown as it is)."""
    return re.sub(r"(`+)(?:(?!\1).)*?\1", "", text_)


def _shown(at) -> list[str]:
    out = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success", "title", "subheader", "header"):
        out += [e.value for e in at.get(kind)]
    out += [e.label for e in at.get("expander")]
    return out


def test_m8_names_from_users_and_files_are_shown_as_text_never_as_markdown():
    make_user("ann", "attorney", demo=False)
    evil = "![x](https://evil.example/p.png?c=1)"
    case = casefile.loads(case_text(
        matter=f'matter:\n  id: "M8-1"\n  title: "{evil} v. [link](https://evil.example)"\n  stage: charged',
        client=f'client:\n  name: "{evil}"\n  role: dispatcher\n  operator_ids: [OP1]',
        evidence="evidence:\n  audit_logs: [\"![a](x).csv\"]"))
    log = b"Timestamp,Operator ID,Terminal,Name\n2025-01-01 10:00:00,OP1,T1,\"![n](https://evil.example/n)\"\n"
    with db.session() as s:
        matters.create(ctx(s, "ann"), case, {"![a](x).csv": log})
    at = sign_in(AppTest.from_file(APP, default_timeout=90))
    at.run()
    for name in ("cases", "evidence", "assessment_view", "memo_view"):
        at.switch_page(f"assessment/app/pages/{name}.py")
        at.run()
        assert not at.exception, (name, at.exception)
        bad = [v for v in _shown(at) if UNESCAPED.search(_outside_code(v))]
        assert not bad, (name, bad)


# ---- M9: remembered column mappings --------------------------------------------------------------------
def test_m9_a_mapping_remembered_on_one_matter_never_changes_another_matters_findings():
    make_user("ann", "attorney")
    make_user("bob", "attorney", demo=False)
    make_user("root", "admin", demo=False)
    bob_pk = new_matter("bob", "BOB-1")
    with db.session() as s:
        ann_pk = s.execute(select(Matter.id).where(Matter.ref == "DEMO-001")).scalar_one()
    plan = sniff.sample(DEMO / "off-duty-lookups" / "audit.csv", sniff.AUDIT_HEADERS).plan
    wrong = plan.model_copy(update={"columns": {**plan.columns, "operator": plan.columns["terminal"]}})
    with db.session() as s:
        mappings.save_for_matter(ctx(s, "ann"), ann_pk, wrong)
    with db.session() as s:
        assert mappings.load(ctx(s, "bob"), bob_pk).find("CA0190000", mappings.signature_sha(plan)) is None
    with pytest.raises(Forbidden):                                   # an attorney cannot set one for an agency
        with db.session() as s:
            mappings.save_for_agency(ctx(s, "ann"), "CA0190000", wrong)
    with db.session() as s:
        mappings.save_for_agency(ctx(s, "root"), "CA0190000", wrong)
        found = mappings.load(ctx(s, "bob"), bob_pk).find("CA0190000", mappings.signature_sha(plan))
        rows = [(r.actor, r.reason) for r in access_log.query(s, event="mapping-save")]
    assert found[0] == "agency CA0190000" and found[1]["saved_by"] == "Root"
    assert [a.split(":")[1] for a, _ in rows] == ["root", "ann"] and "all matters" in rows[0][1]
    with db.session() as s:
        remembered = mappings.load(ctx(s, "bob"), bob_pk)
    applied = mappings.plan_for(DEMO / "off-duty-lookups" / "audit.csv", sniff.AUDIT_HEADERS, "CA0190000",
                                remembered=remembered)
    assert applied.source.startswith("remembered for agency CA0190000 (Root on ")     # shown, never silent
    assert any(a.endswith(":ann") and e == "agency" for a, e, _ in denied_rows())


# ---- encryption at rest and the key file -----------------------------------------------------------------
def test_stored_files_are_encrypted_and_rotation_re_encrypts_every_one():
    make_user("ann", "attorney")
    with db.engine().connect() as conn:
        contents = [bytes(c) for c in conn.execute(text("SELECT content FROM blobs")).scalars()]
    assert contents and all(crypto.is_sealed(c) and crypto.key_id(c) == "k1" for c in contents)
    assert not any(b"Timestamp" in c or b"PK\x03\x04" in c for c in contents)
    out = run_cli("keys", "rotate")
    assert out.returncode == 0 and "data key k2 is active" in out.stdout, out.stderr
    k = keys.load()
    assert list(k.data_keys) == ["k2"] and k.retired == ("k1",)
    with db.engine().connect() as conn:
        assert {crypto.key_id(bytes(c)) for c in conn.execute(text("SELECT content FROM blobs")).scalars()} == {"k2"}
    with db.session() as s:
        pk = s.execute(select(Matter.id).where(Matter.ref == "DEMO-001")).scalar_one()
        assert matters.evidence_bytes(ctx(s, "ann"), pk, "audit.csv") == (DEMO / "off-duty-lookups" / "audit.csv").read_bytes()
        assert access_log.query(s, event="key-rotate")[0].object_id == "k2"
    status = run_cli("keys", "status")
    assert "active data key k2" in status.stdout and "k2 " in status.stdout.splitlines()[1]


def test_a_new_log_key_chains_the_rows_from_the_next_one_and_both_verify():
    """A backup carries the log keys: after one is exposed, `keys rotate --log` starts a new key."""
    make_user("ann", "attorney", demo=False)
    with db.session() as s:
        before = access_log.count(s)
    out = run_cli("keys", "rotate", "--log")
    assert out.returncode == 0 and f"from row {before + 1}" in out.stdout, out.stderr
    k = keys.load()
    assert [start for start, _ in k.log_keys] == [1, before + 1] and k.log_keys[0][1] != k.log_keys[1][1]
    with db.session() as s:
        access_log.record(s, actor="1:ann", event="view")
    with db.session() as s:
        assert access_log.verify(s)[0] == []
        rows = access_log.query(s)
    last = rows[0]
    values = {f: getattr(last, f) for f in access_log.FIELDS}
    assert last.hash == access_log._hash(last.prev_hash, values, k.log_keys[1][1])
    assert last.hash != access_log._hash(last.prev_hash, values, k.log_keys[0][1])


def test_a_key_file_of_another_database_is_refused(tmp_path, monkeypatch):
    make_user("ann", "attorney", demo=False)
    mine = keys.path()
    monkeypatch.setenv("CLETS_DATA_DIR", str(tmp_path / "other"))       # another database, the same key file
    from conftest import new_database
    new_database(monkeypatch)
    with pytest.raises(AssessmentError) as err:
        db.engine()
    assert err.value.problems[0].code == "KEY009" and err.value.problems[0].file == str(mine)


def test_without_a_setting_each_database_has_its_own_key_file(tmp_path, monkeypatch):
    monkeypatch.delenv("CLETS_KEY_FILE")
    monkeypatch.delenv("CLETS_LOG_HEADS")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    first = keys.path()
    monkeypatch.setenv("CLETS_DATA_DIR", str(tmp_path / "second"))
    second = keys.path()
    assert first != second and first.parent == second.parent == tmp_path / "config" / "clets-defense"
    assert keys.heads_path().name == second.name.replace("keys", "log-heads").replace(".json", ".jsonl")


def test_files_stored_before_encryption_are_sealed_at_start():
    make_user("ann", "attorney", demo=False)
    plain = b"Timestamp,Operator\n2025-01-01,OP1\n"
    sha = hashlib.sha256(plain).hexdigest()
    with db.engine().begin() as conn:        # as an earlier version stored it
        conn.execute(text("INSERT INTO blobs (sha256, size, content) VALUES (:h, :n, :c)"),
                     {"h": sha, "n": len(plain), "c": plain})
    db.dispose_all()
    db.engine()
    with db.session() as s:
        assert crypto.is_sealed(s.get(Blob, sha).content) and blobs.get(s, sha) == plain


def _old_memo(root, folder: str, matter: str, when: dt.datetime, file: str = "m.docx", data: bytes = b"old memo"):
    """A memo as the version before this one kept it: a file and a line in the folder's index.jsonl."""
    d = root / "memos" / folder
    d.mkdir(parents=True, exist_ok=True)
    stamp = when.strftime("%Y%m%dT%H%M%S.%fZ")
    if data is not None:
        (d / file).write_bytes(data)
    with open(d / "index.jsonl", "a") as fh:
        fh.write(json.dumps({"time": stamp, "matter": matter, "file": file, "generated_by": "Ann",
                             "inputs_sha": "0" * 64, "template_sha": "1" * 64, "template_version": "built-in",
                             "sections": [], "overrides": 0, "pdf": None}) + "\n")


def test_memos_and_templates_kept_as_files_by_the_earlier_version_move_into_the_database():
    from assessment.memo import legacy
    from assessment.memo import templates as template_store
    make_user("ann", "attorney")
    root = db.data_dir()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    _old_memo(root, "DEMO-001", "DEMO-001", later)
    data = template_store.builtin().read_bytes()
    (root / "templates" / "versions").mkdir(parents=True)
    (root / "templates" / "versions" / "v.docx").write_bytes(data)
    (root / "templates" / "log.jsonl").write_text(json.dumps({
        "time": "20261130T090000.000001Z", "author": "Dana", "reason": "letterhead", "name": "firm.docx",
        "sha": hashlib.sha256(data).hexdigest(), "file": "versions/v.docx"}) + "\n")
    assert legacy.import_data_folder() == {"templates": 1, "memos": 1}
    assert not (root / "memos").exists() and not (root / "templates").exists()     # no plain copy stays
    with db.session() as s:
        pk = s.execute(select(Matter.id).where(Matter.ref == "DEMO-001")).scalar_one()
        (rec,) = memo_archive.records(ctx(s, "ann"), pk)
        assert memo_archive.read(ctx(s, "ann"), pk, rec.id) == b"old memo" and rec.generated_by == "Ann"
        assert template_store.active(s)[1].author == "Dana"


def test_the_start_up_moves_old_files_once_per_process_after_the_firms_checks(monkeypatch):
    """The app's start-up (memo/startup.py) runs the firm's part first, then the import; a second
    call, from another page run, does neither again, and a failed check leaves it to run next time."""
    from assessment.firm import startup as firm_startup
    from assessment.memo import startup
    make_user("ann", "attorney")
    root = db.data_dir()
    ran = []

    def firm_part():
        ran.append("firm")
        if len(ran) == 1:
            raise AssessmentError([])            # the first try: a start-up check fails
        return {"swept": 0}
    monkeypatch.setattr(firm_startup, "run", firm_part)
    monkeypatch.setattr(startup, "_done", {})
    _old_memo(root, "DEMO-001", "DEMO-001", dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
    with pytest.raises(AssessmentError):
        startup.run()
    assert (root / "memos").exists()                          # nothing imported past a failed check
    assert startup.run() == {"swept": 0, "moved": {"memos": 1}} and not (root / "memos").exists()
    _old_memo(root, "DEMO-001", "DEMO-001", dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2))
    assert startup.run() == {"swept": 0, "moved": {"memos": 1}}
    assert (root / "memos").exists() and ran == ["firm", "firm"]     # once per process


def test_an_old_memo_never_goes_to_a_later_matter_that_took_the_id_and_a_bad_record_never_stops_the_app():
    from assessment.memo import legacy
    make_user("ann", "attorney")
    root = db.data_dir()
    before = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)    # before DEMO-001 was created here
    _old_memo(root, "DEMO-001", "DEMO-001", before)
    _old_memo(root, "DEMO-002", "DEMO-002", before + dt.timedelta(days=60), file="gone.docx", data=None)
    assert legacy.import_data_folder() == {"memos": 0}
    kept = list(root.glob("memos.not-imported-*"))
    assert len(kept) == 1 and (kept[0] / "DEMO-001" / "m.docx").exists()
    with db.session() as s:
        assert "2 left in memos.not-imported-" in access_log.query(s, event="import")[0].reason
