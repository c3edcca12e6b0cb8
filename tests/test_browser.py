"""One real browser: Debian's Chromium driven by Playwright against a live Streamlit server."""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from assessment import memo
from conftest import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed "
                                 "(./dev test installs it with apt-get)")]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-dev-shm-usage", "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"),
                             "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--server.headless", "true", "--browser.gatherUsageStats", "false"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "CLETS_DATA_DIR": str(tmp_path_factory.mktemp("browser-data"))})
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("streamlit did not start: " + proc.stdout.read().decode(errors="replace"))
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def test_open_case_view_assessment_download_memo(server, tmp_path):
    from playwright.sync_api import sync_playwright
    artifacts = ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.goto(server, wait_until="domcontentloaded")
        page.get_by_text("People v. Riley Tran").first.wait_for(timeout=60_000)
        page.get_by_role("button", name="Open demo: front-counter-login").click()
        page.get_by_text("In re Dispatcher Pat Quinlan").first.wait_for(timeout=30_000)

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
        with page.expect_download() as info:
            button.click()
        target = tmp_path / "memo.docx"
        info.value.save_as(target)
        browser.close()
    from docx import Document
    doc = Document(str(target))
    assert doc.sections[0].header.paragraphs[0].text.startswith("PRIVILEGED & CONFIDENTIAL")
    assert any(p.text == "In re Dispatcher Pat Quinlan (No. DEMO-002; stage: investigation)"
               for t in doc.tables for row in t.rows for p in row.cells[1].paragraphs)
