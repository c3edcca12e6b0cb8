"""Every export shape of issue 4 imports without hand-editing and gives exactly the findings of
the plain file: the tests write one log in each shape from the same rows."""
import datetime as dt

import pytest

from assessment import casefile, evidence, mappings, sniff
from assessment.errors import AssessmentError
from conftest import case_text

T = dt.datetime
# (time, operator, terminal, message key, name, dob, plate, licence, case number)
ROWS = [
    (T(2025, 8, 11, 9, 5, 0), "OP1", "T1", "QW", "NÚÑEZ, JOSÉ", dt.date(1988, 3, 2), "", "", "25-100"),
    (T(2025, 8, 11, 9, 6, 30), "OP2", "T7", "QW", "NÚÑEZ, JOSÉ", dt.date(1988, 3, 2), "", "", ""),
    (T(2025, 8, 11, 23, 47, 31), "OP1", "T1", "RQ", "SMITH, ANA", None, "7ABC123", "", ""),
    (T(2025, 8, 12, 1, 2, 3), "OP1", "T1", "QW", "José Núñez", None, "", "", ""),
    (T(2025, 8, 12, 10, 47, 31), "OP1", "T9", "DQ", "O’CONNOR, PAT", None, "", "D1234567", ""),
    (T(2025, 8, 12, 10, 49, 0), "OP1", "T1", "QW", "LEE, KIM", None, "", "", "25-101"),
    (T(2025, 8, 13, 14, 0, 0), "OP2", "T1", "QW", "O'CONNOR, PAT", None, "", "", ""),
    (T(2025, 8, 14, 12, 0, 0), "OP1", "T1", "QV", "BROWN, AL", None, "8XYZ900", "", "25-999"),
    (T(2025, 8, 14, 12, 30, 0), "OP1", "T1", "QW", "O'Connor, Pat", None, "", "", "25-102"),
]
SUBJECTS = ['  - {name: "José Núñez", relationship: ex_partner, dob: 1988-03-02}',
            '  - {name: "Pat O\'Connor", relationship: neighbor, license_number: "D1234567"}',
            '  - {name: "Vehicle owner", relationship: stranger, plate: "8XYZ-900"}']
SHIFTS = "start,end\n2025-08-11 22:00,2025-08-12 06:00\n2025-08-14 08:00,2025-08-14 18:00\n"
CAD = "incident_number,received,subject_name,plate\n25-100,2025-08-11 09:00,\"NUNEZ, JOSE\",\n25-102,2025-08-14 12:10,,\n"

ENGLISH = ["Timestamp", "Operator ID", "Terminal", "ORI", "Message Key", "Name", "DOB", "Plate", "DL Number",
           "Case Number"]


def _cells(r, date_fmt="%Y-%m-%d", time_fmt="%H:%M:%S", split=False):
    ts, op, term, mke, name, dob, plate, dl, oca = r
    when = [ts.strftime(date_fmt), ts.strftime(time_fmt)] if split else [ts.strftime(f"{date_fmt} {time_fmt}")]
    return when + [op, term, "CA0199900", mke, name, dob.strftime(date_fmt) if dob else "", plate, dl, oca]


def _csv(headers, rows, delim=",") -> str:
    def q(v):
        return f'"{v}"' if any(c in v for c in (delim, '"', "\n")) else v
    return "\n".join(delim.join(q(c) for c in line) for line in [headers] + rows) + "\n"


def plain(tmp):  # the reference shape
    (tmp / "log.csv").write_text(_csv(ENGLISH, [_cells(r) for r in ROWS]), encoding="utf-8")
    return "log.csv"


def utf8_bom(tmp):
    (tmp / "log.csv").write_bytes(b"\xef\xbb\xbf" + _csv(ENGLISH, [_cells(r) for r in ROWS]).encode())
    return "log.csv"


def windows_1252(tmp):
    (tmp / "log.csv").write_bytes(_csv(ENGLISH, [_cells(r) for r in ROWS]).replace("\n", "\r\n").encode("cp1252"))
    return "log.csv"


def delimiter(d):
    def write(tmp):
        (tmp / "log.txt").write_text(_csv(ENGLISH, [_cells(r) for r in ROWS], d), encoding="utf-8")
        return "log.txt"
    write.__name__ = f"delimiter_{ {';': 'semicolon', chr(9): 'tab', '|': 'pipe'}[d] }"
    return write


def ncic_codes_compact(tmp):
    heads = ["DTE", "TME", "OPR", "TRM", "ORI", "MKE", "NAM", "DOB", "LIC", "OLN", "OCA"]
    rows = [_cells(r, "%Y%m%d", "%H%M%S", split=True) for r in ROWS]
    (tmp / "log.csv").write_text(_csv(heads, rows, "|"), encoding="utf-8")
    return "log.csv"


def plain_english_us_12_hour(tmp):
    heads = ["Transaction Date", "Transaction Time", "User ID", "Workstation", "Agency ORI", "Query Type",
             "Subject Name", "Date of Birth", "License Plate", "Driver's License", "Case #"]
    rows = [_cells(r, "%m/%d/%Y", "%I:%M:%S %p", split=True) for r in ROWS]
    (tmp / "log.csv").write_text("CLETS TRANSACTION JOURNAL\nPeriod: 08/01/2025 - 08/31/2025\n\n"
                                 + _csv(heads, rows, ";"), encoding="utf-8")
    return "log.csv"


def xlsx_title_rows(tmp):
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.append(["Example Police Department"])
    ws.append(["CLETS audit export", "run 2025-09-01"])
    ws.append([])
    ws.append(ENGLISH)
    for r in ROWS:   # real Excel date-times and dates
        ts, op, term, mke, name, dob, plate, dl, oca = r
        ws.append([ts, op, term, "CA0199900", mke, name, dob, plate, dl, oca])
    wb.save(tmp / "log.xlsx")
    return "log.xlsx"


def xlsx_text_us(tmp):
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.append(["Date", "Time", "User", "Device", "ORI", "MKE", "Name", "DOB", "LIC", "OLN", "OCA"])
    for r in ROWS:
        ws.append(_cells(r, "%m/%d/%Y", "%I:%M %p" if r[0].second == 0 else "%I:%M:%S %p", split=True))
    wb.save(tmp / "log.xlsx")
    return "log.xlsx"


def gzipped_windows_1252(tmp):
    import gzip
    (tmp / "log.csv.gz").write_bytes(gzip.compress(_csv(ENGLISH, [_cells(r) for r in ROWS]).encode("cp1252")))
    return "log.csv.gz"


def gzipped_utf8(tmp):
    import gzip
    (tmp / "log.csv.gz").write_bytes(gzip.compress(_csv(ENGLISH, [_cells(r) for r in ROWS], "\t").encode()))
    return "log.csv.gz"


SHAPES = [gzipped_utf8, gzipped_windows_1252, utf8_bom, windows_1252, delimiter(";"), delimiter("\t"), delimiter("|"), ncic_codes_compact,
          plain_english_us_12_hour, xlsx_title_rows, xlsx_text_us]


def analyse(tmp, log_name, **files):
    (tmp / "shifts.csv").write_text(SHIFTS)
    (tmp / "cad.csv").write_text(CAD)
    text = case_text(
        client="client:\n  name: Sam Test\n  role: peace_officer\n  ori: CA0199900\n  operator_ids: [op1]\n  terminal_ids: [T1]\n"
               "  clets_training_date: 2025-08-12",
        subjects="subjects:\n" + "\n".join(SUBJECTS),
        evidence=f"evidence:\n  audit_logs: [{log_name}]\n  shifts: shifts.csv\n  incidents: cad.csv")
    return evidence.analyse(casefile.loads(text, "case.yaml"), tmp, **files)


def summary(res):
    return {fid: f.rows for fid, f in res.findings.items()}, res.client_queries, res.files[0]["rows"]


def test_the_reference_shape_gives_the_hand_counted_findings(tmp_path):
    res = analyse(tmp_path, plain(tmp_path))
    rows = {fid: f.rows for fid, f in res.findings.items()}
    assert res.client_queries == 7 and res.files[0]["rows"] == 9
    assert rows["subject-queries"] == [1, 4, 5, 8, 9]           # Núñez twice, O'Connor by licence and name, plate
    assert rows["off-duty-subject-queries"] == [1, 5]            # 4 is inside the overnight shift
    assert rows["subject-queries-without-case-number"] == [4, 5]
    assert rows["unassigned-terminal-queries"] == [5]
    assert rows["queries-before-training"] == [1, 3]
    assert rows["concurrent-terminal-use"] == [5, 6]             # T9 and T1 within two minutes
    assert rows["repeated-subject-queries"] == [1, 4, 5, 9]
    assert rows["cad-matched-queries"] == [1, 9]                 # by number 25-100; 25-102 by number
    assert rows["case-number-not-in-cad"] == [8]
    assert res.findings["subject-queries"].details["by_subject"] == {"José Núñez": 2, "Pat O'Connor": 2,
                                                                     "Vehicle owner": 1}


@pytest.mark.parametrize("shape", SHAPES, ids=lambda f: f.__name__)
def test_every_export_shape_gives_the_same_findings(tmp_path, shape):
    (tmp_path / "ref").mkdir()
    reference = summary(analyse(tmp_path / "ref", plain(tmp_path / "ref")))
    got = analyse(tmp_path, shape(tmp_path))
    assert summary(got) == reference
    assert not got.warnings or all("could not be read" not in w for w in got.warnings)


def test_detection_reports_confidence_and_reasons(tmp_path):
    name = ncic_codes_compact(tmp_path)
    plan = sniff.sample(tmp_path / name, sniff.AUDIT_HEADERS).plan
    assert plan.delimiter == "|" and plan.columns["operator"] == "OPR"
    assert plan.confidence["operator"] == 1.0 and "NCIC field code OPR" in plan.reasons["operator"]
    assert plan.formats == {"date": "%Y%m%d", "time": "%H%M%S", "dob": "%Y%m%d"}
    name = plain_english_us_12_hour(tmp_path)
    plan = sniff.sample(tmp_path / name, sniff.AUDIT_HEADERS).plan
    assert plan.header_line == 4 and plan.delimiter == ";"
    assert plan.columns["ori"] == "Agency ORI" and plan.columns["terminal"] == "Workstation"
    assert plan.formats["time"] == "%I:%M:%S %p" and plan.formats["date"] == "%m/%d/%Y"


def test_non_utf8_bytes_after_the_sample_fall_back_to_windows_1252(tmp_path):
    head = _csv(ENGLISH, [_cells(r) for r in ROWS if r[4].isascii()])
    filler = "".join(f"2025-08-20 10:{i % 60:02d}:00,OP3,T3,CA0199900,QW,\"X, Y\",,,,\n" for i in range(6000))
    tail = '2025-08-21 10:00:00,OP1,T1,CA0199900,QW,"O’CONNOR, PAT",,,,\n'
    (tmp_path / "log.csv").write_bytes((head + filler + tail).encode("cp1252"))
    assert len(head + filler) > sniff.SAMPLE_BYTES
    res = analyse(tmp_path, "log.csv")
    assert res.files[0]["encoding"] == "cp1252"
    n = head.count("\n") - 1 + 6000 + 1
    assert res.findings["subject-queries"].rows[-1] == n


def test_unknown_headers_fail_with_the_headers_then_a_user_mapping_reads_them(tmp_path):
    heads = ["When it happened", "Who", "Where", "About"]
    rows = [[r[0].strftime("%Y-%m-%d %H:%M:%S"), r[1], r[2], r[4]] for r in ROWS]
    (tmp_path / "log.csv").write_text(_csv(heads, rows), encoding="utf-8")
    with pytest.raises(AssessmentError) as err:
        analyse(tmp_path, "log.csv")
    (p,) = err.value.problems
    assert p.code == "EV001" and "operator" in p.message and "Who" in p.hint and p.line == 1
    plan = sniff.sample(tmp_path / "log.csv", sniff.AUDIT_HEADERS).plan
    plan.columns.update({"operator": "Who", "terminal": "Where", "name": "About", "timestamp": "When it happened"})
    plan.formats["timestamp"] = "%Y-%m-%d %H:%M:%S"
    res = analyse(tmp_path, "log.csv", plans={"log.csv": plan})
    assert res.findings["subject-queries"].rows == [1, 4, 5, 9]   # by name only: no licence or plate column
    # saved for the agency, the mapping is offered for the next file with these headers
    mappings.save("CA0199900", plan, who="test")
    again = mappings.plan_for(tmp_path / "log.csv", sniff.AUDIT_HEADERS, "CA0199900")
    assert again.columns["operator"] == "Who" and again.source == "saved for CA0199900"
    assert mappings.plan_for(tmp_path / "log.csv", sniff.AUDIT_HEADERS, "CA0299900").source == "detected"
    assert analyse(tmp_path, "log.csv").findings["subject-queries"].rows == [1, 4, 5, 9]   # the case's ORI


@pytest.mark.parametrize("content, line, words", [
    (b"Timestamp,Operator ID,Terminal\n2025-08-11 09:05:00,OP1,T1\n2025-08-11 09:06:00,OP1,T1,extra\n", 3, "number of fields"),
    (b"", 1, "empty"),
    (b"\x00\x01\x02\x03binary", None, "not text"),
    (b"PK\x03\x04not really a workbook", None, "workbook"),
    (b"\x1f\x8bnot really gzip", None, "cannot open"),
    (__import__("gzip").compress(b"Timestamp,Operator ID\n" + b"2025-08-11 09:05:00,OP1\n" * 20000)[:-200], None,
     "truncated"),   # a download cut short
    (__import__("gzip").compress(b"Timestamp,Operator ID\n" + b"2025-08-11 09:05:00,OP1\n" * 20000)[:-6], None,
     "truncated"),   # only the trailer missing: DuckDB alone reads it and says nothing
])
def test_unusable_files_say_where_and_why(tmp_path, content, line, words):
    (tmp_path / "log.csv").write_bytes(content)
    with pytest.raises(AssessmentError) as err:
        analyse(tmp_path, "log.csv")
    (p,) = err.value.problems
    assert p.code == "EV002" and words in p.message and p.file.endswith("log.csv")
    if line:
        assert p.line == line


from hypothesis import HealthCheck, given, settings, strategies as st   # noqa: E402

CELLS = st.lists(st.one_of(st.text(alphabet='abcXYZ019 :-/,;|\t"\'\nÑé’', max_size=8),
                           st.sampled_from(["2025-08-11 09:05:00", "OP1", "T1", '"ROE, ALEX"', ","])),
                 max_size=6).map("".join)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.sampled_from(["Timestamp,Operator ID,Terminal,Name\n", "DTE|TME|OPR|TRM|NAM\n", "", "a;b\n"]),
       body=st.lists(CELLS, max_size=12), encoding=st.sampled_from(["utf-8", "cp1252", "utf-8-sig"]))
def test_any_input_gives_findings_or_a_located_error(tmp_path, header, body, encoding):
    """Fuzzed logs never crash the importer: the result, or an EV error naming the file."""
    (tmp_path / "log.csv").write_bytes((header + "\n".join(body)).encode(encoding, errors="replace"))
    try:
        res = analyse(tmp_path, "log.csv")
    except AssessmentError as exc:
        assert all(p.code.startswith("EV") and p.file and p.file.endswith("log.csv") for p in exc.problems), exc
    else:
        assert res.files[0]["rows"] >= 0 and all(r >= 1 for f in res.findings.values() for r in f.rows)


def test_columns_command_shows_the_detected_mapping(tmp_path):
    from conftest import run_cli
    name = ncic_codes_compact(tmp_path)
    res = run_cli("columns", str(tmp_path / name))
    assert res.returncode == 0, res.stderr
    assert "delimiter '|', headers on line 1" in res.stdout
    assert "operator     <- 'OPR'  100%: 'OPR' is the NCIC field code OPR" in res.stdout
    assert "time         <- 'TME' [%H%M%S]" in res.stdout
    (tmp_path / "empty.csv").write_bytes(b"")
    res = run_cli("columns", str(tmp_path / "empty.csv"))
    assert res.returncode != 0 and "EV002" in res.stderr and "empty" in res.stderr


def iso_with_offsets(tmp):
    """UTC ('Z') and offset timestamps are compared in California time."""
    rows = []
    for r in ROWS:
        utc = r[0] + dt.timedelta(hours=7)   # August: PDT is UTC-7
        cells = _cells(r)
        cells[0] = utc.strftime("%Y-%m-%dT%H:%M:%SZ") if r[0].minute % 2 else r[0].strftime("%Y-%m-%dT%H:%M:%S-07:00")
        rows.append(cells)
    (tmp / "log.csv").write_text(_csv(ENGLISH, rows), encoding="utf-8")
    return "log.csv"


def test_offset_timestamps_become_local_time(tmp_path):
    (tmp_path / "ref").mkdir()
    reference = summary(analyse(tmp_path / "ref", plain(tmp_path / "ref")))
    got = analyse(tmp_path, iso_with_offsets(tmp_path))
    assert summary(got) == reference
    assert got.first_subject_query == "2025-08-11T09:05:00"
