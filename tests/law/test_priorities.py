"""What to investigate first (law/priorities.py): every open question, what each answer changes,
ranked by legal effect, deterministic."""
import datetime as dt

import pytest

from assessment.core import casefile
from assessment.evidence.model import EvidenceResult, Finding
from assessment.law import engine, model, priorities

from conftest import case_text

AS_OF = dt.date(2026, 11, 30)


def assess(kb, text, findings=None, as_of=AS_OF):
    case = casefile.loads(text, "t.yaml", kb)
    ev = None if findings is None else EvidenceResult(
        files=[], client_queries=0, findings={k: Finding(k, n, list(range(1, n + 1)), "t") for k, n in findings.items()})
    return case, engine.assess(case, kb, ev, as_of)


ALL_KNOWN = {k: "no" for k in casefile.FACT_KEYS} | {"stated_purpose": "personal"}


def facts(**over: str) -> str:
    values = ALL_KNOWN | over
    return "facts:\n" + "\n".join(f"  {k}: {v}" for k, v in values.items())


def test_every_unknown_fact_is_asked_once_and_no_known_one(kb):
    _, r = assess(kb, case_text(allegations='allegations:\n  - {citation: "PC 502(c)(7)", status: charged}'),
                  {"subject-queries": 2})
    asked = [p.fact for p in r.investigation_priorities]
    facts_asked = [a for a in asked if not a.startswith(("fact:dates.", "fact:client."))]
    assert sorted(facts_asked) == sorted([f"fact:{k}" for k in casefile.FACT_KEYS] + ["fact:prior_discipline"])
    assert len(asked) == len(set(asked))
    assert [p.rank for p in r.investigation_priorities] == list(range(1, len(asked) + 1))
    _, known = assess(kb, case_text(allegations='allegations:\n  - {citation: "PC 502(c)(7)", status: charged}',
                                    facts=facts(credentials_shared="unknown"),
                                    client="client:\n  name: Sam Test\n  role: peace_officer\n  prior_discipline: no"),
                      {"subject-queries": 2})
    assert [p.fact for p in known.investigation_priorities if not p.fact.startswith(("fact:dates.", "fact:client."))] \
        == ["fact:credentials_shared"]


def test_each_answer_is_tried_and_the_changes_are_the_engines_own(kb):
    """Shared credentials unknown: answering yes moves the mistaken-identity defense, exactly as an assessment
    of the case with that answer says; answering no is listed too."""
    text = case_text(allegations='allegations:\n  - {citation: "PC 502(c)(7)", status: charged}',
                     facts=facts(credentials_shared="unknown"))
    case, r = assess(kb, text, {"subject-queries": 3, "unassigned-terminal-queries": 0})
    p = next(p for p in r.investigation_priorities if p.fact == "fact:credentials_shared")
    assert [a.value for a in p.answers] == ["yes", "no"]
    _, answered = assess(kb, text.replace("credentials_shared: unknown", "credentials_shared: yes"),
                         {"subject-queries": 3, "unassigned-terminal-queries": 0})
    strength = {d.id: d.strength for d in answered.defenses}
    moved = [c for c in p.answers[0].changes if c.kind == "defense" and c.target == "mistaken-identity"]
    assert moved and moved[0].before == "not-supported" and moved[0].after == strength["mistaken-identity"]
    assert p.answer == "yes" and "Mistaken identity: not supported to" in p.impact


def test_a_question_no_answer_changes_is_listed_last_and_says_so(kb):
    _, r = assess(kb, case_text(allegations='allegations:\n  - {citation: "PC 502(c)(7)", status: charged}'),
                  {"subject-queries": 2})
    quiet = [p for p in r.investigation_priorities if not p.changes]
    moving = [p for p in r.investigation_priorities if p.changes]
    assert quiet, "the case should have at least one question whose answer changes nothing"
    assert max(p.rank for p in moving) < min(p.rank for p in quiet)
    assert all(p.answer is None for p in quiet)
    assert all(p.impact in ("No answer changes a conclusion of this assessment.", priorities.NOT_TRIED)
               or p.impact.startswith("Not tried until the ") for p in quiet)
    assert all(p.impact == priorities.NOT_TRIED or p.impact.startswith("Not tried until the ") for p in quiet
               if not p.answers)


def test_a_date_the_other_dates_leave_no_room_for_is_still_asked(kb):
    """Hired after the last query: the first query's date has no room, so it is listed as not tried, never
    dropped."""
    text = case_text(client="client:\n  name: Sam Test\n  role: peace_officer\n  hire_date: 2024-05-01",
                     dates="dates:\n  last_query: 2024-03-01")
    _, r = assess(kb, text, {"subject-queries": 2})
    asked = {p.fact: p for p in r.investigation_priorities}
    assert "fact:dates.first_query" in asked and asked["fact:dates.first_query"].impact == priorities.NOT_TRIED


def test_the_ranking_is_deterministic(kb):
    text = case_text(allegations='allegations:\n  - {citation: "PC 502(c)(2)", status: charged}')
    first = assess(kb, text, {"subject-queries": 4})[1]
    second = assess(kb, text, {"subject-queries": 4})[1]
    assert first.model_dump_json() == second.model_dump_json()


def change(kind, before, after, target="x"):
    return model.Change(kind=kind, target=target, what=target, before=before, after=after)


@pytest.mark.parametrize("higher, lower, why", [
    ([change("defense", "weak", "strong")], [change("statute", "not raised", "raised by the facts", "PC 118.1")],
     "a defense that would decide the case outranks a new felony count"),
    ([change("statute", "not raised", "raised by the facts", "PC 118.1")],
     [change("defense", "not-supported", "moderate")], "a new felony count outranks a defense moving short of strong"),
    ([change("limitation", "running", "expired", "PC 11142")],
     [change("statute", "not raised", "raised by the facts", "PC 11142")],
     "a count becoming barred outranks a misdemeanor raised"),
    ([change("defense", "not-supported", "moderate")], [change("defense", "not-supported", "weak")],
     "two bands outrank one"),
    ([change("collateral", "does not apply", "applies")], [change("element", "supported", "contested")],
     "a collateral consequence outranks an element"),
    ([change("defense", "weak", "strong")], [change("defense", "not-supported", "moderate")] * 3,
     "legal effect, not the number of changes"),
])
def test_the_measure_follows_legal_effect(higher, lower, why):
    classes = {"PC 118.1": "wobbler", "PC 11142": "misdemeanor"}
    assert priorities.measure(higher, classes) > priorities.measure(lower, classes), why


def test_a_missing_date_is_tried_between_the_dates_the_case_holds(kb):
    text = case_text(dates="dates:\n  first_query: 2025-01-04\n  last_query: 2025-03-30\n  investigation_opened: 2025-06-01")
    case = casefile.loads(text, "t.yaml", kb)
    low, high = priorities.date_bounds(case, "dates.agency_discovered", ["dates.last_query"], AS_OF)
    assert (low, high) == (dt.date(2025, 3, 30), dt.date(2025, 6, 1))      # after the queries, before the IA opened
    low, high = priorities.date_bounds(case, "dates.criminal_investigation_opened", [], AS_OF)
    assert low is None and high == AS_OF


def test_an_answer_leaves_the_case_it_was_asked_about_unchanged(kb):
    text = case_text(allegations='allegations:\n  - {citation: "PC 502(c)(7)", status: charged}')
    case, r = assess(kb, text, {"subject-queries": 2})
    before = case.model_dump_json()
    priorities.rank(case, kb, r, lambda c: engine.assess(c, kb, None, AS_OF), AS_OF)
    assert case.model_dump_json() == before


def test_the_fact_that_flips_a_defense_from_weak_to_strong_ranks_first(kb_copy):
    """The mechanism on a knowledge base where shared credentials would decide identity: with only a supporting
    factor for mistaken identity (queries from an unassigned terminal) the defense is weak; the one unknown fact
    that would make it strong is asked first, ahead of facts that raise new counts."""
    from assessment.law import kb as kbmod
    path = kb_copy / "defenses" / "mistaken-identity.yaml"
    text = path.read_text(encoding="utf-8")
    head, rest = text.split('- when: ["fact:credentials_shared=yes"]', 1)
    rest = rest.replace("weight: substantial", "weight: dispositive", 1)
    path.write_text(head + '- when: ["fact:credentials_shared=yes"]' + rest, encoding="utf-8")
    kb = kbmod.load(kb_copy)
    _, r = assess(kb, case_text(allegations='allegations:\n  - {citation: "PC 502(c)(7)", status: charged}',
                                facts=facts(credentials_shared="unknown", records_altered="unknown",
                                            information_disclosed="unknown")),
                  {"subject-queries": 3, "unassigned-terminal-queries": 2})
    assert {d.id: d.strength for d in r.defenses}["mistaken-identity"] == "weak"
    first = r.investigation_priorities[0]
    assert first.fact == "fact:credentials_shared" and first.answer == "yes"
    assert any(c.target == "mistaken-identity" and (c.before, c.after) == ("weak", "strong") for c in first.changes)
    assert first.impact.startswith("If yes: Mistaken identity: weak to strong")


def test_a_date_that_waits_on_another_says_which(kb):
    """A criminal investigation cannot close before it is known to have opened: the closing date is listed as
    waiting on the opening date, not as a mistake in the dates."""
    _, r = assess(kb, case_text(dates="dates:\n  first_query: 2025-01-04\n  agency_discovered: 2025-04-02"),
                  {"subject-queries": 2})
    closed = next(p for p in r.investigation_priorities if p.fact == "fact:dates.criminal_investigation_closed")
    assert closed.answers == [] and closed.impact == "Not tried until the date the criminal investigation opened is known."
