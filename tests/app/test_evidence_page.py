"""The Evidence page in AppTest: charts and metrics for the demo case, an upload whose columns
are not recognised (refused, previous evidence kept, mapping corrected in the app and
remembered for the matter), and marks that reach the memo."""
import json

import pytest
from streamlit.testing.v1 import AppTest

from assessment.evidence import mappings, sniff

from conftest import DEMO, ROOT, make_user, sign_in

APP = str(ROOT / "streamlit_app.py")


@pytest.fixture
def at():
    make_user("ann", "attorney")
    at = sign_in(AppTest.from_file(APP, default_timeout=90))
    at.run()
    at.switch_page("assessment/app/pages/evidence.py")
    at.run()
    assert not at.exception, at.exception
    return at


def metrics(at):
    return {m.label: m.value for m in at.metric}


def test_demo_evidence_shows_metrics_charts_and_subject_rows(at):
    truth = json.loads((DEMO / "off-duty-lookups" / "truth.json").read_text())
    m = metrics(at)
    assert m["Client queries"] == f"{truth['client_queries']:,}"
    assert m["Off duty"] == str(truth["subject_queries_off_duty"])
    assert len(at.get("vega_lite_chart")) == 2          # timeline and heatmap
    table = at.dataframe[0].value
    assert sorted(table["row"].tolist()) == truth["subject_query_rows"]
    labels = [e.label for e in at.expander]
    assert labels == ["How audit\\.csv (audit log) is read", "How shifts\\.csv (shift schedule) is read",
                      "How cad\\.csv (CAD incidents) is read"]           # file names escaped: never read as Markdown
    files = at.dataframe[-1].value
    assert files.iloc[0]["mapping"] == "detected" and len(files.iloc[0]["sha256"]) == 64


UNKNOWN = (b"When it happened,Who,Where,About\n"
           b"2025-03-10 02:14:00,PO5512,MDT0907,\"ALDER, JAMIE\"\n"
           b"2025-03-10 14:00:00,PO5512,MDT0907,\"DOE, JOHN\"\n")


def test_unrecognised_upload_is_refused_then_mapped_in_the_app(at):
    before = at.session_state.case.evidence.audit_logs
    at.get("file_uploader")[0].upload("agency-export.csv", UNKNOWN, "text/csv")
    next(b for b in at.button if b.label == "Load evidence").click().run()
    assert not at.exception, at.exception
    assert any("EV001" in e.value and "Who" in e.value for e in at.error)
    assert at.session_state.case.evidence.audit_logs == before          # nothing previously loaded is lost
    assert any("not loaded yet" in i.value for i in at.info)

    for meaning, header in (("timestamp", "When it happened"), ("operator", "Who"), ("terminal", "Where"),
                            ("name", "About")):
        at.selectbox(key=f"map-agency-export.csv-{meaning}").set_value(header).run()
    radio = at.radio(key="remember-agency-export.csv")
    assert radio.options == ["only this file", "this matter's files with these headers"]   # an attorney: no agency-wide
    radio.set_value("this matter's files with these headers").run()
    at.button(key="apply-agency-export.csv").click().run()
    assert not at.exception, at.exception
    assert at.session_state.case.evidence.audit_logs == ["agency-export.csv"]
    m = metrics(at)
    assert m["Client queries"] == "2" and m["Subject queries"] == "1"   # the demo subject Jamie Alder
    # remembered for this matter: the next file with these headers is read the same way, and says so
    ori = at.session_state.case.client.ori
    path = at.session_state.case_dir / "agency-export.csv"
    from assessment.firm import access_log, db, matters
    with db.session() as s:
        rem = mappings.load(matters.Ctx(s, at.session_state.user, "t", "t"), at.session_state.matter_pk)
        assert access_log.query(s, event="mapping-save")[0].reason.startswith("for this matter")
    assert mappings.plan_for(path, sniff.AUDIT_HEADERS, ori, remembered=rem).source.startswith(
        "remembered for this matter (")
    # the file is stored with the matter, byte for byte, under its SHA-256
    import hashlib

    from sqlalchemy import select

    from assessment.firm import db
    from assessment.firm.tables import EvidenceFile
    with db.session() as s:
        row = s.execute(select(EvidenceFile).where(EvidenceFile.name == "agency-export.csv")).scalar_one()
    assert row.matter_id == at.session_state.matter_pk and row.sha256 == hashlib.sha256(UNKNOWN).hexdigest()


def test_marks_on_events_reach_the_memo_page(at):
    table = at.dataframe[0].value
    first_key = f"{table.iloc[0]['file']}#{table.iloc[0]['row']}"
    grid = f"case-events-{at.session_state.case_form_gens['events'][0]}-grid"
    assert list(at.dataframe[0].value.columns[:2]) == ["mark", "note"]          # what the user edits comes first
    at.session_state[grid] = {"edited_rows": {0: {"mark": "disputed", "note": "Client was at home"}},
                              "added_rows": [], "deleted_rows": []}
    at.run()
    assert at.session_state.marks[first_key] == {"mark": "disputed", "note": "Client was at home",
                                                 "by": at.session_state.user.id, "by_role": "attorney"}
    # the grid keeps its key while the user goes on (the browser then sends every edit so far): the first
    # note is neither lost nor applied to another row
    assert f"case-events-{at.session_state.case_form_gens['events'][0]}-grid" == grid
    second_key = f"{table.iloc[1]['file']}#{table.iloc[1]['row']}"
    at.session_state[grid] = {"edited_rows": {0: {"mark": "disputed", "note": "Client was at home"},
                                              1: {"note": "check the CAD"}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert at.session_state.marks[first_key]["note"] == "Client was at home"
    assert at.session_state.marks[second_key]["note"] == "check the CAD"
    assert len(at.session_state.marks) == 2
    from assessment.firm import db
    from assessment.firm.tables import Matter
    with db.session() as s:
        assert json.loads(s.get(Matter, at.session_state.matter_pk).marks)[first_key]["mark"] == "disputed"
    at.switch_page("assessment/app/pages/memo_view.py")
    at.run()
    assert not at.exception, at.exception
    assert any("Events you marked on the Evidence page: 2." in c.value for c in at.caption)
    next(t for t in at.toggle if t.label.startswith("Also make a PDF")).set_value(False)
    next(b for b in at.button if b.label == "Generate memo").click().run()
    assert not at.exception, at.exception
    import io

    from docx import Document

    from conftest import stored_memos
    ((rec, data),) = stored_memos(at)
    doc = Document(io.BytesIO(data))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    assert "Client was at home" in cells and "disputed" in cells
