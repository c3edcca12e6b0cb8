"""One real browser: Debian's Chromium driven by Playwright against a live Streamlit server."""
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from assessment.memo import render as memo

from conftest import ON_POSTGRES, PASSWORD, ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed "
                                 "(./dev test installs it with apt-get)")]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-dev-shm-usage", "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module")
def server(tmp_path_factory, pg_server):
    """A live app with its own data folder and database: the first start's admin (and the demo
    matters) and a paralegal, pat, listed on no matter."""
    from assessment.cli import firstrun
    from assessment.firm import accounts, db
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tmp_path_factory.mktemp("browser-data")
    keydir = tmp_path_factory.mktemp("browser-keys")      # the server's key file and log heads, outside its data
    env = {"CLETS_DATA_DIR": str(data), "CLETS_KEY_FILE": str(keydir / "keys.json"),
           "CLETS_LOG_HEADS": str(keydir / "log-heads.jsonl")}
    if ON_POSTGRES:
        import pgserver
        url, _ = pgserver.create_database(pg_server, per_test=False)       # migrated by its owner already
    else:
        url = f"sqlite:///{data / 'clets.db'}"
    env["CLETS_DATABASE_URL"] = url
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)               # the server's own settings, for its first start made here
    assert firstrun.ensure(url, PASSWORD) == ("admin", PASSWORD)
    with db.session(url) as s:
        accounts.add(s, "pat", PASSWORD, "paralegal", by=None, display_name="Pat Para")
    db.dispose_all()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "assessment" / "app" / "webapp.py"),
                             "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--server.headless", "true", "--browser.gatherUsageStats", "false"],
                            cwd=ROOT, stdout=open(data / "server.log", "wb"), stderr=subprocess.STDOUT,
                            env={**os.environ, **env})
    for k, v in saved.items():
        os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    LIVE["env"] = env
    app = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if urllib.request.urlopen(app + "/_stcore/health", timeout=1).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("streamlit did not start: " + (data / "server.log").read_text(errors="replace"))
    LIVE["database"] = url
    yield app
    proc.terminate()
    (ROOT / "artifacts").mkdir(exist_ok=True)
    shutil.copyfile(data / "server.log", ROOT / "artifacts" / "server.log")     # what the server said, for a failure
    proc.wait(timeout=20)


@pytest.fixture(autouse=True)
def server_keys(request, monkeypatch, private_data_dir):
    """A test reading the live server's database does so with the server's key file."""
    if "server" in request.fixturenames:
        request.getfixturevalue("server")
        for k in ("CLETS_KEY_FILE", "CLETS_LOG_HEADS"):
            monkeypatch.setenv(k, LIVE["env"][k])


def sign_in(page, url, name, password):
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_label("User name").wait_for(timeout=60_000)
    page.get_by_label("User name").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def choose(page, select, option: str) -> None:
    """Pick an option of a Streamlit select box. A rerun of the page can close the list the moment
    it opens (a clean-clone run once timed out waiting for the option), so the list is opened again,
    up to three times, until the option can be clicked."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    for attempt in range(3):
        select.click()
        try:
            page.get_by_role("option", name=option).click(timeout=10_000)
            return
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")


REFUSED = "Sign-in failed"
LIVE: dict = {}


def test_sixth_attempt_is_locked_out_until_an_admin_unlocks(server):
    from playwright.sync_api import sync_playwright
    artifacts = ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pat = browser.new_context(viewport={"width": 1200, "height": 800}).new_page()
        for attempt in range(5):
            sign_in(pat, server, "pat", f"wrong password {attempt}")
            pat.get_by_text(REFUSED).first.wait_for(timeout=30_000)
        sign_in(pat, server, "pat", PASSWORD)                   # the sixth attempt, with the right password
        pat.get_by_text(REFUSED).first.wait_for(timeout=30_000)
        assert pat.get_by_role("heading", name="Matters").count() == 0
        pat.screenshot(path=str(artifacts / "locked-out.png"))

        admin = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        sign_in(admin, server, "admin", PASSWORD)
        admin.get_by_role("link", name="Users").click()
        admin.get_by_role("heading", name="Change an account").wait_for(timeout=60_000)
        choose(admin, admin.locator("[data-testid=stSelectbox]").first, "pat")
        admin.get_by_role("button", name="Unlock pat").click()
        admin.get_by_text("pat is unlocked.").first.wait_for(timeout=30_000)
        admin.screenshot(path=str(artifacts / "users.png"), full_page=False)

        sign_in(pat, server, "pat", PASSWORD)
        pat.get_by_role("heading", name="Matters").wait_for(timeout=60_000)
        pat.get_by_text("0 matter(s) you are listed on").first.wait_for(timeout=30_000)   # the ethical wall
        assert pat.get_by_text("0 matter(s) you are listed on").first.is_visible()

        admin.get_by_role("link", name="Access log").click()
        admin.get_by_role("button", name="Verify the log").click()
        admin.get_by_text("Intact:").first.wait_for(timeout=30_000)
        admin.screenshot(path=str(artifacts / "access-log.png"), full_page=False)
        browser.close()
    from assessment.firm import access_log, db
    with db.session(LIVE["database"]) as s:
        rows = [(r.event, r.outcome) for r in reversed(access_log.query(s, actor=":pat"))]
    assert rows.count(("login", "failure")) == 6 and ("lockout", "success") in rows and rows[-1] == ("login", "success")


def test_open_case_view_assessment_download_memo(server, tmp_path):
    from playwright.sync_api import sync_playwright
    artifacts = ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        sign_in(page, server, "admin", PASSWORD)
        page.get_by_text("People v. Riley Tran").first.wait_for(timeout=60_000)
        page.get_by_role("button", name="Open", exact=True).nth(1).click()     # the second matter listed
        page.get_by_text("Open: In re Dispatcher Pat Quinlan").first.wait_for(timeout=30_000)

        # the narrative's suggestions: accept one, and it is listed with its sentence
        page.get_by_role("link", name="Facts").click()
        page.get_by_text("Suggested facts.").first.wait_for(timeout=60_000)
        page.get_by_role("button", name="Accept").first.click()
        page.get_by_text("Accepted from the narrative").first.wait_for(timeout=30_000)
        page.wait_for_timeout(1000)
        page.get_by_role("heading", name="From the narrative").scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "facts.png"), full_page=False)

        # a log without an operator column: a located error, and the loaded evidence stays
        page.get_by_role("link", name="Evidence").click()
        page.get_by_text("Client queries").first.wait_for(timeout=60_000)
        bad = tmp_path / "export.csv"
        bad.write_text("Timestamp,Terminal\n2025-08-12 15:20:00,FRONT02\n")
        page.locator("[data-testid=stFileUploader] input[type=file]").first.set_input_files(str(bad))
        page.get_by_text("export.csv").first.wait_for(timeout=30_000)   # the upload has reached the server
        page.wait_for_timeout(500)
        page.get_by_role("button", name="Load evidence").click()
        page.get_by_text("EV001").first.wait_for(timeout=30_000)
        assert page.get_by_text("the audit log has no column for operator").first.is_visible()
        assert page.locator("[data-testid=stMetricValue]").first.inner_text() == "272"
        page.get_by_text("Column mapping of the upload").first.wait_for()
        page.screenshot(path=str(artifacts / "evidence-mapping.png"), full_page=False)
        page.get_by_role("button", name="Discard the failed upload").click()
        page.get_by_role("button", name="Discard the failed upload").wait_for(state="detached", timeout=30_000)
        charts = page.locator("[data-testid=stVegaLiteChart]")
        charts.nth(1).wait_for(timeout=60_000)
        assert charts.count() == 2
        page.locator("[data-testid=stVegaLiteChart] canvas, [data-testid=stVegaLiteChart] svg").first.wait_for()
        page.get_by_role("heading", name="Timeline").scroll_into_view_if_needed()
        page.wait_for_timeout(1500)
        page.screenshot(path=str(artifacts / "evidence.png"), full_page=True)

        page.get_by_role("link", name="Assessment").click()
        page.get_by_role("heading", name="Defenses, ranked").wait_for(timeout=60_000)
        page.get_by_text("PC 502(c)(7): Unauthorized access").first.wait_for()
        page.locator("[data-testid=stDataFrame]").nth(1).wait_for(timeout=30_000)
        page.wait_for_timeout(1500)  # let the grid canvas paint
        page.screenshot(path=str(artifacts / "assessment.png"), full_page=False)

        page.get_by_role("link", name="Review").click()
        page.get_by_role("heading", name="Elements").wait_for(timeout=60_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(artifacts / "review.png"), full_page=False)

        page.get_by_role("link", name="Memo", exact=True).click()
        page.get_by_role("button", name="Generate memo").click()
        button = page.get_by_role("button", name="Download memo (.docx)")
        button.wait_for(timeout=120_000)
        page.get_by_text("Memo generated and kept with the matter").first.wait_for()
        if memo.soffice():                       # the preview is the memo's first pages, as images
            page.locator("[data-testid=stImage] img").first.wait_for(timeout=60_000)
        page.wait_for_timeout(1000)
        page.screenshot(path=str(artifacts / "memo.png"), full_page=False)
        if memo.soffice():                       # the preview images came through the guard to this browser
            assert page.locator("[data-testid=stImage] img").first.evaluate("i => i.naturalWidth") > 0
            shown = page.locator("[data-testid=stMetricValue]").first.inner_text()     # "7 + 4 in appendices"
            body, rest = re.fullmatch(r"(\d+) \+ (\d+) in appendices", shown.strip()).groups()
            assert 1 <= int(body) <= 8 and int(rest) >= 1
        with page.expect_download(timeout=120_000) as info:      # made on the click, for a session still signed in
            button.click()
        target = tmp_path / "memo.docx"
        info.value.save_as(target)
        url = info.value.url
        # H2/M11: the file's address answers no one else: not a client without the browser's cookie ...
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=10)
        assert refused.value.code == 404
        assert page.request.get(url).status == 200          # ... only this signed-in browser, for a short while
        # M7: the tables offer no CSV download of their own (unlogged, formulas unescaped)
        page.get_by_role("link", name="Evidence").click()
        page.locator("[data-testid=stDataFrame]").first.wait_for(timeout=60_000)
        page.locator("[data-testid=stDataFrame]").first.hover()
        page.wait_for_timeout(500)
        assert page.get_by_label("Download as CSV").count() == 0
        page.get_by_role("button", name="Sign out").click()
        page.get_by_role("heading", name="Sign in").wait_for(timeout=60_000)
        assert page.request.get(url).status == 404         # and not after sign-out, not even to this browser
        headers = page.request.get(server + "/").headers
        assert "img-src 'self'" in headers["content-security-policy"] and headers["x-frame-options"] == "DENY"
        browser.close()
    from docx import Document
    doc = Document(str(target))
    assert doc.sections[0].header.paragraphs[0].text.startswith("PRIVILEGED & CONFIDENTIAL")
    assert any(p.text == "In re Dispatcher Pat Quinlan (No. DEMO-002; stage: investigation)"
               for t in doc.tables for row in t.rows for p in row.cells[1].paragraphs)
    from assessment.firm import access_log, db
    with db.session(LIVE["database"]) as s:      # the download is in the access log, with the memo's name
        exports = [r.reason for r in access_log.query(s, event="export", actor=":admin")]
    assert any(r.startswith("memo ") and r.endswith("(docx)") for r in exports)
    with db.session(LIVE["database"]) as s:      # the refused fetches are logged too
        refused = [r.reason for r in access_log.query(s, event="export", outcome="denied")]
    assert any(r.startswith("download refused") for r in refused)


def test_an_idle_page_is_replaced_by_the_sign_in_form_without_a_click(server):
    """M1: past the idle limit the page stayed on screen until the next click. The idle watch
    (a fragment the browser reruns every 20 s) now swaps it for the sign-in form by itself."""
    import datetime as dt

    from playwright.sync_api import sync_playwright
    from sqlalchemy import select

    from assessment.app import gate
    from assessment.firm import access_log, accounts, db
    from assessment.firm.tables import LoginSession, User
    artifacts = ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    with db.session(LIVE["database"]) as s:
        accounts.add(s, "ida", PASSWORD, "attorney", by=None, display_name="Ida Idle")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        sign_in(page, server, "ida", PASSWORD)
        page.get_by_role("heading", name="Matters").wait_for(timeout=60_000)
        page.wait_for_timeout(1000)                      # the sign-in's runs are over
        with db.session(LIVE["database"]) as s:          # 31 minutes pass without a request
            uid = s.execute(select(User.id).where(User.username == "ida")).scalar_one()
            row = s.execute(select(LoginSession).where(LoginSession.user_id == uid,
                                                       LoginSession.ended_at.is_(None))).scalars().one()
            row.last_seen_at -= dt.timedelta(minutes=31)
        # no click, no key: within one period of the watch (and a margin for a slow machine)
        page.get_by_role("heading", name="Sign in").wait_for(
            timeout=(gate.IDLE_CHECK_EVERY.total_seconds() + 30) * 1000)
        assert page.get_by_text("Locked after 30 minutes without activity").first.is_visible()
        assert page.get_by_role("heading", name="Matters").count() == 0
        page.screenshot(path=str(artifacts / "idle-locked.png"), full_page=False)
        browser.close()
    with db.session(LIVE["database"]) as s:
        assert [r.reason for r in access_log.query(s, event="session-end", actor=":ida")] == ["idle"]


def test_chronology_exports_its_csv_and_the_deadlines_as_ics(server, tmp_path):
    """The Matters page's docket, then the Chronology page: the chronology CSV and the .ics file of the
    deadlines, downloaded through the browser as a user would, read back and found in the access log."""
    import csv
    import datetime as dt
    import io

    from playwright.sync_api import sync_playwright
    artifacts = ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        sign_in(page, server, "admin", PASSWORD)
        page.get_by_role("heading", name="Docket").wait_for(timeout=60_000)
        page.locator("[data-testid=stDataFrame]").first.wait_for(timeout=30_000)
        page.wait_for_timeout(1000)
        page.screenshot(path=str(artifacts / "chronology-docket.png"), full_page=False)
        # the dispatcher's matter: its count is only alleged, so its limitation date is still a deadline ahead
        page.get_by_role("button", name="Open", exact=True).nth(1).click()
        page.get_by_text("Open: In re Dispatcher Pat Quinlan").first.wait_for(timeout=30_000)
        page.get_by_role("link", name="Chronology").click()
        page.get_by_role("heading", name="Chronology").wait_for(timeout=60_000)
        page.locator("[data-testid=stVegaLiteChart]").first.wait_for(timeout=60_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(artifacts / "chronology.png"), full_page=True)
        with page.expect_download(timeout=120_000) as info:
            page.get_by_role("button", name="Download chronology (CSV)").click()
        csv_name = info.value.suggested_filename
        info.value.save_as(tmp_path / "chronology.csv")
        with page.expect_download(timeout=120_000) as info:
            page.get_by_role("button", name=re.compile(r"Download deadlines \(\.ics, \d+\)")).click()
        ics_name = info.value.suggested_filename
        info.value.save_as(tmp_path / "deadlines.ics")
        browser.close()
    assert re.fullmatch(r"DEMO-002-chronology\.csv", csv_name) and ics_name == csv_name.replace(
        "-chronology.csv", "-deadlines.ics")
    data = (tmp_path / "chronology.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert list(rows[0])[:5] == ["mark", "note", "date", "kind", "what"]
    assert [r["date"] for r in rows] == sorted(r["date"] for r in rows)
    assert {"Facts", "Subject queries", "Investigation", "Deadlines"} <= {r["kind"] for r in rows}
    assert any(r["what"] == "The agency discovers the queries" for r in rows)
    cal = (tmp_path / "deadlines.ics").read_bytes()
    assert cal.startswith(b"BEGIN:VCALENDAR\r\n") and cal.endswith(b"END:VCALENDAR\r\n")
    assert all(len(line) <= 75 for line in cal.split(b"\r\n"))
    text = cal.decode("utf-8").replace("\r\n ", "")
    starts = re.findall(r"DTSTART;VALUE=DATE:(\d{8})", text)
    assert starts and len(starts) == text.count("BEGIN:VEVENT") and all(s >= f"{dt.date.today():%Y%m%d}" for s in starts)
    ref = csv_name.split("-chronology")[0]
    assert all(line.startswith(f"SUMMARY:{ref}: ") for line in text.split("\r\n") if line.startswith("SUMMARY:"))
    from assessment.firm import access_log, db
    with db.session(LIVE["database"]) as s:
        exports = [r.reason for r in access_log.query(s, event="export", actor=":admin")]
    assert "chronology (CSV, all entries)" in exports and "chronology deadlines (iCalendar)" in exports


def test_a_reload_or_a_typed_address_keeps_the_user_signed_in_and_the_matter_open(server):
    """Issue 19: a reload or an address typed into the bar started a new Streamlit session, which was a
    sign-out. The guard's HTTP-only browser cookie now takes the server-side session up again, with
    its matter; signing out ends that, and another browser gets nothing."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        page = context.new_page()
        sign_in(page, server, "admin", PASSWORD)
        page.get_by_role("heading", name="Docket").wait_for(timeout=60_000)
        page.get_by_role("button", name="Open", exact=True).nth(1).click()
        page.get_by_text("Open: In re Dispatcher Pat Quinlan").first.wait_for(timeout=30_000)
        cookie = next(c for c in context.cookies() if c["name"] == "clets_browser")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert page.evaluate("document.cookie").find("clets_browser") == -1        # scripts cannot read it

        page.reload()
        page.get_by_text("Open: In re Dispatcher Pat Quinlan").first.wait_for(timeout=60_000)
        assert page.get_by_role("heading", name="Sign in").count() == 0
        page.goto(server + "/facts", wait_until="domcontentloaded")              # a typed address
        page.get_by_role("heading", name="Facts").wait_for(timeout=60_000)
        page.get_by_text("Matter: DEMO-002").first.wait_for(timeout=30_000)

        other = browser.new_context().new_page()                                  # another browser: no session
        other.goto(server, wait_until="domcontentloaded")
        other.get_by_role("heading", name="Sign in").wait_for(timeout=60_000)

        page.get_by_role("button", name="Sign out").click()
        page.get_by_role("heading", name="Sign in").wait_for(timeout=60_000)
        page.reload()
        page.get_by_role("heading", name="Sign in").wait_for(timeout=60_000)
        assert page.get_by_role("heading", name="Facts").count() == 0
        browser.close()


def test_a_new_matter_goes_from_nothing_to_a_memo_through_forms_only(server, tmp_path, monkeypatch):
    """Issue 19: a new one-subject matter entered in the browser (the repository's demo/front-counter-login
    evidence, synthetic), with no file edited by hand, in under 25 user actions; the saved matter's
    findings equal its truth.json. Each fill, click, choice and upload counts as one action."""
    import datetime as dt
    import json

    from playwright.sync_api import sync_playwright
    from sqlalchemy import select

    from assessment.evidence import analyse
    from assessment.firm import db, matters
    from assessment.firm.context import Actor
    from assessment.firm.tables import Matter, User
    from assessment.law import engine
    from assessment.law import kb as kbmod

    from conftest import spec_counts
    example = ROOT / "demo" / "front-counter-login"
    truth = json.loads((example / "truth.json").read_text())
    narrative = ("Her neighbor Morgan Halversen, who lives across the street from Quinlan, reported that someone at the "
                 "department had looked him up. The audit shows three queries on Halversen under operator ID DSP0733 in August "
                 "2025, from the front counter terminal FRONT02. The department is investigating a violation of "
                 "PC 502(c)(7).")
    actions: list[str] = []

    def act(what: str):
        actions.append(what)

    artifacts = ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        sign_in(page, server, "admin", PASSWORD)
        actions += ["user name", "password", "sign in"]
        page.get_by_role("heading", name="New matter").wait_for(timeout=60_000)
        page.get_by_label("Matter id (the firm's file number)").fill("F-2026-0419")
        act("matter id")
        page.get_by_label("Client's name", exact=True).fill("Pat Quinlan")
        act("client's name")
        page.get_by_text("dispatcher", exact=True).first.click()
        act("role")
        page.get_by_role("textbox", name="Narrative (optional").fill(narrative)
        act("narrative")
        page.get_by_role("button", name="Create").click()
        act("create")
        page.get_by_text("Open: In re Pat Quinlan").first.wait_for(timeout=60_000)

        page.get_by_role("link", name="Case", exact=True).click()
        act("Case page")
        page.get_by_role("textbox", name="Operator ids").wait_for(timeout=60_000)
        page.get_by_role("textbox", name="Operator ids").fill("DSP0733")
        act("operator ids")
        page.get_by_role("textbox", name="Terminal ids").fill("DISP05")
        act("terminal ids")
        training = page.locator("[data-testid=stDateInput]").filter(has_text="CLETS training completed").locator("input")
        training.fill("2023-09-15")
        act("training date")
        page.get_by_role("heading", name="Matter and client").click()   # a typed date counts once the calendar
        act("close the calendar")                                       # closes: a click beside it
        page.wait_for_timeout(1500)                                     # the screen settles (no action)

        page.get_by_role("link", name="Facts").click()
        act("Facts page")
        row = page.locator("[data-testid=stHorizontalBlock]").filter(has_text="Morgan Halversen").filter(
            has=page.get_by_role("button", name="Add as subject"))
        row.get_by_role("button", name="Add as subject").click(timeout=60_000)
        act("add subject")
        page.get_by_text("Morgan Halversen added as a subject").first.wait_for(timeout=30_000)
        page.get_by_role("button", name="Add as allegation").click()
        act("add allegation")
        page.get_by_text("PC 502(c)(7) added as an allegation").first.wait_for(timeout=30_000)

        page.get_by_role("link", name="Evidence").click()
        act("Evidence page")
        uploads = page.locator("[data-testid=stFileUploader] input[type=file]")
        uploads.first.wait_for(state="attached", timeout=60_000)
        for n, name in enumerate(("audit.csv", "shifts.csv", "cad.csv")):
            uploads.nth(n).set_input_files(str(example / name))
            act(f"upload {name}")
            page.get_by_text(name).first.wait_for(timeout=30_000)
        page.wait_for_timeout(500)
        page.get_by_role("button", name="Load evidence").click()
        act("load evidence")
        page.locator("[data-testid=stMetricValue]").first.wait_for(timeout=120_000)
        assert page.locator("[data-testid=stMetricValue]").first.inner_text() == str(truth["client_queries"])

        page.get_by_role("link", name="Memo", exact=True).click()
        act("Memo page")
        page.get_by_role("button", name="Generate memo").click()
        act("generate memo")
        button = page.get_by_role("button", name="Download memo (.docx)")
        button.wait_for(timeout=180_000)
        with page.expect_download(timeout=120_000) as info:
            button.click()
        act("download memo")
        target = tmp_path / "new-matter-memo.docx"
        info.value.save_as(target)
        browser.close()
    print(f"\nnew matter to memo: {len(actions)} actions: " + ", ".join(actions))
    assert len(actions) < 25, actions

    with db.session(LIVE["database"]) as s:
        pk = s.execute(select(Matter.id).where(Matter.ref == "F-2026-0419")).scalar_one()
        admin = s.execute(select(User).where(User.username == "admin")).scalar_one()
        s.expunge(admin)
    folder = tmp_path / "checkout"
    folder.mkdir()
    for k, v in LIVE["env"].items():                    # the firm's services on the live server's database
        monkeypatch.setenv(k, v)
    db.dispose_all()
    kb = kbmod.load()
    opened = matters.checkout(Actor(admin, "test", "test"), pk, folder, kb)
    case = opened.case
    assert case.matter.title == "In re Pat Quinlan" and case.client.role == "dispatcher"
    assert (case.client.operator_ids, case.client.terminal_ids) == (["DSP0733"], ["DISP05"])
    assert case.client.clets_training_date == dt.date(2023, 9, 15)
    assert [x.name for x in case.subjects] == ["Morgan Halversen"]
    assert [a.citation for a in case.allegations] == ["PC 502(c)(7)"]
    result = engine.assess(case, kb, analyse.analyse(case, folder), dt.date(2026, 11, 30))
    counts = {f.id: f.count for f in result.findings if f.id in spec_counts(truth)}
    assert counts == spec_counts(truth)
    assert result.evidence.client_queries == truth["client_queries"]
    from docx import Document
    text = "\n".join(p.text for p in Document(str(target)).paragraphs)
    assert "Pat Quinlan" in text
