"""The case chronology: every dated event and computed deadline of a case, in date order."""
import datetime as dt

from assessment.core import casefile
from assessment.evidence import analyse as evidence
from assessment.law import chronology, engine, limitations

from conftest import DEMO, case_text

AS_OF = dt.date(2026, 12, 2)

# A synthetic officer: the agency discovered the queries on 2025-02-01; a criminal investigation
# was pending from 2025-03-01 to 2025-06-01 (92 days), so the POBR year moves from 2026-02-01 to
# 2026-05-04.
TOLLED = case_text(
    client="client:\n  name: Sam Test\n  role: peace_officer\n  hire_date: 2019-08-31\n"
           "  assignment_date: 2020-08-31\n  clets_training_date: 2020-10-01",
    allegations='allegations:\n  - {citation: "VC 1808.45", status: charged, counts: 2}',
    dates="dates:\n  first_query: 2024-11-03\n  last_query: 2025-01-15\n  agency_discovered: 2025-02-01\n"
          "  investigation_opened: 2025-02-10\n  criminal_investigation_opened: 2025-03-01\n"
          "  criminal_investigation_closed: 2025-06-01\n  charges_filed: 2025-07-01\n"
          "  discipline_notice: 2026-04-20")


def chrono(kb, text, as_of=AS_OF):
    case = casefile.loads(text, "t.yaml", kb)
    result = engine.assess(case, kb, None, as_of)
    return chronology.build(case, result, None)


def deadlines(events, start):
    return [e for e in events if e.kind == "deadline" and e.what.startswith(start)]


def test_a_criminal_investigation_tolls_the_pobr_year_and_the_untolled_date_is_marked(kb):
    events = chrono(kb, TOLLED)
    (tolled,) = [e for e in deadlines(events, "POBR") if e.tolled]
    assert tolled.date == "2026-05-04" and "2025-03-01 to 2025-06-01" in tolled.what
    assert "3304(d)(2)(A)" in tolled.rule and "fact:dates.criminal_investigation_closed" in tolled.basis
    assert tolled.passed is True                     # 2026-05-04 is before the assessment date
    (untolled,) = [e for e in deadlines(events, "POBR") if not e.tolled]
    assert untolled.date == "2026-02-01" and "not the deadline" in untolled.what and "2026-05-04" in untolled.what
    # the discipline notice (2026-04-20) falls between them: it is late only on the untolled date
    notice = next(e for e in events if e.basis == ["fact:dates.discipline_notice"])
    order = [e.date for e in (untolled, notice, tolled)]
    assert order == sorted(order) and events.index(untolled) < events.index(notice) < events.index(tolled)


def test_a_criminal_matter_still_pending_shows_only_the_untolled_date_saying_so(kb):
    text = TOLLED.replace("  criminal_investigation_closed: 2025-06-01\n", "").replace(
        "  discipline_notice: 2026-04-20", "")
    (pobr,) = deadlines(chrono(kb, text), "POBR")
    assert pobr.date == "2026-02-01" and pobr.tolled is False
    assert "pending" in pobr.what and "not the deadline" in pobr.what


def test_no_pobr_deadline_for_a_role_the_pobr_does_not_protect(kb):
    text = TOLLED.replace("role: peace_officer", "role: dispatcher")
    assert deadlines(chrono(kb, text), "POBR") == []


def test_limitation_deadlines_for_the_earliest_and_latest_act_of_each_count(kb):
    events = chrono(kb, TOLLED)
    vc = deadlines(events, "VC 1808.45 (charged)")       # one year from commission (Pen. Code § 802(a))
    assert [(e.date, "earliest" in e.what) for e in vc] == [("2025-11-03", True), ("2026-01-15", False)]
    assert all(e.rule.startswith("Pen. Code § 802(a)") and "kb:pc-802a" in e.basis and e.tolled is False for e in vc)
    assert not any("status" in e.what for e in vc)       # the text names the entry whatever the assessment date


def test_each_reading_of_a_contested_period_has_its_own_deadlines(kb):
    case = casefile.load(DEMO / "front-counter-login" / "case.yaml", kb)
    result = engine.assess(case, kb, None, AS_OF)
    lim = next(s for s in result.statutes if s.citation == "PC 502(c)(7)").limitation
    assert lim.status == "contested" and len(lim.readings) == 2
    events = deadlines(chronology.build(case, result, None), "PC 502(c)(7)")
    for r in lim.readings:
        mine = [e for e in events if f"if punishable as {r.classification}" in e.what]
        assert {e.date for e in mine} == {r.deadline_earliest_act, r.deadline_latest_act}
        assert all(e.rule.startswith(r.authority) for e in mine)


def test_training_is_due_six_months_after_assignment_or_else_hire(kb):
    (due,) = deadlines(chrono(kb, TOLLED), "CLETS training")
    assert due.date == "2021-02-28"                     # 2020-08-31 + six months, at the end of February
    assert due.basis[0] == "fact:client.assignment_date" and "kb:clets.training-six-months" in due.basis
    assert "in time" in due.what
    text = TOLLED.replace("  assignment_date: 2020-08-31\n", "")
    (due,) = deadlines(chrono(kb, text), "CLETS training")
    assert due.date == "2020-02-29" and due.basis[0] == "fact:client.hire_date" and "late" in due.what
    assert due.date == limitations.add_months(dt.date(2019, 8, 31), 6).isoformat()


def test_case_dates_are_listed_by_kind_with_their_basis(kb):
    events = chrono(kb, TOLLED)
    kinds = {e.basis[0]: e.kind for e in events if e.kind != "deadline"}
    assert kinds["fact:client.hire_date"] == "fact" and kinds["fact:dates.first_query"] == "fact"
    assert kinds["fact:dates.criminal_investigation_opened"] == "investigation"
    assert kinds["fact:dates.agency_discovered"] == "investigation"
    assert kinds["fact:dates.charges_filed"] == "filing" and kinds["fact:dates.discipline_notice"] == "filing"
    assert all(e.passed is None and e.rule is None for e in events if e.kind != "deadline")


def test_subject_queries_are_grouped_by_subject_and_day_with_their_rows(kb):
    folder = DEMO / "front-counter-login"
    case = casefile.load(folder / "case.yaml", kb)
    ev = evidence.analyse(case, folder)
    events = chronology.build(case, engine.assess(case, kb, ev, AS_OF), ev)
    found = [e for e in events if e.kind == "finding"]
    subject_rows = sorted(e["row"] for e in ev.events if e["subject"])
    assert sorted(r for e in found for r in e.rows) == subject_rows            # every subject query, once
    assert [(e.date, e.rows, e.file) for e in found] == [("2025-08-12", [506, 507], "audit.csv"),
                                                         ("2025-08-14", [528], "audit.csv")]
    assert found[0].what.startswith("2 subject queries on Morgan Halversen at 15:20, 15:22")
    assert found[0].basis[0] == "finding:subject-queries" and "finding:off-duty-subject-queries" in found[0].basis
    assert "off duty" in found[0].what


def test_sorted_by_date_then_kind_and_deterministic(kb):
    folder = DEMO / "off-duty-lookups"
    case = casefile.load(folder / "case.yaml", kb)
    ev = evidence.analyse(case, folder)
    result = engine.assess(case, kb, ev, AS_OF)
    first = chronology.build(case, result, ev)
    assert [e.model_dump() for e in first] == [e.model_dump() for e in chronology.build(case, result, ev)]
    keys = [(e.date, chronology.KIND_ORDER[e.kind], e.what) for e in first]
    assert keys == sorted(keys)
    assert {e.kind for e in first} == {"fact", "finding", "investigation", "filing", "deadline"}
    assert len({(e.date, e.kind, e.what, e.file, tuple(e.rows or ())) for e in first}) == len(first)


def test_passed_is_relative_to_the_assessment_date(kb):
    early = {e.what: e.passed for e in chrono(kb, TOLLED, as_of=dt.date(2025, 12, 1)) if e.kind == "deadline"}
    late = {e.what: e.passed for e in chrono(kb, TOLLED, as_of=dt.date(2026, 6, 1)) if e.kind == "deadline"}
    vc_latest = next(w for w in early if w.startswith("VC 1808.45") and "latest" in w)
    assert early[vc_latest] is False and late[vc_latest] is True                 # 2026-01-15
    assert any(w.startswith("POBR") and not p for w, p in early.items())
    assert all(p for w, p in late.items() if w.startswith("POBR"))


def test_dates_that_contradict_each_other_give_no_pobr_deadline(kb):
    text = TOLLED.replace("criminal_investigation_closed: 2025-06-01", "criminal_investigation_closed: 2025-02-15")
    events = chrono(kb, text)
    assert deadlines(events, "POBR") == []
    assert any(e.basis == ["fact:dates.criminal_investigation_closed"] for e in events)      # the date itself stays
