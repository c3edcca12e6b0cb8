"""The brief answer (memo/brief.py): what it picks for each point, case by case."""
import datetime as dt

import pytest

from assessment.core import casefile
from assessment.evidence import analyse as evidence
from assessment.law import engine
from assessment.memo import brief

from conftest import DEMO

AS_OF = dt.date(2026, 11, 30)


def answer(kb, name="off-duty-lookups", *, client=None, dates=None, allegations=None, facts=None, evidence_too=True):
    folder = DEMO / name
    case = casefile.load(folder / "case.yaml", kb)
    update = {}
    if client:
        update["client"] = case.client.model_copy(update=client)
    if dates is not None:
        update["dates"] = case.dates.model_copy(update=dates)
    if allegations is not None:
        update["allegations"] = [casefile.Allegation(**a) for a in allegations]
    if facts:
        update["facts"] = case.facts.model_copy(update=facts)
    case = case.model_copy(update=update)
    result = engine.assess(case, kb, evidence.analyse(case, folder) if evidence_too else None, AS_OF)
    return result, brief.brief(result)


def point(b, label):
    return next((p for p in b.points if p.label == label), None)


def test_the_answer_names_the_counts_and_the_most_serious_exposure_with_custody_and_fine(kb):
    _, b = answer(kb)
    assert b.answer.startswith("Riley Tran is charged with 6 counts: PC 502(c)(2) (4 counts), VC 1808.45 (2 counts). "
                               "The most serious is PC 502(c)(2), a wobbler.")
    exposure = point(b, "Most serious exposure").text
    assert exposure.startswith("PC 502(c)(2) (4 counts charged; Unauthorized access to computers")
    assert "Felony: 16 months, 2 or 3 years" in exposure and "Fine: Felony: up to $10,000" in exposure


def test_a_charged_count_outranks_a_more_serious_possible_one_which_is_still_named(kb):
    _, b = answer(kb, allegations=[{"citation": "VC 1808.45", "status": "charged", "counts": 1},
                                   {"citation": "PC 502(c)(2)", "status": "possible", "counts": 1}])
    assert point(b, "Most serious exposure").text.startswith("VC 1808.45 (1 count charged;")
    assert "The most serious is VC 1808.45, a misdemeanor. (PC 502(c)(2) is a wobbler but only possible.)" in b.answer
    assert "Possible: PC 502(c)(2)." in b.answer


def test_with_nothing_charged_the_answer_says_none_is_filed_and_leads_with_a_count_not_yet_barred(kb):
    _, b = answer(kb, allegations=[{"citation": "PC 502(c)(7)", "status": "alleged", "counts": 1},
                                   {"citation": "VC 1808.45", "status": "possible", "counts": 1}])
    # VC 1808.45's one year ran out on 2026-04-27: a graver count that can no longer be charged does not lead
    assert b.answer.startswith("No charge has been filed against Riley Tran. The allegation is PC 502(c)(7). "
                               "Possible: VC 1808.45. The most serious is PC 502(c)(7), an infraction. "
                               "(VC 1808.45 is a misdemeanor but only possible.)")
    assert "The limitation period has run on VC 1808.45." in b.answer
    _, b = answer(kb, allegations=[{"citation": "PC 502(c)(7)", "status": "alleged", "counts": 1},
                                   {"citation": "PC 502(c)(2)", "status": "possible", "counts": 1}])
    assert "The most serious is PC 502(c)(2), a wobbler." in b.answer                # both open: by class


def test_an_uncharged_count_is_never_said_to_be_filed_in_time(kb):
    _, b = answer(kb, allegations=[{"citation": "PC 502(c)(2)", "status": "charged", "counts": 1},
                                   {"citation": "VC 1808.45", "status": "possible", "counts": 1}])
    line = point(b, "Limitation").text
    assert "PC 502(c)(2): filed in time" in line and "VC 1808.45: barred for every act" in line


def test_an_attorneys_judgment_is_said_as_such_not_as_a_reason_against(kb):
    from assessment.core import review
    result, _ = answer(kb)
    judged = result.reviewed(review.Review(overrides=[review.Override(
        kind="defense", target="administrative-limitations", value="strong", reason="the tolling ended in May")]))
    text = point(brief.brief(judged), "Strongest defenses").text
    assert text.startswith("One-year limit on discipline (POBR) (strong): the attorney's judgment (the engine gives "
                           "not supported): the tolling ended in May.")


def test_with_no_count_named_the_answer_says_so_and_names_the_most_serious_suggestion(kb):
    result, b = answer(kb, allegations=[])
    assert b.answer.startswith("No count is named in the case file for Riley Tran. "
                               "The most serious statute the facts suggest is ")
    assert "suggested by the engine, not charged" in point(b, "Most serious exposure").text
    assert point(b, "Limitation") is None                                       # nothing charged to measure


def test_a_barred_count_is_said_in_the_answer_and_the_limitation_point(kb):
    _, b = answer(kb, allegations=[{"citation": "VC 1808.45", "status": "charged", "counts": 2}],
                  dates={"charges_filed": dt.date(2026, 6, 1)})
    assert "The limitation period has run on VC 1808.45." in b.answer
    assert "VC 1808.45: barred for every act; the period ran out on 2026-04-27" in point(b, "Limitation").text


def test_a_contested_limitation_is_said_to_turn_on_805a_with_both_readings(kb):
    _, b = answer(kb, "front-counter-login")
    assert "Whether the period has run on PC 502(c)(7) turns on Pen. Code § 805(a)." in b.answer
    assert point(b, "Limitation").text.startswith(
        "PC 502(c)(7): contested under Pen. Code § 805(a): barred on the tier the facts show (infraction; the period "
        "ran out on 2026-08-14); open until 2028-08-25 for the latest act if it is punishable as a wobbler")
    assert b.answer.startswith("No charge has been filed against Pat Quinlan. The allegation is PC 502(c)(7).")


def test_the_two_strongest_defenses_each_in_one_sentence_with_their_basis(kb):
    result, b = answer(kb, "front-counter-login")
    lead = [d for d in result.defenses if d.strength != "not-supported"][:2]
    text = point(b, "Strongest defenses").text
    assert [d.name for d in lead] == ["Mistaken identity", "Statute of limitations"]
    assert text.startswith("Mistaken identity (moderate): Credentials were shared")
    assert text.count(". ") <= 3                                                # a sentence each, not the factor lists
    assert "Fact: credentials shared" in point(b, "Strongest defenses").source


@pytest.mark.parametrize("name, role, risk", [
    ("off-duty-lookups", "peace_officer",                                          # § 17(b) does not save the career
     "Administrative and licensing: A felony conviction ends a peace officer's eligibility even if reduced"),
    ("off-duty-lookups", "dispatcher", "Employment: Loss of public pension rights on a felony"),     # a felony is charged
    ("front-counter-login", "dispatcher", "Employment: Discipline up to termination"),             # an infraction
])
def test_the_largest_collateral_risk_follows_the_clients_role_and_the_charges(kb, name, role, risk):
    _, b = answer(kb, name, client={"role": role})
    assert point(b, "Largest collateral risk").text.startswith(risk)


def test_contradictory_dates_are_the_first_question(kb):
    _, b = answer(kb, dates={"agency_discovered": dt.date(2025, 1, 1)})   # before the first query
    assert b.questions[0].startswith("The case dates contradict each other")
    assert len(b.questions) == 3


def test_with_the_limitation_unknown_the_missing_dates_are_asked_first(kb):
    _, b = answer(kb, "front-counter-login", dates={"first_query": None, "last_query": None}, evidence_too=False)
    assert b.questions and b.questions[0].startswith("When ")


def test_the_open_questions_whose_answer_changes_most_come_first_then_the_leading_defenses(kb):
    """Issue 18: the brief's questions follow the investigation priorities (ranked by what the answer changes);
    the leading defense's own question follows them."""
    result, b = answer(kb)
    ranked = [p.question for p in result.investigation_priorities if p.changes]
    lead = [d for d in result.defenses if d.strength != "not-supported"][:2]
    assert ranked and b.questions[:len(ranked[:3])] == ranked[:3]
    if len(ranked) < 3:
        assert b.questions[len(ranked)] == lead[0].open_questions[0]
        assert b.questions[len(ranked)].startswith("Did the compelled statement, or anything derived from it, reach")


def test_timing_questions_wait_while_every_count_is_plainly_within_its_period(kb):
    _, b = answer(kb)                                   # both counts filed in time
    assert not any("§ 804" in q or "§ 801.7" in q or "§ 803" in q for q in b.questions)
    result, b = answer(kb, "front-counter-login")       # contested: the § 805(a) question comes first
    assert b.questions[0].startswith("Pen. Code § 805(a): is PC 502(c)(7) \"punishable\"")
    assert b.questions[1] == next(p.question for p in result.investigation_priorities if p.changes)


def test_no_analysis_note_is_offered_as_a_question(kb):
    for name in ("off-duty-lookups", "front-counter-login"):
        _, b = answer(kb, name)
        assert not any("Analysis:" in q for q in b.questions)
