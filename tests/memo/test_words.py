"""The basis of each statement in words (memo/words.py)."""
import datetime as dt

import pytest

from assessment.core import casefile
from assessment.evidence import analyse as evidence
from assessment.law import engine
from assessment.memo.words import Words, rows_text, short_cite, short_source

from conftest import DEMO


@pytest.fixture(scope="module")
def words(kb):
    folder = DEMO / "off-duty-lookups"
    case = casefile.load(folder / "case.yaml", kb)
    return Words(engine.assess(case, kb, evidence.analyse(case, folder), dt.date(2026, 11, 30)))


@pytest.mark.parametrize("basis, out", [
    (["finding:subject-queries"], "Audit log rows 80, 195, 295, 419, 473 and 538 (subject queries)"),
    (["finding:unassigned-terminal-queries"], "Audit log: no queries found (unassigned terminal)"),
    (["fact:stated_purpose"], "Fact: stated purpose"),
    (["fact:harm_to_subject", "fact:records_altered"], "Facts: harm to subject, records altered"),
    (["fact:dates.first_query", "fact:dates.charges_filed"], "Dates: first query, charges filed"),
    (["fact:client.clets_training_date"], "Client: CLETS training date"),
    (["fact:allegations"], "Charges in the case file"),
    (["fact:subjects.protective_order"], "Subjects: protective order"),
    (["kb:pc-502"], "Knowledge base: PC 502"),
    (["kb:mistaken-identity"], "Knowledge base: Mistaken identity"),
    (["kb:employment.discipline"], "Knowledge base: employment consequences"),
    (["narrative:3"], "Narrative, sentence 3"),
    (["as_of"], "Assessment date"),
    (["Pen. Code § 801.7"], "Pen. Code § 801.7"),
    (["fact:stated_purpose", "fact:stated_purpose"], "Fact: stated purpose"),
])
def test_basis_ids_read_as_words(words, basis, out):
    assert words(basis) == out


def test_rows_text_lists_a_few_and_counts_the_rest():
    assert rows_text([7]) == "7" and rows_text([1, 2]) == "1 and 2" and rows_text([]) == "none"
    assert rows_text(list(range(1, 21)), shown=3) == "1, 2, 3 and 17 more"


@pytest.mark.parametrize("source, out", [
    ("Pen. Code § 17(b) (official text, amended Stats. 2025, ch. 611)", "Pen. Code § 17(b)"),
    ("Brady v. Maryland (1963) 373 U.S. 83", "Brady v. Maryland (1963) 373 U.S. 83"),
    ("Gov. Code § 15153 (section number inferred; secondary)", "Gov. Code § 15153 (section number inferred; secondary)"),
    ("Teran v. Superior Court (2025) (Cal. Ct. App., 2d Dist., Div. 5; official cite not found)",
     "Teran v. Superior Court (2025) (Cal. Ct. App., 2d Dist., Div. 5; official cite not found)"),
    ("United States v. Nosal (9th Cir. 2012) 676 F.3d 854 (en banc)",
     "United States v. Nosal (9th Cir. 2012) 676 F.3d 854 (en banc)"),
    ("Gov. Code § 1029(a)(4)(A) (FindLaw copy current as of January 1, 2023); Pen. Code § 17(b)",
     "Gov. Code § 1029(a)(4)(A); Pen. Code § 17(b)"),
])
def test_a_short_source_keeps_the_citations_and_every_caveat_and_drops_where_it_was_read(source, out):
    assert short_source(source) == out


@pytest.mark.parametrize("cite, out", [
    ("Lybarger v. City of Los Angeles (1985) 40 Cal.3d 822", "Lybarger (1985)"),
    ("People v. Guzman (2019) 8 Cal.5th 673", "Guzman (2019)"),
    ("United States v. Christensen (9th Cir. 2016) 828 F.3d 763 (amended opinion)", "Christensen (2016)"),
    ("People v. Superior Court (Johnson) (2015) 61 Cal.4th 696", "Johnson (2015)"),
    ("Garrity v. New Jersey (1967) 385 U.S. 493", "Garrity (1967)"),
    ("An unusual authority", "An unusual authority"),
])
def test_a_case_is_named_short_after_its_full_cite(cite, out):
    assert short_cite(cite) == out


def test_with_the_case_file_a_source_gives_the_date_and_the_fact_it_rests_on(kb):
    folder = DEMO / "off-duty-lookups"
    case = casefile.load(folder / "case.yaml", kb)
    words = Words(engine.assess(case, kb, evidence.analyse(case, folder), dt.date(2026, 11, 30)), case)
    assert words(["fact:dates.first_query", "fact:dates.charges_filed"]) == \
        "Dates: first query 2025-03-09, charges filed 2025-08-14"
    assert words(["fact:compelled_statement", "fact:stated_purpose"]) == \
        "Facts: compelled statement (yes), stated purpose (unknown)"


def test_a_bare_group_is_said_once_and_the_narrative_never_becomes_a_value(words):
    assert words(["fact:subjects", "fact:subjects.protective_order"]) == "Subjects: protective order"
    assert words(["fact:subjects"]) == "Subjects"
