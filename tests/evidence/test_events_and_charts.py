"""Shift schedules in other shapes, the charts' off-duty shading, event filters and marks, and
the marks and figures in the memo."""
import datetime as dt
import io
import zipfile

import pytest
from docx import Document

from assessment.core import casefile
from assessment.evidence import analyse as evidence
from assessment.evidence import charts, events
from assessment.law import engine as assess
from assessment.memo import render as memo
from assessment.memo import templates as template_store

from conftest import DEMO, case_text, run_cli

LOG = ("Timestamp,Operator ID,Terminal,Name\n"
       "2025-03-03 23:30:00,OP1,T1,\"ROE, ALEX\"\n"      # inside the overnight shift of 03-03
       "2025-03-04 05:30:00,OP1,T1,\"ROE, ALEX\"\n"      # still inside it (it ends at 06:00)
       "2025-03-04 06:30:00,OP1,T1,\"ROE, ALEX\"\n"      # after the shift
       "2025-03-05 12:00:00,OP1,T1,\"SMITH, JO\"\n"      # a leave day
       "2025-03-06 01:00:00,OP1,T1,\"SMITH, JO\"\n")     # early on 03-06, after the leave day


def analyse(tmp_path, shifts_text, name="shifts.csv"):
    (tmp_path / "audit.csv").write_text(LOG)
    (tmp_path / name).write_text(shifts_text)
    text = case_text(subjects='subjects:\n  - {name: "Alex Roe", relationship: ex_partner}',
                     evidence=f"evidence:\n  audit_logs: [audit.csv]\n  shifts: {name}")
    return evidence.analyse(casefile.loads(text, "case.yaml"), tmp_path)


@pytest.mark.parametrize("shifts, overnight", [
    ("Shift Date,Time In,Time Out,Status\n03/03/2025,22:00,06:00,REG\n03/05/2025,,,VACATION\n", 1),
    ("date;start;end;type\n2025-03-03;10:00 PM;6:00 AM;Patrol\n2025-03-05;;;Sick leave\n", 1),
    ("start,end,status\n2025-03-03 22:00,2025-03-04 06:00,\n,,\n", 0),   # full timestamps, a blank row, no leave
])
def test_shift_schedules_with_dates_and_times_overnight_and_leave(tmp_path, shifts, overnight):
    res = analyse(tmp_path, shifts)
    assert res.findings["off-duty-subject-queries"].rows == [3]
    leave = res.findings["leave-day-queries"]
    if "VACATION" in shifts or "Sick" in shifts:
        assert leave.rows == [4] and leave.details["leave_days"] == ["2025-03-05"]
        assert {"leave": "2025-03-05"} in res.shifts
    else:
        assert leave.rows == []
    assert res.findings["off-duty-subject-queries"].details.get("overnight_shifts", 0) == overnight


def test_an_unreadable_shift_names_its_file_and_line(tmp_path):
    with pytest.raises(Exception) as err:
        analyse(tmp_path, "Shift Date,Time In,Time Out\n03/03/2025,22:00,06:00\n03/04/2025,late,06:00\n")
    (p,) = err.value.problems
    assert p.code == "EV003" and p.file == "shifts.csv" and p.line == 3


def test_off_duty_bands_split_overnight_shifts_and_mark_leave():
    shifts = [{"start": "2025-03-03T22:00:00", "end": "2025-03-04T06:00:00"}, {"leave": "2025-03-05"}]
    bands = charts.off_duty_bands(shifts, dt.date(2025, 3, 3), dt.date(2025, 3, 5))
    got = [(r.day, r["from"], r.to, r.what) for _, r in bands.iterrows()]
    assert got == [("2025-03-03", 0.0, 22.0, "off duty"), ("2025-03-04", 6.0, 24.0, "off duty"),
                   ("2025-03-05", 0.0, 24.0, "leave")]


EVENTS = [
    {"file": "a.csv", "row": 3, "time": "2025-03-04T06:30:00", "subject": "Alex Roe", "terminal": "T1",
     "findings": ["subject-queries", "off-duty-subject-queries"]},
    {"file": "a.csv", "row": 1, "time": "2025-03-03T23:30:00", "subject": "Alex Roe", "terminal": "T1",
     "findings": ["subject-queries"]},
    {"file": "a.csv", "row": 4, "time": "2025-03-05T12:00:00", "subject": None, "terminal": "T1",
     "findings": ["leave-day-queries"]},
]


def test_event_filters():
    assert [e["row"] for e in events.select(EVENTS)] == [3, 1]
    assert [e["row"] for e in events.select(EVENTS, show="all client queries")] == [3, 1, 4]
    assert [e["row"] for e in events.select(EVENTS, show="leave-day-queries")] == [4]
    assert [e["row"] for e in events.select(EVENTS, start=dt.date(2025, 3, 4), end=dt.date(2025, 3, 4))] == [3]
    assert events.select(EVENTS, subjects_=["Someone Else"]) == []


def test_marked_events_are_in_time_order_and_blank_marks_dropped():
    marks = {"a.csv#3": {"mark": "disputed", "note": "client was home"}, "a.csv#1": {"mark": "material", "note": ""},
             "a.csv#4": {"mark": "", "note": "  "}}
    got = events.marked(EVENTS, marks)
    assert [(e["row"], e["mark"], e["note"]) for e in got] == [(1, "material", ""), (3, "disputed", "client was home")]


def test_memo_carries_marks_and_figures(kb):
    folder = DEMO / "off-duty-lookups"
    case = casefile.load(folder / "case.yaml", kb)
    ev = evidence.analyse(case, folder)
    result = assess.assess(case, kb, ev, dt.date(2026, 11, 30))
    subject_row = ev.findings["subject-queries"].rows[0]
    marked = events.marked(ev.events, {f"audit.csv#{subject_row}": {"mark": "disputed",
                                                                     "note": "Client on a call <elsewhere> & busy"}})
    figures = charts.memo_charts(ev)
    assert len(figures) == 2 and all(png[:8] == b"\x89PNG\r\n\x1a\n" for png in figures.values())
    data = memo.render(result, case, template_store.builtin(), marks=marked, charts=figures)
    doc = Document(io.BytesIO(data))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    assert "Client on a call <elsewhere> & busy" in cells and f"audit.csv row {subject_row}" in cells
    assert any(p.text.startswith("Figure: The client's queries by date") for p in doc.paragraphs)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert len([n for n in z.namelist() if n.startswith("word/media/")]) == 3      # the two charts, the chronology


def test_memo_without_marks_has_no_marks_section(kb):
    folder = DEMO / "front-counter-login"
    case = casefile.load(folder / "case.yaml", kb)
    result = assess.assess(case, kb, evidence.analyse(case, folder), dt.date(2026, 11, 30))
    doc = Document(io.BytesIO(memo.render(result, case, template_store.builtin())))
    assert "Events marked by the attorney" not in [p.text for p in doc.paragraphs]


def test_cli_memo_reads_marks_and_refuses_a_broken_marks_file(tmp_path):
    marks = tmp_path / "marks.yaml"
    marks.write_text('"audit.csv#506": {mark: material, note: "Asked the agency for the CCTV"}\n')
    out = tmp_path / "memo.docx"
    res = run_cli("memo", str(DEMO / "front-counter-login" / "case.yaml"), "-o", str(out), "--marks", str(marks),
                  "--no-charts", "--as-of", "2026-11-30")
    assert res.returncode == 0, res.stderr
    cells = [c.text for t in Document(str(out)).tables for row in t.rows for c in row.cells]
    assert "Asked the agency for the CCTV" in cells
    marks.write_text("[unclosed\n")
    res = run_cli("memo", str(DEMO / "front-counter-login" / "case.yaml"), "-o", str(tmp_path / "m2.docx"),
                  "--marks", str(marks))
    assert res.returncode != 0 and "EV003" in res.stderr and "marks.yaml" in res.stderr
    assert not (tmp_path / "m2.docx").exists()


def test_charts_draw_20000_events_and_leave_altairs_global_transformer_alone():
    """Issue 13, L5: Altair refused a chart of more than 5,000 rows (MaxRowsError), so a client
    with 5,001 queries had no timeline and no memo figures. The charts carry their rows inline;
    Altair's data transformer, global to the process and swapped by Streamlit while it draws on
    another thread, is neither widened nor touched."""
    import types

    import altair as alt
    start = dt.datetime(2025, 1, 1)
    many = [{"file": "audit.csv", "row": i + 1, "time": (start + dt.timedelta(minutes=37 * i)).isoformat(),
             "subject": "Alex Roe" if i % 40 == 0 else None, "terminal": "T1",
             "findings": ["subject-queries"] if i % 40 == 0 else []} for i in range(20_000)]
    shifts = [{"start": f"{(start + dt.timedelta(days=d)).date()}T08:00:00",
               "end": f"{(start + dt.timedelta(days=d)).date()}T18:00:00"} for d in range(520)]
    before = (alt.data_transformers.active, dict(alt.data_transformers.options))
    spec = charts.timeline(many, shifts).to_dict()
    points = [rows for rows in spec["datasets"].values() if rows and "hour" in rows[0]]
    assert len(points) == 1 and len(points[0]) == 20_000                       # every query drawn
    assert sum(r["kind"] == "subject query" for r in points[0]) == 500
    heat = charts.heatmap(many).to_dict()
    assert sum(r["queries"] for rows in heat["datasets"].values() for r in rows) == 20_000
    figures = charts.memo_charts(types.SimpleNamespace(events=many, shifts=shifts))
    assert len(figures) == 2 and all(png[:8] == b"\x89PNG\r\n\x1a\n" for png in figures.values())
    assert (alt.data_transformers.active, dict(alt.data_transformers.options)) == before == ("default", {})
