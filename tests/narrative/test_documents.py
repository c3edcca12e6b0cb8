"""Issue 17: citations in the forms California documents use, text as it comes out of a PDF or
another machine, and suggestions that say why and how sure they are."""
from __future__ import annotations

import json

import pytest

from assessment.law import nlp
from assessment.narrative import evaluate as nlp_eval
from assessment.narrative.pipeline import extract
from assessment.narrative.tidy import decode, tidy

from conftest import run_cli


def statutes(text: str) -> list[str]:
    return [e["normalized"] for e in extract(text)["entities"] if e["label"] == "STATUTE"]


@pytest.mark.parametrize("text, want", [
    ("Offenses: 530.5(a) PC; 502(c)(1) PC", ["PC 530.5(a)", "PC 502(c)(1)"]),
    ("Charged: 1808.45 CVC and 538d(b)(1) PC.", ["VC 1808.45", "PC 538d(b)(1)"]),
    ("Also booked on 11377(a) H&S.", ["HSC 11377(a)"]),
    ("a violation of P.C. 11142", ["PC 11142"]),
    ("Pen. Code, § 502, subd. (c)(7)", ["PC 502(c)(7)"]),
    ("under Penal Code section 502, subdivision (c)(2).", ["PC 502(c)(2)"]),
    ("the Penal Code. As to section 502, subdivision (c)(7), the evidence is thin.", ["PC 502(c)(7)"]),
    ("PC 502(c)(1), (c)(2)", ["PC 502(c)(1)", "PC 502(c)(2)"]),
    ("Pen. Code, § 502, subds. (c)(1) and (c)(7)", ["PC 502(c)(1)", "PC 502(c)(7)"]),
    ("Penal Code sections 11142 and 11143", ["PC 11142", "PC 11143"]),
    ("sections 11142 and 11143 of the Penal Code", ["PC 11142", "PC 11143"]),
    ("11142 and 11143 PC", ["PC 11142", "PC 11143"]),
    ("Penal Code §§ 11142-11143", ["PC 11142", "PC 11143"]),
    ("Gov. Code, § 15150; VC 1808.45; 18 U.S.C. § 1030(a)(2)(C), 18 USC 2721", [
        "GC 15150", "VC 1808.45", "18 USC 1030(a)(2)(C)", "18 USC 2721"]),
    ("PC 502(c)(7), 14 times in March", ["PC 502(c)(7)"]),                  # a count is no section
    ("Vehicle Code. See section 4.2 of the policy manual and Policy section 340.", []),   # nor a policy's section
    ("section 502 alone, with no code anywhere", []),
])
def test_statutes_in_every_form_california_documents_use(text, want):
    assert statutes(text) == want


@pytest.mark.parametrize("text, want", [
    ("DR# 25-004417", "25-004417"), ("Report No. SD25-118842", "SD25-118842"),
    ("Incident #250314-0087", "250314-0087"), ("IA #2025-0113", "2025-0113"),
    ("Case No. 25CR-01877", "25CR-01877"), ("No. 26CF004512", "26CF004512"),
    ("Case No. CR-25-001122", "CR-25-001122"), ("Docket No. 25-CR-004417", "25-CR-004417"),
    ("RD 25-7781240", "25-7781240"),
])
def test_case_and_report_numbers_in_their_common_shapes(text, want):
    got = [e["normalized"] for e in extract(text)["entities"] if e["label"] == "CASE_NUMBER"]
    assert got == [want]


def test_a_date_of_birth_is_not_a_case_date_and_hides_no_other_date():
    got = [e["normalized"] for e in extract("He ran Ethan Cole, DOB 04/11/1990, on 3/10/2025.")["entities"]
           if e["label"] == "DATE"]
    assert got == ["2025-03-10"]


PDF = ("HARLAN VALLEY POLICE DEPARTMENT - SUPPLEMENTAL REPORT 25-004417\n"
       "Officer Riley Tran ran the plate during the investi-\n   gation. Tran told no one\n"
       "Page 1 of 3\n\fHARLAN VALLEY POLICE DEPARTMENT - SUPPLEMENTAL REPORT 25-004417\n"
       "what the return showed, and was charged under 502(c)(7)\n"
       "Page 2 of 3\n\fHARLAN VALLEY POLICE DEPARTMENT - SUPPLEMENTAL REPORT 25-004417\n"
       "PC on 03/10/2025.\nPage 3 of 3\n")


def test_pdf_text_keeps_its_offsets_and_reads_across_page_breaks():
    clean = tidy(PDF)
    assert len(clean) == len(PDF)
    assert "investigation" in clean and "Page 1 of 3" not in clean and "SUPPLEMENTAL REPORT" not in clean
    got = extract(PDF, None, ["Riley Tran"])
    for e in got["entities"]:
        assert clean[e["start"]:e["end"]] == e["text"]           # offsets point into the text as entered
    assert "PC 502(c)(7)" in [e["normalized"] for e in got["entities"]]    # "502(c)(7)" + page break + "PC"
    told = [f for f in got["facts"] if f["key"] == "information_disclosed"]
    assert [f["value"] for f in told] == ["no"]                   # one sentence across the page break


def test_bytes_in_any_encoding_are_read():
    text = "Officer José Peña ran plate 8JMA114 on 3/10/2025."
    for data in (text.encode("utf-8"), text.encode("utf-8-sig"), text.encode("utf-16"), text.encode("cp1252")):
        assert decode(data)[0].replace("\ufeff", "") == text
    assert decode(b"\x81\x8d\x8f")[1] in ("windows-1252", "latin-1")       # any byte reads
    people = [e["normalized"] for e in extract(text)["entities"] if e["label"] == "PERSON"]
    assert people == ["José Peña"]


def test_every_suggestion_says_why_and_how_sure(tmp_path):
    text = ("ALLEGATIONS\nOfficer Riley Tran disclosed the address to a neighbor.\n\nFINDINGS\n"
            "Tran was ordered to answer questions in a compelled interview. Tran said he told no one.")
    facts = extract(text, None, ["Riley Tran"])["facts"]
    assert facts and all({"key", "value", "sentence", "evidence", "reason", "confidence"} <= set(f) for f in facts)
    by_key = {(f["key"], f["value"]): f for f in facts}
    assert by_key[("compelled_statement", "yes")]["confidence"] in ("high", "medium")
    # the allegation and the finding disagree: both are low, and the allegation says why
    assert by_key[("information_disclosed", "yes")]["confidence"] == "low"
    assert "allegation" in by_key[("information_disclosed", "yes")]["reason"]
    assert by_key[("information_disclosed", "no")]["confidence"] == "low"
    order = ["high", "medium", "low"]
    assert [order.index(f["confidence"]) for f in facts] == sorted(order.index(f["confidence"]) for f in facts)


def test_a_notice_addressed_to_the_client_reads_you_as_the_client():
    text = ("Dear Officer Lindqvist:\n\nOn February 21, 2025, you deleted the query log entries for your "
            "terminal. You made the inquiries for a personal reason.")
    got = {(f["key"], f["value"]) for f in extract(text, None, ["Tessa Lindqvist"])["facts"]}
    assert ("records_altered", "yes") in got and ("stated_purpose", "personal") in got
    # the same words in a letter to someone else say nothing about the client
    other = text.replace("Dear Officer Lindqvist", "Dear Counsel")
    assert not {(f["key"], f["value"]) for f in extract(other, None, ["Tessa Lindqvist"])["facts"]} & got


def test_bullets_and_fields_are_sentences_of_their_own():
    text = "Interview notes\n- C says he never told anyone\n- Sgt. Mia Torres approved the run\nDate: 3/10/2025"
    got = extract(text, None, ["Riley Tran"])
    assert [s.strip() for s in got["sentences"]][1:3] == ["- C says he never told anyone", "- Sgt. Mia Torres approved the run"]


@pytest.mark.parametrize("text", ["", "   \n\n  ", "\x00\x01 binary \ufffd junk", "a" * 200_000])
def test_empty_odd_and_long_text_gives_a_result(text):
    got = extract(text)
    assert set(got) == {"entities", "facts", "sentences"}


def test_the_cli_reads_another_encoding_and_keeps_its_json_format(tmp_path):
    f = tmp_path / "n.txt"
    f.write_bytes("Offenses: 530.5(a) PC; 1808.45 CVC. Officer José Peña did not tell anyone.".encode("cp1252"))
    res = run_cli("extract", str(f), "--json", "--client", "José Peña")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert [e["normalized"] for e in out["entities"] if e["label"] == "STATUTE"] == ["PC 530.5(a)", "VC 1808.45"]
    assert all({"label", "text", "start", "end", "normalized"} <= set(e) for e in out["entities"])
    (fact,) = out["facts"]
    assert {"key": "information_disclosed", "value": "no"}.items() <= fact.items()
    assert {"sentence", "evidence", "reason", "confidence"} <= set(fact)


def test_a_support_quote_must_come_from_the_text():
    with pytest.raises(ValueError, match="not a quote"):
        nlp.GoldNarrative(id="x", style="notes", text="C says he told no one.", facts={"information_disclosed": "no"},
                          support={"information_disclosed": "C says he told his wife."})


# The realistic documents (knowledge/nlp/gold-documents-*.yaml). The development part was tuned on;
# the held-out part was scored once (its first score is in its header). Statutes, dates and case
# numbers must hold on both; fact scores are printed by `clets-assess eval-nlp`, and the floor below
# only guards against a change that makes them worse than the first score.
@pytest.mark.parametrize("part, facts_floor", [("dev", (0.84, 0.57)), ("heldout", (0.74, 0.48)),
                                               ("heldout-2", (0.70, 0.50))])
def test_realistic_documents_keep_their_scores(part, facts_floor, kb):
    ents, facts, n = nlp_eval.evaluate(nlp.nlp_dir() / f"gold-documents-{part}.yaml", kb)
    assert n == 30
    report = nlp_eval.report(ents, facts, n, True)
    assert ents.row("STATUTE")[5] >= 0.95 and ents.row("DATE")[5] >= 0.95, report
    assert ents.row("CASE_NUMBER")[5] >= 0.90, report
    keys = set(facts.tp) | set(facts.fp) | set(facts.fn)
    _, _, _, p, r, _ = facts.total(keys)
    assert p >= facts_floor[0] and r >= facts_floor[1], report


NOTES = "Interview notes\n- C says $75 per address, the bondsman paid him through a payment app to his personal acct.\n"


def test_the_trained_model_adds_what_no_trigger_finds_and_the_rules_still_veto():
    assert extract(NOTES, None, ["Riley Tran"], mode="rules")["facts"] == []
    (f,) = extract(NOTES, None, ["Riley Tran"])["facts"]
    assert (f["key"], f["value"], f["confidence"]) == ("financial_gain", "yes", "medium")
    assert f["reason"].startswith("No trigger phrase matched; the trained model reads the sentence as saying it (its score 0.")
    hedged = NOTES.replace("the bondsman paid him", "the bondsman may have paid him")
    assert extract(hedged, None, ["Riley Tran"])["facts"] == []                 # a hedge vetoes the model
    other = NOTES.replace("C says", "Sgt. Mia Torres says").replace("paid him", "paid Torres").replace("his personal", "her")
    assert not [f for f in extract(other, None, ["Riley Tran"])["facts"] if "trained model reads" in f["reason"]]


def test_without_trained_weights_the_rules_work_alone(monkeypatch):
    from assessment.narrative import model
    monkeypatch.setattr(model, "load", lambda folder=str(model.MODEL_DIR): None)
    assert extract(NOTES, None, ["Riley Tran"])["facts"] == []
    assert extract("Tran ran the plate. He did not tell anyone.", None, ["Riley Tran"])["facts"][0]["value"] == "no"


def test_the_shipped_weights_are_what_train_nlp_makes_from_the_data(tmp_path):
    """Deterministic given its seed; fails when knowledge/nlp/ changed and `clets-assess train-nlp` was not run."""
    from assessment.narrative import model
    res = run_cli("train-nlp", "-o", str(tmp_path / "m"))
    assert res.returncode == 0, res.stderr
    assert "trained on" in res.stdout and "seed 17" in res.stdout
    sentences = [NOTES, "Tran was given the Lybarger admonition.", "No case number was entered.", "Nothing here."]
    fresh, shipped = model.scores(sentences, str(tmp_path / "m")), model.scores(sentences)
    assert fresh is not None and shipped is not None
    for a, b in zip(fresh, shipped, strict=True):
        assert a.keys() == b.keys() and all(abs(a[k] - b[k]) < 1e-4 for k in a), "run clets-assess train-nlp"


def test_eval_nlp_measures_each_mode_apart():
    res = run_cli("eval-nlp", "--gold", str(nlp.nlp_dir() / "gold-heldout-3.yaml"), "--mode", "model")
    assert res.returncode == 0 and "(facts: model)" in res.stdout and "shown by default" in res.stdout
    bad = run_cli("eval-nlp", "--mode", "neural")
    assert bad.returncode != 0 and "--mode must be rules, model or both" in bad.stderr


@pytest.mark.parametrize("text, want", [
    ("Penal Code section 832.7. Pitchess motion under Evidence Code section 1043.", ["PC 832.7"]),
    ("Welfare and Institutions Code section 827", []),
    ("Booking #2500417, 530.5(a) PC", ["PC 530.5(a)"]),
    ("Unit 2314 / 502(c)(7) PC", ["PC 502(c)(7)"]),
    ("PC 502(c)(1), 2025.", ["PC 502(c)(1)"]),
    ("PC 502(c)(7) - 2314.", ["PC 502(c)(7)"]),
    ("PC 11142-43", ["PC 11142", "PC 11143"]),
    ("Penal Code. Sections 12 and 13 of the MOU apply.", []),
    ("In 2024 PC 502 was amended.", ["PC 502"]),
    ("Tran ran 14 PC queries", []),
])
def test_what_is_not_a_statute_in_a_list_stays_out(text, want):
    assert statutes(text) == want


def test_an_answer_keeps_its_fact_and_a_bare_answer_suggests_nothing_alone():
    got = extract("Q: Did you show the printout to anyone?\nA: Yes, I did.", None, ["Riley Tran"])["facts"]
    assert [(f["key"], f["value"], f["confidence"]) for f in got] == [("information_disclosed", "yes", "high")]
    got = extract("Q: Did you delete the log entries?\nA: No.", None, ["Riley Tran"])["facts"]
    assert [(f["key"], f["value"]) for f in got] == [("records_altered", "no")]     # no model guess from "A: No."


def test_a_wrapped_line_is_not_a_letter_addressed_to_the_client():
    text = ("Dear Counsel:\nThe report was delivered\nto Officer Tran on March 3, 2025. You disclosed the printout "
            "to a friend.")
    assert extract(text, None, ["Riley Tran"])["facts"] == []


def test_repeated_answers_in_a_paged_transcript_are_not_running_headers():
    page = "Q: Did you tell anyone what the return showed?\nA: No, I did not tell anyone.\n"
    text = "\f".join(page + f"Page {i} of 4\n" for i in range(1, 5))
    clean = tidy(text)
    assert clean.count("A: No, I did not tell anyone.") == 4 and "Page 2 of 4" not in clean


def test_utf8_with_a_stray_windows_quote_keeps_its_accents():
    text, enc = decode("Officer José Peña said ".encode() + b"\x93no\x94")
    assert text.startswith("Officer José Peña said") and enc.startswith("utf-8")
