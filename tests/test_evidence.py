import json

import pytest

from assessment import casefile, evidence
from assessment.errors import AssessmentError
from conftest import DEMO, case_text, spec_counts

HEAD = "Timestamp,Operator ID,Terminal,ORI,Message Key,Name,DOB,Plate,DL Number,Case Number"


def make_case(tmp_path, rows, *, subjects=None, shifts=None, header=HEAD, training="2020-01-01",
              terminals="[T1]", name="audit.csv"):
    (tmp_path / name).write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    ev = f"evidence:\n  audit_logs: [{name}]"
    if shifts is not None:
        (tmp_path / "shifts.csv").write_text("start,end\n" + "\n".join(shifts) + "\n")
        ev += "\n  shifts: shifts.csv"
    subj = subjects or ['  - {name: "Daniela Morales", relationship: ex_partner, dob: 1991-02-14, '
                        'plate: "8DMR450", license_number: "D5550142"}']
    training_line = f"\n  clets_training_date: {training}" if training else ""
    text = case_text(
        client=f"client:\n  name: Sam Test\n  role: peace_officer\n  operator_ids: [OP1]\n  terminal_ids: {terminals}"
               + training_line,
        subjects="subjects:\n" + "\n".join(subj), evidence=ev)
    return casefile.loads(text, "case.yaml")


def counts(tmp_path, rows, **kw):
    return evidence.analyse(make_case(tmp_path, rows, **kw), tmp_path).counts()


@pytest.mark.parametrize("name", sorted(p.name for p in DEMO.iterdir() if p.is_dir()))
def test_demo_findings_equal_the_generators_truth(name, kb):
    folder = DEMO / name
    truth = json.loads((folder / "truth.json").read_text())
    case = casefile.load(folder / "case.yaml", kb)
    res = evidence.analyse(case, folder)
    assert res.files[0]["rows"] == truth["rows_total"]
    assert res.client_queries == truth["client_queries"]
    assert res.findings["subject-queries"].rows == truth["subject_query_rows"]
    assert res.counts()["leave-day-queries"] == truth["client_queries_on_leave_days"]
    five = {k: v for k, v in res.counts().items() if k in evidence.SPEC_FINDINGS}
    assert five == spec_counts(truth)


@pytest.mark.parametrize("log_name, dob, plate, dl, matches", [
    ('"MORALES, DANIELA"', "1991-02-14", "", "", True),
    ("Daniela Morales", "", "", "", True),
    ('"morales,  daniela r."', "1991-02-14", "", "", True),
    ('"MORALES, ANA"', "1991-02-14", "", "", False),
    ('"MORALES, DANIELA"', "1985-01-01", "", "", False),  # same name, another person
    ('"SMITH, JOHN"', "", "8 DMR-450", "", True),  # plate typed with spaces and a dash
    ('"SMITH, JOHN"', "", "", "d5550142", True),
    ('"SMITH, JOHN"', "1991-02-14", "", "", False),  # a date of birth alone is not a match
])
def test_subject_matching(tmp_path, log_name, dob, plate, dl, matches):
    row = f"2025-01-06 10:00:00,OP1,T1,CA0199900,QW,{log_name},{dob},{plate},{dl},"
    assert counts(tmp_path, [row])["subject-queries"] == int(matches)


@pytest.mark.parametrize("log_name, subject", [
    ('"NÚÑEZ, JOSÉ"', "José Núñez"),
    ('"NUNEZ, JOSE"', "José Núñez"),
    ('"O\'CONNOR, PAT"', "Pat O'Connor"),
])
def test_names_match_across_accents_and_punctuation(tmp_path, log_name, subject):
    row = f"2025-01-06 10:00:00,OP1,T1,CA0199900,QW,{log_name},,,,"
    subj = [f'  - {{name: "{subject}", relationship: neighbor}}']
    assert counts(tmp_path, [row], subjects=subj)["subject-queries"] == 1


def test_other_operators_queries_are_not_the_clients(tmp_path):
    rows = ['2025-01-06 10:00:00,OP2,T1,CA0199900,QW,"MORALES, DANIELA",1991-02-14,,,',
            '2025-01-06 10:05:00,op1 ,T9,CA0199900,QW,"MORALES, DANIELA",1991-02-14,,,']
    c = counts(tmp_path, rows)
    assert c["subject-queries"] == 1 and c["unassigned-terminal-queries"] == 1


def test_off_duty_uses_shifts_that_cross_midnight(tmp_path):
    rows = ['2025-01-06 23:30:00,OP1,T1,CA0199900,QW,"MORALES, DANIELA",,,,24-1',
            '2025-01-07 03:59:00,OP1,T1,CA0199900,QW,"MORALES, DANIELA",,,,',
            '2025-01-07 04:01:00,OP1,T1,CA0199900,QW,"MORALES, DANIELA",,,,',
            '2025-01-08 12:00:00,OP1,T1,CA0199900,QW,"MORALES, DANIELA",,,,']
    res = evidence.analyse(make_case(tmp_path, rows, shifts=["2025-01-06 18:00,2025-01-07 04:00"]), tmp_path)
    assert res.findings["off-duty-subject-queries"].rows == [3, 4]
    assert res.findings["subject-queries-without-case-number"].rows == [2, 3, 4]


def test_ncic_headers_split_date_and_time_and_us_formats(tmp_path):
    header = "DTE,TME,OPR,TRM,ORI,MKE,NAM,DOB,LIC,OLN,OCA"
    rows = ['01/06/2025,10:15 PM,OP1,T1,CA0199900,QV,"MORALES, DANIELA",02/14/1991,8DMR450,,',
            '01/07/2025,08:00 AM,OP1,T1,CA0199900,QW,"SMITH, JO",01/01/1990,,,25-1']
    res = evidence.analyse(make_case(tmp_path, rows, header=header,
                                     shifts=["2025-01-07 07:00,2025-01-07 17:00"]), tmp_path)
    assert res.counts()["subject-queries"] == 1
    assert res.findings["off-duty-subject-queries"].rows == [1]
    assert res.first_subject_query == "2025-01-06T22:15:00"


def test_queries_before_training_counts_all_when_no_training_on_record(tmp_path):
    rows = [f"2025-01-0{d} 10:00:00,OP1,T1,CA0199900,QW,\"X, Y\",,,," for d in range(1, 5)]
    assert counts(tmp_path, rows, training=None)["queries-before-training"] == 4
    assert counts(tmp_path, rows, training="2025-01-03")["queries-before-training"] == 2


def test_row_numbers_follow_the_file_on_a_large_log(tmp_path):
    rows = [f"2025-01-01 00:00:00,OP{1 if i % 997 == 0 else 2},T1,CA0199900,QW,\"ROW, N{i}\",,,,{i}"
            for i in range(1, 60001)]
    res = evidence.analyse(make_case(tmp_path, rows, training="2026-01-01"), tmp_path)
    assert res.findings["queries-before-training"].rows == [i for i in range(1, 60001) if i % 997 == 0]


def test_missing_operator_column_names_file_and_headers(tmp_path):
    case = make_case(tmp_path, ["2025-01-06 10:00:00,T1"], header="Timestamp,Terminal")
    with pytest.raises(AssessmentError) as err:
        evidence.analyse(case, tmp_path)
    (p,) = err.value.problems
    assert p.code == "EV001" and p.file.endswith("audit.csv") and p.line == 1
    assert "operator" in p.message and "Timestamp, Terminal" in p.hint


def test_unreadable_timestamps_are_reported_not_silently_dropped(tmp_path):
    rows = ['yesterday,OP1,T1,CA0199900,QW,"MORALES, DANIELA",,,,',
            '2025-01-06 10:00:00,OP1,T1,CA0199900,QW,"MORALES, DANIELA",,,,']
    res = evidence.analyse(make_case(tmp_path, rows), tmp_path)
    assert any("row 1: 'yesterday'" in w for w in res.warnings)
    assert res.findings["subject-queries"].count == 2


def test_files_are_hashed(tmp_path):
    import hashlib
    res = evidence.analyse(make_case(tmp_path, ['2025-01-06 10:00:00,OP1,T1,CA0199900,QW,"A, B",,,,']), tmp_path)
    assert res.files[0]["sha256"] == hashlib.sha256((tmp_path / "audit.csv").read_bytes()).hexdigest()


def test_xlsx_audit_log(tmp_path):
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.append(HEAD.split(","))
    ws.append(["2025-01-06 10:00:00", "OP1", "T1", "CA0199900", "QW", "MORALES, DANIELA", "1991-02-14", "", "", ""])
    ws.append(["2025-01-06 11:00:00", "OP1", "T2", "CA0199900", "QW", "SMITH, JO", "", "", "", "25-9"])
    wb.save(tmp_path / "audit.xlsx")
    case = make_case(tmp_path, [], name="audit.csv")
    case = case.model_copy(update={"evidence": case.evidence.model_copy(update={"audit_logs": ["audit.xlsx"]})})
    res = evidence.analyse(case, tmp_path)
    assert res.findings["subject-queries"].rows == [1]
    assert res.findings["unassigned-terminal-queries"].rows == [2]
