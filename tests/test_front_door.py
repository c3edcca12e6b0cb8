"""The four verbs of `assessment` (load_case, analyse_evidence, assess, render_memo) give what the
command line gives: the same clets-assessment/1 JSON and a Word memo."""
import datetime as dt
import io
import zipfile

import pytest

import assessment
from assessment.core.errors import AssessmentError

from conftest import DEMO, run_cli


def test_the_four_verbs_give_the_command_lines_assessment_and_a_memo():
    folder = DEMO / "off-duty-lookups"
    case = assessment.load_case(folder / "case.yaml")
    evidence = assessment.analyse_evidence(case, folder)
    result = assessment.assess(case, evidence, as_of=dt.date(2026, 11, 30))
    cli = run_cli("assess", str(folder / "case.yaml"), "--json", "--as-of", "2026-11-30")
    assert cli.returncode == 0, cli.stderr
    assert result.to_json() == cli.stdout
    assert evidence is not None and evidence.findings["subject-queries"].count == result.findings[0].count
    docx = assessment.render_memo(result, case)
    body = zipfile.ZipFile(io.BytesIO(docx)).read("word/document.xml").decode("utf-8")
    assert case.matter.id in body and "Riley Tran" in body


def test_a_case_file_with_a_broken_citation_is_refused_by_load_case(tmp_path):
    text = (DEMO / "off-duty-lookups" / "case.yaml").read_text().replace("PC 502(c)(2)", "PC 999(z)", 1)
    (tmp_path / "case.yaml").write_text(text)
    with pytest.raises(AssessmentError) as err:
        assessment.load_case(tmp_path / "case.yaml")
    assert "999" in str(err.value)
