"""The Chronology page and the docket on the Matters page, driven by Streamlit's AppTest."""
import datetime as dt
import json

import pytest
from streamlit.testing.v1 import AppTest

from assessment.memo import chronology as mc

from conftest import ROOT, case_text, make_user, sign_in

APP = str(ROOT / "streamlit_app.py")


@pytest.fixture
def at():
    make_user("ann", "admin")
    at = sign_in(AppTest.from_file(APP, default_timeout=60))
    at.run()
    assert not at.exception, at.exception
    return at


def page(at, name):
    at.switch_page(f"assessment/app/pages/{name}.py")
    at.run()
    assert not at.exception, at.exception
    return at


def saved_marks(pk: int) -> dict:
    from assessment.firm import db
    from assessment.firm.tables import Matter
    with db.session() as s:
        return json.loads(s.get(Matter, pk).marks)


def test_chronology_shows_chart_and_table_and_keeps_marks_with_the_matter(at):
    assert at.session_state.case.matter.id == "DEMO-001"          # the newest demo matter opens by itself
    page(at, "chronology_view")
    assert at.title[0].value == "Chronology"
    assert len(at.get("vega_lite_chart")) == 1
    (editor,) = at.data_editor
    frame = editor.value
    assert list(frame.columns)[:3] == ["key", "mark", "note"] and not frame["mark"].any()
    assert frame["date"].tolist() == sorted(frame["date"].tolist())
    assert "Charges filed" in frame["what"].tolist()
    assert any(w.startswith("PC 502(c)(2) (charged): limitation period ends") for w in frame["what"])
    downloads = [b.label for b in at.get("download_button")]
    assert downloads[0] == "Download chronology (CSV)" and downloads[1].startswith("Download marked entries (CSV, 0)")
    assert downloads[2].startswith("Download deadlines (.ics, ")

    # tick the charges and note the discovery date; the marks are saved with the matter
    charges = _row(at, "Charges filed")
    discovery = _row(at, "The agency discovers the queries")
    at.session_state["chronology_editor"] = {"edited_rows": {charges: {"mark": True, "note": "=cmd()"},
                                                             discovery: {"note": "ask IA when exactly"}},
                                             "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception, at.exception
    pk = at.session_state.matter_pk
    stored = mc.read_marks(saved_marks(pk))
    assert sorted((m["marked"], m["note"]) for m in stored.values()) == [(False, "ask IA when exactly"),
                                                                         (True, "=cmd()")]
    assert stored["chronology:dates.charges_filed"] == {"marked": True, "note": "=cmd()"}
    assert [b.label for b in at.get("download_button")][1] == "Download marked entries (CSV, 1)"

    # a second edit of a note that is already kept is saved too (the note, not only the tick, is compared)
    at.session_state["chronology_editor"] = {"edited_rows": {discovery: {"note": "IA says 2025-04-02"}},
                                             "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception, at.exception
    stored = mc.read_marks(saved_marks(pk))
    assert stored["chronology:dates.agency_discovered"] == {"marked": False, "note": "IA says 2025-04-02"}

    # the Memo and Evidence pages read the matter's event marks: a chronology mark does not disturb them
    page(at, "memo_view")
    assert "Events you marked on the Evidence page: 0" in at.caption[0].value
    page(at, "evidence")
    at.selectbox(key="ev-show").set_value("marked").run()
    assert not at.exception, at.exception

    # reopened in a new session, the marks are there
    other = sign_in(AppTest.from_file(APP, default_timeout=60))
    other.run()
    page(other, "chronology_view")
    assert other.session_state.case.matter.id == "DEMO-001"
    assert [b.label for b in other.get("download_button")][1] == "Download marked entries (CSV, 1)"
    assert mc.read_marks(other.session_state.marks) == stored


def _row(at, what: str) -> int:
    """The table row of the entry whose text is `what` (the order the page lists them)."""
    return next(i for i, e in enumerate(at.session_state.result.chronology) if e.what == what)


def test_docket_lists_each_matters_next_deadline_and_warns_within_30_days(at):
    from assessment.core import casefile
    from assessment.firm import access_log, db, matters
    from assessment.law import kb as kbmod
    from assessment.law.limitations import add_years  # the engine's own year arithmetic (29 February included)
    today = dt.date.today()
    discovered = add_years(today, -1) + dt.timedelta(days=10)          # the POBR year ends in about 10 days
    text = case_text(matter='matter:\n  id: "T-SOON"\n  title: "In re Test Officer"\n  stage: administrative',
                     dates=f"dates:\n  agency_discovered: {discovered.isoformat()}")
    case = casefile.loads(text, "t.yaml", kbmod.load())
    with db.session() as s:
        matters.create(matters.Ctx(s, at.session_state.user, "test", "test"), case)
    at.run()
    assert not at.exception, at.exception
    table = next(d.value for d in at.dataframe if "matter" in d.value.columns)
    assert table["matter"].tolist()[0] == "T-SOON"                      # the soonest first
    first = table.iloc[0]
    assert first["deadline"] == "POBR year" and first["days"] == (add_years(discovered, 1) - today).days
    assert set(table["matter"]) == {"T-SOON", "DEMO-001", "DEMO-002"}
    dates = table["date"].tolist()
    known = [d for d in dates if d]
    assert dates == known + [""] * (len(dates) - len(known)) and known == sorted(known)   # soonest first, none last
    assert (table["matter"] == "DEMO-001").any() and table.loc[table["matter"] == "DEMO-001", "date"].iloc[0] == "" \
        or not table["what"].str.contains(r"\(charged\): limitation").any()     # a charged count's clock has stopped
    assert any("Within 30 days" in w.value and "T\\-SOON" in w.value for w in at.warning)
    with db.session() as s:               # each case file read for the docket is in the access log
        reads = [r.object_id for r in access_log.query(s, event="view") if r.reason == "docket"]
    assert len(reads) == 3
    at.run()                              # unchanged matters are not read again
    with db.session() as s:
        assert len([r for r in access_log.query(s, event="view") if r.reason == "docket"]) == 3
