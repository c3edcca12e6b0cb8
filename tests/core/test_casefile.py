import pytest

from assessment.core import casefile
from assessment.core.errors import AssessmentError

from conftest import DEMO, case_text, run_cli


@pytest.mark.parametrize("name", sorted(p.name for p in DEMO.iterdir() if p.is_dir()))
def test_demo_cases_round_trip(name, kb):
    case = casefile.load(DEMO / name / "case.yaml", kb)
    again = casefile.loads(casefile.dumps(case), "export.yaml", kb)
    assert again == case
    assert casefile.dumps(again) == casefile.dumps(case)


def test_text_that_looks_like_a_date_stays_text_on_export(kb):
    case = casefile.loads(case_text(matter='matter:\n  id: "2026-01-15"\n  title: "2026-01-15"\n  stage: charged'),
                          "t.yaml", kb)
    text = casefile.dumps(case)
    assert "id: '2026-01-15'" in text  # quoted, so any YAML reader sees text, not a date
    again = casefile.loads(text, "export.yaml", kb)
    assert again == case and again.matter.id == "2026-01-15"


def test_spec_defaults_absent_means_unknown(kb):
    case = casefile.loads(case_text(), "t.yaml", kb)
    assert case.facts.stated_purpose == "unknown" and case.facts.compelled_statement == "unknown"
    assert case.client.prior_discipline == "unknown" and case.allegations == []


def test_the_criminal_investigation_dates_are_read_and_written_back(kb):
    """The two optional dates of clets-case/1 that toll the POBR year (Gov. Code § 3304(d)(2)(A))."""
    case = casefile.loads(case_text(dates="dates:\n  agency_discovered: 2024-02-01\n"
                                          "  criminal_investigation_opened: 2024-03-01\n"
                                          "  criminal_investigation_closed: 2025-04-01"), "t.yaml", kb)
    assert case.dates.criminal_investigation_opened.isoformat() == "2024-03-01"
    text = casefile.dumps(case)
    assert "criminal_investigation_closed: 2025-04-01" in text
    assert casefile.loads(text, "export.yaml", kb) == case


def test_null_optional_sections_are_accepted(kb):
    case = casefile.loads(case_text(facts="facts: null", dates="dates:\n  first_query: null",
                                    evidence="evidence: {shifts: shifts.csv}"), "t.yaml", kb)
    assert case.evidence.shifts == ["shifts.csv"] and case.dates.first_query is None


def _problems(text, kb=None):
    with pytest.raises(AssessmentError) as err:
        casefile.loads(text, "bad.yaml", kb)
    return err.value.problems


@pytest.mark.parametrize("sections, code, field, line", [
    ({"matter": 'matter:\n  id: "T-1"\n  title: x\n  stage: charged\n  colour: red'}, "CF002", "matter.colour", 6),
    ({"matter": 'matter:\n  id: "T-1"\n  stage: charged'}, "CF003", "matter.title", 2),
    ({"dates": "dates:\n  first_query: 2025-02-30"}, "CF004", "dates.first_query", 12),
    ({"facts": "facts:\n  financial_gain: true"}, "CF004", "facts.financial_gain", 12),
    ({"client": "client:\n  name: A\n  role: cop"}, "CF004", "client.role", 8),
    ({"matter": 'matter:\n  id: 2026\n  title: x\n  stage: charged'}, "CF004", "matter.id", 3),
])
def test_bad_case_files_name_code_field_and_line(sections, code, field, line):
    problems = _problems(case_text(**sections))
    assert [(p.code, p.field, p.line, p.file) for p in problems] == [(code, field, line, "bad.yaml")]


def test_unresolvable_citation_is_located(kb):
    text = case_text(allegations='allegations:\n  - {citation: "PC 502(c)(7)", status: charged}\n'
                                 '  - {citation: "PC 92.5", status: alleged}')
    (p,) = _problems(text, kb)
    assert (p.code, p.field, p.line) == ("CF005", "allegations[1].citation", 13)
    assert "PC 92.5" in p.message


def test_yaml_syntax_error_has_line_and_column():
    (p,) = _problems("format: clets-case/1\nmatter: {id: [unclosed\n")
    assert p.code == "CF001" and p.line is not None and p.column is not None


def test_check_command_exit_codes(tmp_path):
    good = run_cli("check", str(DEMO / "off-duty-lookups" / "case.yaml"))
    assert good.returncode == 0, good.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(case_text(facts="facts:\n  stated_purpose: curious"))
    out = run_cli("check", str(bad))
    assert out.returncode == 1
    assert "bad.yaml:12:3: CF004 at facts.stated_purpose" in out.stderr


def test_check_reports_missing_evidence_file(tmp_path):
    path = tmp_path / "case.yaml"
    path.write_text(case_text(evidence="evidence:\n  audit_logs: [nowhere.csv]"))
    out = run_cli("check", str(path))
    assert out.returncode == 1 and "nowhere.csv" in out.stderr


def test_save_is_atomic_and_keeps_old_file_on_failure(tmp_path, kb, monkeypatch):
    case = casefile.load(DEMO / "off-duty-lookups" / "case.yaml", kb)
    target = tmp_path / "out.yaml"
    target.write_text("previous")
    import os

    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        casefile.save(case, target)
    assert target.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.yaml"]
