"""The shared examples (../shared/examples) with their truth.json. This is the only test module
that reads ../shared; on a clone without it, every test here skips and says so."""
import datetime as dt
import json

import pytest

from assessment.core import casefile
from assessment.evidence import analyse as evidence
from assessment.law import engine as assess
from conftest import SHARED_EXAMPLES, spec_counts

EXAMPLES = sorted(p for p in SHARED_EXAMPLES.glob("*") if (p / "truth.json").exists()) if SHARED_EXAMPLES.exists() else []
pytestmark = pytest.mark.skipif(not EXAMPLES, reason=f"{SHARED_EXAMPLES} not present (only in the team's workspace and CI)")


@pytest.mark.parametrize("folder", EXAMPLES, ids=lambda p: p.name)
def test_findings_equal_truth(folder, kb):
    truth = json.loads((folder / "truth.json").read_text())
    case = casefile.load(folder / "case.yaml", kb)
    result = assess.assess(case, kb, folder, dt.date(2026, 11, 30))
    counts = {f["id"]: f["count"] for f in result["findings"] if f["id"] in evidence.SPEC_FINDINGS}
    assert result["evidence"]["files"][0]["rows"] == truth["rows_total"]
    assert result["evidence"]["client_queries"] == truth["client_queries"]
    assert counts == spec_counts(truth)
    subject = next(f for f in result["findings"] if f["id"] == "subject-queries")
    assert sorted(subject["details"]["by_subject"].values()) == sorted(truth["subject_queries"].values())
    assert result["evidence"]["first_subject_query"] == truth["first_subject_query"]
    assert result["evidence"]["last_subject_query"] == truth["last_subject_query"]
