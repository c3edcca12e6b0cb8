from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo"
SHARED_EXAMPLES = ROOT.parent / "shared" / "examples"


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path_factory, monkeypatch):
    """Saved column mappings and other per-user data go to a temporary folder, never to ~."""
    monkeypatch.setenv("CLETS_DATA_DIR", str(tmp_path_factory.mktemp("data")))


@pytest.fixture(scope="session")
def kb():
    from assessment import kb as kbmod
    return kbmod.load()


def spec_counts(truth: dict) -> dict[str, int]:
    """The five clets-assessment/1 finding counts a truth.json states."""
    return {
        "subject-queries": sum(truth["subject_queries"].values()),
        "off-duty-subject-queries": truth["subject_queries_off_duty"],
        "subject-queries-without-case-number": truth["subject_queries_without_case_number"],
        "unassigned-terminal-queries": truth["client_queries_on_unassigned_terminals"],
        "queries-before-training": truth["client_queries_before_training"],
    }


def case_text(**sections: str) -> str:
    """A minimal valid case file; pass whole YAML sections to replace or add them."""
    base = {
        "format": "format: clets-case/1",
        "matter": 'matter:\n  id: "T-1"\n  title: "People v. Test"\n  stage: charged',
        "client": "client:\n  name: Sam Test\n  role: peace_officer\n  operator_ids: [OP1]\n  terminal_ids: [T1]",
    }
    base.update(sections)
    return "\n".join(v for v in base.values() if v) + "\n"


def run_cli(*args: str):
    import subprocess
    return subprocess.run([sys.executable, "-m", "assessment.cli", *args], capture_output=True, text=True, cwd=ROOT)
