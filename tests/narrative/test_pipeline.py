"""Narrative mining: entities with normalized values, suggested facts that respect negation,
hedges and who acts, the command line and the evaluation targets. (The data's validation is the
knowledge base's: tests/law/test_kb.py and tests/law/test_edit.py.)"""
import json

import pytest

from assessment.core.errors import AssessmentError
from assessment.law import nlp
from assessment.narrative import evaluate as nlp_eval
from assessment.narrative import pipeline as narrative

from conftest import ROOT, run_cli


def ents(text, kb=None, client=()):
    return [(e["label"], e["normalized"]) for e in narrative.extract(text, kb, list(client))["entities"]]


def facts(text, client=("Riley Tran",)):
    return {(f["key"], f["value"]) for f in narrative.extract(text, None, list(client))["facts"]}


@pytest.mark.parametrize("text, normalized", [
    ("He was charged under Penal Code section 502(c)(7) last year.", "PC 502(c)(7)"),
    ("See Pen. Code, § 530.5, subd. (a).", "PC 530.5(a)"),
    ("The count is PC 502 (c)(2).", "PC 502(c)(2)"),
    ("Also P.C. 11142 applies.", "PC 11142"),
    ("Veh. Code, § 1808.45 protects the address.", "VC 1808.45"),
    ("Gov't Code § 15153 limits CLETS to official business.", "GC 15153"),
    ("Charged with 18 U.S.C. § 1030(a)(2) in federal court.", "18 USC 1030(a)(2)"),
    ("under section 1808.45 of the Vehicle Code", "VC 1808.45"),
    ("Cal. Penal Code § 11143 was alleged.", "PC 11143"),
    ("The DPPA claim is 18 USC 2721 (DPPA).", "18 USC 2721"),
])
def test_statutes_in_every_common_form(text, normalized):
    assert ("STATUTE", normalized) in ents(text)


def test_statutes_resolve_to_the_knowledge_base_and_unknown_ones_are_flagged(kb):
    got = narrative.extract("Charged under PC 502(c)(7) and PC 999.", kb)["entities"]
    known, unknown = got
    assert known["kb"] == "pc-502" and "problem" not in known
    assert unknown["normalized"] == "PC 999" and unknown["kb"] is None and "not in the knowledge base" in unknown["problem"]


@pytest.mark.parametrize("text, want", [
    ("It happened on March 10, 2025 at night.", [("DATE", "2025-03-10")]),
    ("It happened on Mar. 10, 2025.", [("DATE", "2025-03-10")]),
    ("It happened on 10 March 2025.", [("DATE", "2025-03-10")]),
    ("It happened on 3/10/2025.", [("DATE", "2025-03-10")]),
    ("It happened on 03/10/25.", [("DATE", "2025-03-10")]),
    ("It happened on 2025-03-10.", [("DATE", "2025-03-10")]),
    ("It happened in September 2025.", [("DATE", "2025-09")]),
    ("He ran it at 2314 hours.", []),                          # a time, not a date
    ("He was paid $1,500.00 and then 200 dollars.", [("MONEY", "1500"), ("MONEY", "200")]),
    ("He ran license plate 7ABC123.", [("PLATE", "7ABC123")]),
    ("The agency ORI is CA0379900.", [("ORI", "CA0379900")]),
    ("Queries ran under operator ID PO5512 from MDT0907.", [("OPERATOR_ID", "PO5512"), ("TERMINAL", "MDT0907")]),
    ("The queries used case number 25-7000123.", [("CASE_NUMBER", "25-7000123")]),
    ("The People v. Cho, No. 25CR-01877, is set.", [("CASE_NUMBER", "25CR-01877")]),
    ("CLETS recert 5/2024 on file.", [("DATE", "2024-05")]),
    ("Login active on DISP03 and DISP07 at once.", [("TERMINAL", "DISP03"), ("TERMINAL", "DISP07")]),
])
def test_dates_money_and_identifiers_are_normalized_and_told_apart(text, want):
    assert ents(text) == want


def test_case_citations_come_from_eyecite():
    got = narrative.extract("As held in Chrisman v. City of Los Angeles (2007) 155 Cal.App.4th 29, the rule "
                            "applies.")["entities"]
    (cite,) = [e for e in got if e["label"] == "CASE_CITE"]
    assert cite["normalized"] == "155 Cal. App. 4th 29" and cite["text"].startswith("Chrisman v. City of Los Angeles")


@pytest.mark.parametrize("text, name", [
    ("My name is Felicia Hunt. I work the front desk.", "Felicia Hunt"),
    ("He handed it to a man in the lobby, Jerome Tate.", "Jerome Tate"),
    ("The driver, Renee Calder, was rude.", "Renee Calder"),
    ("She ran her former brother-in-law, Desmond Pratt, from MDT2210.", "Desmond Pratt"),
])
def test_people_named_in_apposition(text, name):
    assert ("PERSON", name) in ents(text)


def test_people_with_their_relationship_to_the_client():
    got = narrative.extract("The plate belongs to his ex-girlfriend, Jamie Alder. Officer Riley Tran ran it.",
                            None, ["Riley Tran"])["entities"]
    people = {e["normalized"]: e.get("relationship") for e in got if e["label"] == "PERSON"}
    assert people == {"Jamie Alder": "ex_partner", "Riley Tran": None}


@pytest.mark.parametrize("text, want", [
    ("Officer Tran did not tell anyone what he found.", {("information_disclosed", "no")}),
    ("Tran told his friend where she lived.", {("information_disclosed", "yes")}),
    ("Tran may have shown the printout to a friend.", set()),                 # hedged
    ("The complainant recorded the call.", set()),                            # someone else's act
    ("Tran secretly recorded the call.", {("communications_recorded", "yes")}),
    ("The agency says Tran sold the addresses.", set()),                      # an allegation
    ("Tran received $500 for the lookups.", {("financial_gain", "yes")}),
    ("Tran left his MDT logged in during lunch.", {("credentials_shared", "yes")}),
    ("No supervisor approved the queries.", {("supervisor_authorized", "no")}),
    ("Tran said the lookups were for personal reasons.", {("stated_purpose", "personal")}),
    ("Q: Did you tell anyone where she lived? A: No.", {("information_disclosed", "no")}),
    ("Q. Did you pose as a DMV clerk? A. No.", {("impersonation", "no")}),
    # the one looked up is not the actor; the same pronoun is the same person; "May" is a month
    ("Tran looked up a famous rapper, Kai Rivers, out of curiosity.", {("stated_purpose", "personal")}),
    ("Tran met us. He looked up his daughter's boyfriend, Kyle Brandt, on May 30, 2025 because he was worried.",
     {("stated_purpose", "personal")}),
    ("Tran ran his neighbor, Ken Abbott, after he threatened Tran's son.", set()),
    ("Tran says his lieutenant approved the query; Lt. Diaz denies it.", set()),  # contradicted
    ("It alleges that Tran sold the addresses.", set()),                      # the complaint alleges
    ("Tran never gave the registration to anyone, and nobody paid him anything.",
     {("information_disclosed", "no"), ("financial_gain", "no")}),
    ("Tran erased her browser history but denies altering any records.", {("records_altered", "no")}),
])
def test_suggested_facts_respect_negation_hedges_and_who_acts(text, want):
    assert facts(text) == want


def test_each_suggestion_carries_its_sentence_and_trigger_words():
    got = narrative.extract("Tran ran the plate. He did not tell anyone.", None, ["Riley Tran"])
    (f,) = got["facts"]
    assert f == {"key": "information_disclosed", "value": "no", "sentence": 1, "evidence": "tell anyone",
                 "confidence": "high",
                 "reason": "Trigger words \u201ctell anyone\u201d; the client acts in the same sentence."}
    assert got["sentences"][1] == "He did not tell anyone."


def test_sentences_do_not_break_at_abbreviations_or_inside_citations():
    got = narrative.extract("Sgt. Lopez cited Pen. Code, § 530.5, subd. (a). Then he left.")
    assert got["sentences"] == ["Sgt. Lopez cited Pen. Code, § 530.5, subd. (a).", "Then he left."]


def test_the_pipeline_is_a_registered_factory_and_reloads_from_disk(tmp_path):
    import spacy
    nlp = narrative.pipeline()
    assert nlp.pipe_names == ["clets_narrative"]
    nlp.to_disk(tmp_path / "p")
    again = spacy.load(tmp_path / "p")
    doc = again("Charged under PC 502(c)(7) on March 10, 2025.")
    assert [(e.label_, e._.normalized) for e in doc.ents] == [("STATUTE", "PC 502(c)(7)"), ("DATE", "2025-03-10")]


def test_extract_command_prints_the_json_of_the_issue(tmp_path):
    path = tmp_path / "n.txt"
    path.write_text("On March 10, 2025 Officer Tran ran plate 8JMA114. He did not tell anyone.")
    res = run_cli("extract", str(path), "--json", "--client", "Riley Tran")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert set(out) == {"entities", "facts"}
    assert {"label": "DATE", "text": "March 10, 2025", "start": 3, "end": 17, "normalized": "2025-03-10"} in out["entities"]
    (fact,) = out["facts"]       # the issue's fields, and since issue 17 the reason and confidence beside them
    assert {"key": "information_disclosed", "value": "no", "sentence": 1, "evidence": "tell anyone"}.items() <= fact.items()
    assert fact["confidence"] == "high" and fact["reason"].startswith("Trigger words")


def test_extract_reads_standard_input():
    import subprocess
    import sys
    res = subprocess.run([sys.executable, "-m", "assessment.cli", "extract", "-", "--json"], input="See PC 11142.",
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0 and json.loads(res.stdout)["entities"][0]["normalized"] == "PC 11142"


# Held-out sets 1-5 were each scored once before any fix (their first scores are in the issue 5
# note and in each file's header) and have been tuned on since: all targets are asserted.
# gold-heldout-6.yaml is untuned: statutes and dates must hold there too; its fact scores are
# reported by `clets-assess eval-nlp`, not asserted (first read: P 0.833, R 0.455).
TUNED = ["gold.yaml", "gold-heldout.yaml"] + [f"gold-heldout-{i}.yaml" for i in range(2, 6)]


@pytest.mark.parametrize("gold", TUNED + ["gold-heldout-6.yaml"])
def test_evaluation_targets_hold(gold, kb):
    ents_, facts_, n = nlp_eval.evaluate(nlp.nlp_dir() / gold, kb)
    assert n >= (40 if gold == "gold.yaml" else 8)
    for label in ("STATUTE", "DATE"):
        assert ents_.row(label)[5] >= 0.95, nlp_eval.report(ents_, facts_, n, True)
    if gold in TUNED:
        _, _, _, precision, recall, _ = facts_.total(set(facts_.tp) | set(facts_.fp) | set(facts_.fn))
        assert precision >= 0.9 and recall >= 0.8, nlp_eval.report(ents_, facts_, n, True)


def test_eval_command_prints_every_set():
    res = run_cli("eval-nlp")
    assert res.returncode == 0, res.stderr
    for name in TUNED + ["gold-heldout-6.yaml"]:
        assert f"== {name}" in res.stdout
    assert "all facts" in res.stdout



def test_a_narrative_longer_than_spacys_default_limit_is_mined():
    sentence = "On March 10, 2025 the client ran plate 7ABC123 under PC 502(c)(7) for no case. "
    text = sentence * (1_000_000 // len(sentence) + 10)
    got = narrative.extract(text, None, ["Riley Tran"])
    assert len(text) > 1_000_000
    assert sum(e["normalized"] == "PC 502(c)(7)" for e in got["entities"]) == text.count("PC 502(c)(7)")
    assert len(got["sentences"]) == text.count(". ") and got["sentences"][-1] == sentence.strip()


def test_a_narrative_beyond_the_limit_gets_a_located_error(monkeypatch):
    monkeypatch.setattr(narrative, "MAX_CHARS", 100)
    with pytest.raises(AssessmentError) as exc:
        narrative.extract("x " * 60)
    assert exc.value.problems[0].code == "NL001" and exc.value.problems[0].field == "facts.narrative"
