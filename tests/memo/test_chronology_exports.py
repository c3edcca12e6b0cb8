"""The chronology's chart, CSV and calendar file."""
import csv
import datetime as dt
import io

import pytest

from assessment.core import casefile
from assessment.evidence import analyse as evidence
from assessment.law import chronology, engine
from assessment.law.model import Event
from assessment.memo import chronology as mc

from conftest import DEMO

AS_OF = dt.date(2026, 12, 2)


@pytest.fixture(scope="module")
def tran(kb):
    """The demo officer's case (synthetic), its evidence analysed: (case, events)."""
    folder = DEMO / "off-duty-lookups"
    case = casefile.load(folder / "case.yaml", kb)
    ev = evidence.analyse(case, folder)
    return case, chronology.build(case, engine.assess(case, kb, ev, AS_OF), ev)


def unfold(data: bytes) -> list[str]:
    """RFC 5545 § 3.1: content lines end in CRLF; a line starting with a space continues the last."""
    text = data.decode("utf-8")
    assert "\n" not in text.replace("\r\n", "")                     # only CRLF line endings
    lines: list[str] = []
    for raw in text.split("\r\n")[:-1]:
        assert len(raw.encode("utf-8")) <= 75                         # folded at 75 octets
        if raw.startswith(" "):
            lines[-1] += raw[1:]
        else:
            lines.append(raw)
    return lines


def unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\":
            nxt = value[i + 1]
            out.append("\n" if nxt in "nN" else nxt)
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def vevents(data: bytes) -> list[dict[str, str]]:
    """Each VEVENT as {property name with parameters: unescaped value}."""
    out, current = [], None
    for line in unfold(data):
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            out.append(current)
            current = None
        elif current is not None:
            name, _, value = line.partition(":")
            current[name] = unescape(value)
    return out


def test_ics_reads_back_with_every_deadline_ahead_as_an_all_day_event(tran):
    case, events = tran
    data = mc.ics(events, case.matter, now=dt.datetime(2026, 12, 2, 9, 30, tzinfo=dt.UTC))
    lines = unfold(data)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR" and "VERSION:2.0" in lines
    got = vevents(data)
    ahead = [e for e in events if e.kind == "deadline" and not e.passed and not chronology.superseded(e)]
    assert len(got) == len(ahead) > 0
    for ve, e in zip(got, ahead, strict=True):
        assert ve["DTSTART;VALUE=DATE"] == e.date.replace("-", "")
        day = dt.date.fromisoformat(e.date) + dt.timedelta(days=1)
        assert ve["DTEND;VALUE=DATE"] == f"{day:%Y%m%d}"
        assert ve["SUMMARY"] == f"DEMO-001: {e.what}"                 # commas and semicolons come back intact
        assert ve["DTSTAMP"] == "20261202T093000Z"
        assert f"Rule: {e.rule}" in ve["DESCRIPTION"]
    assert "Riley Tran" not in data.decode()                         # the matter's id, not the client's name
    assert len({ve["UID"] for ve in got}) == len(got)
    with_passed = vevents(mc.ics(events, case.matter, include_passed=True))
    deadlines = [e for e in events if e.kind == "deadline"]
    assert len(with_passed) == len(deadlines) - 1 > len(got)          # less the untolled POBR date
    assert not any(ve["SUMMARY"].startswith("DEMO-001: POBR year without tolling") for ve in with_passed)
    assert any(e.what.startswith("POBR year without tolling") for e in deadlines)


def test_ics_uid_is_stable_per_matter_and_deadline(tran):
    case, events = tran
    first = {ve["SUMMARY"]: ve["UID"] for ve in vevents(mc.ics(events, case.matter))}
    later = {ve["SUMMARY"]: ve["UID"] for ve in vevents(mc.ics(events, "DEMO-001", now=dt.datetime(2027, 1, 1)))}
    assert first == later
    other = {ve["UID"] for ve in vevents(mc.ics(events, "DEMO-999"))}
    assert not other & set(first.values())


def test_ics_escapes_and_folds_text():
    e = Event(id="t1", date="2027-01-05", kind="deadline", what="Line one; a, b \\ c\nline two é" + " x" * 60,
              basis=["kb:test"], rule="r", tolled=False, passed=False)
    data = mc.ics([e], "T-1")
    assert b"SUMMARY:T-1: Line one\\; a\\, b \\\\ c\\nline two \xc3\xa9" in data.replace(b"\r\n ", b"")
    (ve,) = vevents(data)
    assert ve["SUMMARY"] == f"T-1: {e.what}"


def test_ics_folds_without_splitting_a_character():
    e = Event(id="t2", date="2027-01-05", kind="deadline", what="§" * 100, basis=["kb:test"], rule="§", tolled=False,
              passed=False)
    data = mc.ics([e], "T-1")
    unfold(data)                                   # every physical line at most 75 octets
    for raw in data.split(b"\r\n"):
        raw.decode("utf-8")                        # and each one whole UTF-8
    assert vevents(data)[0]["SUMMARY"] == "T-1: " + "§" * 100


def test_csv_escapes_formulas_and_carries_the_marks():
    bad = Event(id="t3", date="2025-01-02", kind="finding", what='=HYPERLINK("http://evil.example","click")',
                basis=["finding:subject-queries"], file="@audit.csv", rows=[3, 4])
    plain = Event(id="t4", date="2025-01-03", kind="deadline", what="POBR year ends", basis=["kb:pobr"], rule="-1 year",
                  tolled=True, passed=False)
    marks = {mc.key(bad): {"marked": True, "note": "+ask the client"}}
    data = mc.csv_bytes([bad, plain], marks)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0]["what"] == "'=HYPERLINK(\"http://evil.example\",\"click\")"
    assert rows[0]["file"] == "'@audit.csv" and rows[0]["note"] == "'+ask the client" and rows[0]["mark"] == "x"
    assert rows[0]["rows"] == "3, 4" and rows[0]["kind"] == "Subject queries"
    assert rows[1]["rule"] == "'-1 year" and rows[1]["tolled"] == "yes" and rows[1]["mark"] == ""
    assert not any(v.startswith(("=", "+", "-", "@")) for r in rows for v in r.values())
    only = list(csv.DictReader(io.StringIO(mc.csv_bytes([bad, plain], marks, only_marked=True).decode("utf-8-sig"))))
    assert [r["date"] for r in only] == ["2025-01-02"]


def values(spec: dict, layer: dict) -> list[dict]:
    """A layer's inline rows (Altair gathers them under `datasets` by name)."""
    data = layer["data"]
    return data["values"] if "values" in data else spec["datasets"][data["name"]]


def test_chart_has_a_layer_with_data_for_every_kind_present(tran):
    _, events = tran
    spec = mc.chart(events, AS_OF).to_dict()
    layers = spec["layer"]
    assert [la["mark"]["type"] for la in layers] == ["circle", "tick", "rule", "text"]
    lanes = {row["lane"] for la in layers[:2] for row in values(spec, la)}
    assert lanes == {mc.LANES[e.kind] for e in events} == set(mc.LANES.values())
    assert sum(len(values(spec, la)) for la in layers[:2]) == len(events)
    assert {r["lane"] for r in values(spec, layers[1])} == {"Deadlines"}          # deadlines are the ticks
    assert values(spec, layers[2]) == [{"date": "2026-12-02", "label": "assessed 2026-12-02"}]
    assert layers[1]["encoding"]["tooltip"] and "tooltip" not in mc.chart(events, AS_OF, for_print=True).to_dict(
        )["layer"][1]["encoding"]


def test_chart_of_deadlines_only_and_of_nothing():
    only = [Event(id="t5", date="2027-01-05", kind="deadline", what="POBR year ends, tolled", basis=["kb:pobr"], rule="r",
                  tolled=True, passed=False)]
    spec = mc.chart(only, AS_OF).to_dict()
    assert [la["mark"]["type"] for la in spec["layer"]][0] == "tick"
    assert values(spec, spec["layer"][0])[0]["series"] == "Deadlines (tolled)"
    assert mc.chart([], AS_OF) is None and mc.png([], AS_OF) is None


def test_png_is_an_image(tran):
    _, events = tran
    assert mc.png(events, AS_OF).startswith(b"\x89PNG")


def test_marks_kept_with_the_matter_read_back_and_stay_out_of_the_event_marks():
    from assessment.evidence import events as event_marks
    e = Event(id="t6", date="2025-05-02", kind="investigation", what="The agency discovers the queries",
              basis=["fact:dates.agency_discovered"])
    store = {"audit.csv#12": {"mark": "material", "note": "a row"}, mc.key(e): mc.stored_mark(True, " call HR | x ")}
    assert mc.read_marks(store) == {mc.key(e): {"marked": True, "note": "call HR | x"}}
    assert mc.read_marks({mc.key(e): mc.stored_mark(False, "only a note")})[mc.key(e)] == {"marked": False,
                                                                                        "note": "only a note"}
    assert mc.stored_mark(False, "  ") is None
    # the Memo and Evidence pages list the marked audit rows: a chronology mark is not one, and breaks nothing
    assert [(m["file"], m["row"]) for m in event_marks.marked([], store)] == [("audit.csv", 12)]


def test_deadline_types_for_the_docket(tran):
    _, events = tran
    types = {mc.deadline_type(e) for e in events if e.kind == "deadline"}
    assert {"CLETS training", "POBR year", "Limitation: PC 502(c)(2)", "Limitation: VC 1808.45"} <= types


def test_a_calendar_entry_and_a_mark_stay_on_their_deadline_when_the_case_moves_on(kb):
    """The charge is filed (alleged -> charged) and the last query's date comes in (one deadline "for every act"
    becomes one for the earliest and one for the latest act): the earliest-act entry keeps its calendar UID and
    its mark, though its wording changed."""
    from conftest import case_text
    before = casefile.loads(case_text(allegations='allegations:\n  - {citation: "PC 502(c)(2)", status: alleged}',
                                      dates="dates:\n  first_query: 2025-01-04\n  agency_discovered: 2025-04-02"),
                            "t.yaml", kb)
    after = casefile.loads(case_text(allegations='allegations:\n  - {citation: "PC 502(c)(2)", status: charged}',
                                     dates="dates:\n  first_query: 2025-01-04\n  last_query: 2025-03-30\n"
                                           "  agency_discovered: 2025-04-02\n  charges_filed: 2026-06-01"), "t.yaml", kb)

    def limitation(case):
        events = engine.assess(case, kb, None, AS_OF, rank_questions=False).chronology
        return [e for e in events if e.id.startswith("limitation:PC 502(c)(2)")]
    old, new = limitation(before), limitation(after)
    assert [e.id for e in old] == ["limitation:PC 502(c)(2):earliest"]
    assert "earliest" in [e.id.rsplit(":", 1)[1] for e in new]
    moved = next(e for e in new if e.id == old[0].id)
    assert moved.what != old[0].what                                      # "(alleged) ... every act" -> "(charged) ..."
    assert mc.uid("M-1", moved) == mc.uid("M-1", old[0]) and mc.key(moved) == mc.key(old[0])
