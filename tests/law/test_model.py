"""The typed assessment (law/model.py): its JSON is the published one, its schema file cannot
drift from it, and the attorney's review is applied beside the engine's answers."""
import datetime as dt
import json
import subprocess
import sys

import pytest

from assessment.core import casefile
from assessment.core.errors import AssessmentError
from assessment.core.review import Override, Review, element_target
from assessment.evidence import analyse as evidence
from assessment.law import engine, model

from conftest import DEMO, ROOT

AS_OF = dt.date(2026, 11, 30)
SCHEMA_FILE = ROOT / "docs" / "assessment.schema.json"


@pytest.fixture(scope="module")
def assessed(kb):
    folder = DEMO / "off-duty-lookups"
    case = casefile.load(folder / "case.yaml", kb)
    return engine.assess(case, kb, evidence.analyse(case, folder), AS_OF)


def test_the_schema_file_is_the_models_schema():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == model.schema_json(), \
        "docs/assessment.schema.json is out of date: run python tools/assessment_schema.py"
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "assessment_schema.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout


def test_the_json_reads_back_into_the_same_assessment(assessed):
    """Every key the engine prints is a declared field (a misspelt or undeclared one fails to load),
    and reading the JSON back prints it again byte for byte."""
    text = assessed.to_json()
    again = model.Assessment.model_validate_json(text)
    assert again.to_json() == text
    data = json.loads(text)
    with pytest.raises(ValueError):
        model.Assessment.model_validate(data | {"unexpected": 1})


def test_absent_fields_are_left_out_not_printed_as_null(assessed):
    data = json.loads(assessed.to_json())
    suggested = next(s for s in data["statutes"] if s["source"] == "suggested")
    charged = next(s for s in data["statutes"] if s["source"] == "charged")
    assert "why" in suggested and "counts" not in suggested
    assert "counts" in charged and "why" not in charged
    assert all("override" not in d for d in data["defenses"])      # the engine never sets a judgment
    assert "narrative_basis" not in data


def test_a_review_keeps_the_engines_answer_beside_the_attorneys(assessed):
    weakest = assessed.defenses[-1]
    element = assessed.statutes[0].elements[0]
    other = "supported" if element.status != "supported" else "contested"
    review = Review(overrides=[
        Override(kind="defense", target=weakest.id, value="strong", reason="the client's log shows it"),
        Override(kind="element", target=element_target(assessed.statutes[0].citation, element.id), value=other,
                 reason="the witness says so")])
    reviewed = assessed.reviewed(review)
    top = reviewed.defenses[0]
    assert top.id == weakest.id and top.strength == "strong"
    assert top.override.engine == weakest.strength and top.override.reason == "the client's log shows it"
    assert reviewed.statutes[0].elements[0].status == other
    assert reviewed.statutes[0].elements[0].override.engine == element.status
    assert assessed.defenses[-1].override is None                  # the assessment itself is unchanged
    conclusion = next(c for c in reviewed.conclusions() if c.target == weakest.id)
    assert conclusion.engine == weakest.strength                    # the engine's answer, not the attorney's


def test_a_review_that_no_longer_fits_is_refused(assessed):
    stale = Review(overrides=[Override(kind="defense", target="no-such-defense", value="strong", reason="old")])
    with pytest.raises(AssessmentError) as exc:
        assessed.reviewed(stale)
    assert exc.value.problems[0].field == "review.overrides[0]"
