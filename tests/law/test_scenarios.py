"""The knowledge base's own scenarios (knowledge/**/X.scenarios.yaml), one pytest case each,
and the meta-tests that every statute and defense has a positive and a negative scenario."""

import pytest

from assessment.law import kb as kbmod
from assessment.law import scenarios

from conftest import ROOT, run_cli

KB_DIR = ROOT / "knowledge"
ALL = [(lf, sc) for lf in scenarios.load(KB_DIR) for sc in lf.scenarios]


@pytest.mark.parametrize("loaded, scenario", ALL, ids=[f"{lf.subject}: {sc.name}" for lf, sc in ALL])
def test_scenario(kb, loaded, scenario):
    assert scenarios.run_one(kb, scenario) == []


def test_every_statute_and_defense_has_positive_and_negative_scenarios(kb):
    assert scenarios.coverage(kb, KB_DIR) == []
    assert len(ALL) >= 2 * (len(kb.statutes) + len(kb.defenses))


def test_a_wrong_expectation_fails_with_file_and_line(kb_copy):
    path = kb_copy / "statutes" / "pc-92.scenarios.yaml"
    path.write_text(path.read_text().replace('"PC 92": {classification: felony,', '"PC 92": {classification: misdemeanor,'))
    kb = kbmod.load(kb_copy)
    count, problems = scenarios.run_all(kb, kb_copy)
    assert count == len(ALL)
    (p,) = problems
    assert p.code == "KB006" and p.file.endswith("pc-92.scenarios.yaml") and p.line == 3
    assert "expected misdemeanor, got felony" in p.message
    out = run_cli("validate-kb", "--dir", str(kb_copy))
    assert out.returncode == 1 and "KB006" in out.stderr


def test_a_missing_negative_scenario_is_reported(kb_copy):
    path = kb_copy / "defenses" / "mitigation.scenarios.yaml"
    text = path.read_text()
    path.write_text(text[: text.index("  - name: prior discipline")])
    problems = scenarios.coverage(kbmod.load(kb_copy), kb_copy)
    assert [(p.code, p.message) for p in problems] == [("KB007", "'mitigation' has no negative scenario")]


def test_a_scenario_naming_a_rule_it_does_not_apply_fails(kb_copy):
    path = kb_copy / "defenses" / "statute-of-limitations.scenarios.yaml"
    text = path.read_text()
    # the misdemeanor DMV case has no federal count, so 18 U.S.C. § 3282 never applies to it
    path.write_text(text.replace("rules: [pc-802a, strength-by-effect]", "rules: [pc-802a, strength-by-effect, usc-3282]", 1))
    count, problems = scenarios.run_all(kbmod.load(kb_copy), kb_copy)
    (p,) = problems
    assert p.code == "KB006" and "names rule usc-3282, but no statute's limitation applies it" in p.message


def test_a_rule_without_a_scenario_is_reported(kb_copy):
    path = kb_copy / "defenses" / "statute-of-limitations.scenarios.yaml"
    path.write_text(path.read_text().replace("rules: [usc-3282]", "rules: []"))
    problems = scenarios.coverage(kbmod.load(kb_copy), kb_copy)
    assert [(p.code, p.message) for p in problems] == [
        ("KB007", "rule 'usc-3282' has no scenario that names it in `rules:`")]
