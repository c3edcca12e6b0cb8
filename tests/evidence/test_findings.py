"""Findings are registered once (assessment/evidence/model.py). Held here: the analysis produces
every registered finding, with its hand-counted rows, on a case built to trigger them all; a case
lacking something a finding needs does not give it a row; an unregistered id fails where it is
made; and the knowledge base refuses a condition or scenario naming an unregistered finding, with
its file and line."""
import ast
import re

import pytest

from assessment.core import casefile
from assessment.core.errors import AssessmentError
from assessment.evidence import analyse, model
from assessment.law import conditions, scenarios
from assessment.law import kb as kbmod

from conftest import ROOT, case_text

HEAD = ["Timestamp", "Operator ID", "Terminal", "ORI", "Message Key", "Name", "DOB", "Plate", "DL Number", "Case Number"]
ROWS = [  # data rows 1-5, all under the client's operator id
    ["2025-08-11 09:05:00", "OP1", "T1", "CA0199900", "QW", '"NUNEZ, JOSE"', "1988-03-02", "", "", "25-100"],
    ["2025-08-12 01:02:03", "OP1", "T1", "CA0199900", "QW", "José Núñez", "", "", "", ""],
    ["2025-08-12 10:47:31", "OP1", "T9", "CA0199900", "QW", '"SMITH, ANA"', "", "", "", ""],
    ["2025-08-12 10:49:00", "OP1", "T1", "CA0199900", "QW", '"LEE, KIM"', "", "", "", "25-101"],
    ["2025-08-13 12:00:00", "OP1", "T1", "CA0199900", "RQ", '"BROWN, AL"', "", "8XYZ900", "", "25-999"],
]
SHIFTS = ("date,start,end,status\n2025-08-11,2025-08-11 22:00,2025-08-12 06:00,REGULAR\n"
          "2025-08-12,2025-08-12 08:00,2025-08-12 18:00,REGULAR\n2025-08-13,,,VACATION\n")
CAD = 'incident_number,received,subject_name,plate\n25-100,2025-08-11 09:00,"NUNEZ, JOSE",\n'
SUBJECTS = ['  - {name: "José Núñez", relationship: ex_partner, dob: 1988-03-02}',
            '  - {name: "Vehicle owner", relationship: stranger, plate: "8XYZ-900"}']

# The rows each registered finding holds on the full case, counted by hand.
TRIGGERED = {
    "subject-queries": [1, 2, 5],                  # name and date of birth; name; plate
    "off-duty-subject-queries": [1, 5],            # 2 falls inside the overnight shift
    "subject-queries-without-case-number": [2],
    "unassigned-terminal-queries": [3],            # T9
    "queries-before-training": [1],                # trained 2025-08-12
    "leave-day-queries": [5],                      # 2025-08-13 is marked VACATION
    "concurrent-terminal-use": [3, 4],             # T9 and T1 within two minutes
    "repeated-subject-queries": [1, 2],            # Núñez twice
    "cad-matched-queries": [1],                    # incident 25-100
    "case-number-not-in-cad": [5],                 # 25-999
}


def build(tmp_path, without: str | None = None):
    """The evidence result of the full case, or of the case lacking one thing a finding can need."""
    head, rows = HEAD, ROWS
    if without == model.TERMINAL_COLUMN:
        head, rows = [h for h in HEAD if h != "Terminal"], [r[:2] + r[3:] for r in ROWS]
    (tmp_path / "audit.csv").write_text("\n".join(",".join(r) for r in [head] + rows) + "\n", encoding="utf-8")
    (tmp_path / "shifts.csv").write_text(SHIFTS)
    (tmp_path / "cad.csv").write_text(CAD)
    evidence = {"audit_logs: [audit.csv]": model.AUDIT_LOG, "shifts: shifts.csv": model.SHIFTS,
                "incidents: cad.csv": model.CAD}
    text = case_text(
        client="client:\n  name: Sam Test\n  role: peace_officer\n  operator_ids: [OP1]\n  clets_training_date: 2025-08-12"
               + ("" if without == model.TERMINALS else "\n  terminal_ids: [T1]"),
        subjects="" if without == model.SUBJECTS else "subjects:\n" + "\n".join(SUBJECTS),
        evidence="evidence:\n" + "\n".join(f"  {line}" for line, need in evidence.items() if need != without))
    return analyse.analyse(casefile.loads(text, "case.yaml"), tmp_path)


def test_every_registered_finding_has_a_trigger_here():
    assert list(TRIGGERED) == list(model.FINDINGS)


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    return build(tmp_path_factory.mktemp("full"))


@pytest.mark.parametrize("fid", list(model.FINDINGS))
def test_the_analysis_produces_each_registered_finding(full, fid):
    assert full.findings[fid].rows == TRIGGERED[fid]
    assert full.findings[fid].count == len(TRIGGERED[fid])


@pytest.mark.parametrize("fid, need", [(fid, need) for fid, k in model.FINDINGS.items() for need in k.needs])
def test_without_what_it_needs_a_finding_holds_no_row(tmp_path, fid, need):
    result = build(tmp_path, without=need)
    got = result.findings.get(fid) if result else None
    assert got is None or got.count == 0, f"{fid} holds rows {got.rows} without the {need}"


@pytest.mark.parametrize("fid, need", [(fid, need) for fid, k in model.FINDINGS.items() for need in model.NEEDS
                                       if need not in k.needs])
def test_what_a_finding_does_not_need_it_holds_rows_without(tmp_path, fid, need):
    result = build(tmp_path, without=need)
    assert result.findings[fid].count > 0, f"{fid} needs the {need}: register it so"


def test_every_need_can_be_taken_away_in_the_tests():
    assert set(model.NEEDS) == {model.AUDIT_LOG, model.SHIFTS, model.CAD, model.TERMINALS, model.TERMINAL_COLUMN,
                                model.SUBJECTS}


SPEC = ROOT.parent / "shared" / "spec" / "assessment-output.md"


@pytest.mark.skipif(not SPEC.exists(), reason=f"{SPEC} not present (only in the team's workspace and CI)")
def test_the_spec_findings_are_the_stable_ids_of_the_output_spec():
    table = SPEC.read_text(encoding="utf-8").split("## Stable finding ids", 1)[1].split("\n## ", 1)[0]
    assert model.SPEC_FINDINGS == tuple(re.findall(r"^\| `([a-z-]+)` \|", table, re.M))


def test_a_finding_under_an_unregistered_id_fails_where_it_is_made():
    with pytest.raises(model.UnknownFinding, match="'subject-querys'.*known: subject-queries"):
        model.Finding("subject-querys", 1, [1], "one")


def test_no_module_spells_out_a_finding_id_but_the_register():
    """Code names a finding by model's constants, so renaming an id cannot leave a lookup behind
    that silently finds nothing (a count shown as 0). Every string in the package's code equal to
    an id, or to `finding:<id>`, is flagged, f-strings' expressions included; the knowledge base's
    YAML and the tests name ids on purpose and are not scanned."""
    spelled = set(model.FINDINGS) | {f"finding:{fid}" for fid in model.FINDINGS}
    register = ROOT / "assessment" / "evidence" / "model.py"
    found = [f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}"
             for path in sorted((ROOT / "assessment").rglob("*.py")) if path != register
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.Constant) and node.value in spelled]
    assert not found, "finding ids written out instead of evidence/model.py's constants:\n" + "\n".join(found)


def test_the_condition_language_accepts_exactly_the_registered_findings():
    for fid in model.FINDINGS:
        assert conditions.parse(f"finding:{fid}>=2").key == fid
    with pytest.raises(LookupError, match="unknown finding 'subject-querys'"):
        conditions.parse("finding:subject-querys")


def test_a_kb_condition_on_an_unregistered_finding_is_refused_where_it_is_written(kb_copy):
    path = kb_copy / "defenses" / "authorized-use.yaml"
    text = path.read_text().replace('"finding:cad-matched-queries"', '"finding:cad-matched-querys"')
    path.write_text(text)
    with pytest.raises(AssessmentError) as err:
        kbmod.load(kb_copy)
    (p,) = err.value.problems
    assert p.code == "KB003" and p.file.endswith("defenses/authorized-use.yaml")
    assert "cad-matched-querys" in p.message and "cad-matched-queries" in p.message    # names the known ids
    assert p.line == next(i for i, line in enumerate(text.splitlines(), 1) if "cad-matched-querys" in line)
    assert p.field.endswith(".when[0]")


def test_a_scenario_on_an_unregistered_finding_is_refused_where_it_is_written(kb_copy):
    path = kb_copy / "defenses" / "lack-of-intent.scenarios.yaml"
    text = path.read_text().replace("repeated-subject-queries: 2", "repeated-subject-querys: 2")
    path.write_text(text)
    with pytest.raises(AssessmentError) as err:
        scenarios.load(kb_copy)
    (p,) = err.value.problems
    assert p.file.endswith("lack-of-intent.scenarios.yaml") and "repeated-subject-querys" in p.message
    assert p.line == next(i for i, line in enumerate(text.splitlines(), 1) if "repeated-subject-querys" in line)
