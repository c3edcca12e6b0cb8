"""What each outcome costs (law/dispositions.py over knowledge/dispositions.yaml): a complete matrix, every cell
with its rule and `verified`, unknown cells stated both ways, outcomes open only where the counts allow."""
import datetime as dt

import pytest

from assessment.core import casefile
from assessment.core.errors import AssessmentError
from assessment.evidence.model import EvidenceResult, Finding
from assessment.law import dispositions, engine, model
from assessment.law.kb import COLUMN_IDS, OUTCOME_IDS

from conftest import case_text

AS_OF = dt.date(2026, 11, 30)


def assess(kb, text, findings=None):
    case = casefile.loads(text, "t.yaml", kb)
    ev = None if findings is None else EvidenceResult(files=[], client_queries=0, findings={
        k: Finding(k, n, list(range(1, n + 1)), "t", details={"by_subject": {"Alex Roe": n}}) for k, n in findings.items()})
    return engine.assess(case, kb, ev, AS_OF, rank_questions=False)


CHARGED = 'allegations:\n  - {citation: "PC 502(c)(2)", status: charged}'


def test_every_outcome_has_a_cell_under_every_heading_with_its_rule(kb):
    r = assess(kb, case_text(allegations=CHARGED), {"subject-queries": 3})
    assert [d.id for d in r.dispositions] == list(OUTCOME_IDS)
    for d in r.dispositions:
        assert [c.column for c in d.cells] == list(COLUMN_IDS), d.id
        for c in d.cells:
            assert c.text.strip() and c.rule.strip(), (d.id, c.column)
            assert any(b.startswith("kb:dispositions.") for b in c.basis), (d.id, c.column)


def test_an_unknown_fact_makes_the_cell_unknown_and_states_it_both_ways(kb):
    """Whether the look-ups served the agency decides the DPPA cell: unknown purpose gives both answers; a known
    purpose gives the one that applies."""
    unknown = assess(kb, case_text(allegations=CHARGED), {"subject-queries": 3})
    cell = next(c for c in unknown.dispositions[0].cells if c.column == "dppa")
    assert cell.status == "unknown" and cell.unknown == ["fact:stated_purpose"]
    assert cell.text.startswith("Unknown until stated purpose of the queries is known. If official:")
    assert "Otherwise:" in cell.text
    personal = assess(kb, case_text(allegations=CHARGED, facts="facts:\n  stated_purpose: personal"),
                      {"subject-queries": 3})
    known = next(c for c in personal.dispositions[0].cells if c.column == "dppa")
    assert known.status == "applies" and known.unknown is None
    assert known.text.split(" Subject queries")[0] in cell.text          # the "otherwise" branch, word for word


def test_the_dppa_cell_counts_each_subjects_queries(kb):
    r = assess(kb, case_text(allegations=CHARGED, facts="facts:\n  stated_purpose: personal"), {"subject-queries": 3})
    cell = next(c for c in r.dispositions[0].cells if c.column == "dppa")
    assert "Alex Roe: 3 queries" in cell.text and "rows 1, 2, 3" in cell.text
    assert "finding:subject-queries" in cell.basis


def test_the_criminal_cell_gives_each_counts_exposure_at_the_outcomes_level(kb):
    r = assess(kb, case_text(allegations=CHARGED), {"subject-queries": 3})
    rows = {d.id: d for d in r.dispositions}
    crim = {k: next(c for c in d.cells if c.column == "criminal").text for k, d in rows.items()}
    assert "PC 502(c)(2): county jail up to one year" in crim["misdemeanor"]
    assert "Felony" not in crim["misdemeanor"].split("Counts at this level:")[1]
    assert "PC 502(c)(2): 16 months, 2 or 3 years" in crim["felony"]
    assert "Counts at this level" not in crim["dismissal"]
    assert not rows["infraction"].available and "no count can be an infraction" in rows["infraction"].availability
    assert rows["felony-reduced"].available


def test_an_infraction_count_shows_its_fine_without_a_custody_of_none(kb):
    r = assess(kb, case_text(allegations='allegations:\n  - {citation: "PC 502(c)(7)", status: charged}'),
               {"subject-queries": 1})
    row = next(d for d in r.dispositions if d.id == "infraction")
    text = next(c for c in row.cells if c.column == "criminal").text
    assert row.available and "PC 502(c)(7): fine up to $1,000" in text and "None" not in text
    reduced = next(d for d in r.dispositions if d.id == "felony-reduced")     # only with an injury or a prior
    assert reduced.available and reduced.availability.startswith("Open only if the facts reach another penalty tier")
    diversion = next(d for d in r.dispositions if d.id == "diversion")          # § 1001.95: misdemeanor cases only
    assert diversion.availability.startswith("Open only if the facts reach another penalty tier")


def test_a_count_with_no_paragraph_leaves_the_outcomes_open_and_says_why(kb):
    r = assess(kb, case_text(allegations='allegations:\n  - {citation: "PC 502", status: charged}'), None)
    felony = next(d for d in r.dispositions if d.id == "felony")
    assert felony.available and "depends on the paragraph charged: PC 502 names no subdivision" in felony.availability


def test_a_wobblers_custody_is_split_by_level():
    s = model.Statute.model_construct(citation="PC 1", penalty_tiers=[model.Tier(
        when="base", classification="wobbler", applies=True, source="Pen. Code § 1", verified=False,
        custody="Felony: 16 months, 2 or 3 years. Misdemeanor: county jail up to one year.",
        fine="Felony: up to $10,000. Misdemeanor: up to $5,000.")])
    assert dispositions.exposure(s, "misdemeanor") == ("PC 1: county jail up to one year; fine up to $5,000 "
                                                       "(Pen. Code § 1) (UNVERIFIED)")
    assert dispositions.exposure(s, "felony").startswith("PC 1: 16 months, 2 or 3 years; fine up to $10,000")
    assert dispositions.exposure(s, "infraction") is None


def test_with_nothing_named_the_matrix_is_measured_on_what_the_facts_suggest(kb):
    r = assess(kb, case_text(facts="facts:\n  stated_purpose: personal\n  information_disclosed: yes"),
               {"subject-queries": 2})
    plea = next(d for d in r.dispositions if d.id == "misdemeanor")
    assert plea.available and plea.availability.startswith("Measured on the statutes the facts suggest")
    none = assess(kb, case_text(), None)
    assert not any(d.available for d in none.dispositions if d.kind == "criminal" and d.id != "dismissal")


def test_a_matrix_with_a_blank_cell_is_refused_with_its_place(kb_copy):
    from assessment.law import kb as kbmod
    path = kb_copy / "dispositions.yaml"
    text = path.read_text(encoding="utf-8")
    data = kbmod.yamlio.parse(text, "dispositions.yaml", kbmod.KB001)
    last = max(i for i, c in enumerate(data["cells"]) if c["column"] == "pension" and not c.get("when"))
    del data["cells"][last]
    path.write_text(kbmod.yamlio.dump(data), encoding="utf-8")
    with pytest.raises(AssessmentError) as err:
        kbmod.load(kb_copy)
    msg = str(err.value)
    assert "knowledge/dispositions.yaml" in msg and "no unconditional cell under 'pension'" in msg
