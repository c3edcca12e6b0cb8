"""Every export shape of issue 4 imports without hand-editing and gives exactly the findings of
the plain file: the tests write one log in each shape from the same rows."""
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assessment.core import casefile
from assessment.core.errors import AssessmentError
from assessment.evidence import analyse as evidence
from assessment.evidence import mappings, sniff

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


SHAPES = [gzipped_utf8, gzipped_windows_1252, utf8_bom, windows_1252, delimiter(";"), delimiter("\t"), delimiter("|"),
          ncic_codes_compact,
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
    # remembered for the agency, the mapping is used for the next file with these headers, and says so
    entry = {"columns": dict(plan.columns), "formats": dict(plan.formats), "saved_by": "Root", "saved_on": "2026-12-01"}
    rem = mappings.Remembered(agency={("CA0199900", mappings.signature_sha(plan)): entry})
    again = mappings.plan_for(tmp_path / "log.csv", sniff.AUDIT_HEADERS, "CA0199900", remembered=rem)
    assert again.columns["operator"] == "Who"
    assert again.source == "remembered for agency CA0199900 (Root on 2026-12-01)"
    assert mappings.plan_for(tmp_path / "log.csv", sniff.AUDIT_HEADERS, "CA0299900", remembered=rem).source == "detected"
    assert analyse(tmp_path, "log.csv", remembered=rem).findings["subject-queries"].rows == [1, 4, 5, 9]   # case's ORI
    with pytest.raises(AssessmentError):
        analyse(tmp_path, "log.csv")                # nothing remembered: nothing applied behind the user's back


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


def _calamine_rows(path) -> list[list[str]]:
    """The cells as the reader before issue 13 gave them: python-calamine's whole sheet, cell_text."""
    from python_calamine import CalamineWorkbook
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python(skip_empty_area=False)
    return [[sniff.cell_text(v) for v in r] for r in rows]


def _squared(rows: list[list[str]]) -> list[list[str]]:
    """Rows without trailing blank rows, all as wide as the widest non-blank cell."""
    rows = [list(r) for r in rows]
    while rows and not any(rows[-1]):
        rows.pop()
    width = max((max((i + 1 for i, c in enumerate(r) if c), default=0) for r in rows), default=0)
    return [r[:width] + [""] * (width - len(r[:width])) for r in rows]


def test_the_streaming_reader_gives_the_cells_calamine_gave(tmp_path):
    """M10: the workbook reader (expat, row by row) gives the text python-calamine and cell_text
    gave for every kind of cell: dates, times and durations by number format (built-in and custom,
    1900 and 1904 systems, Excel's 1900 leap day), integers written as floats, booleans, errors,
    formula results, inline and shared strings (rich text, phonetic runs, white space, _xHHHH_
    escapes, entities), cells without a reference and rows with gaps, prefixed element names."""
    pytest.importorskip("python_calamine")
    import io
    import random
    import re
    import zipfile

    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    rnd = random.Random(13)
    formats = ["yyyy-mm-dd", "hh:mm:ss", "[h]:mm", "m/d/yy h:mm", "0.00", "General", "dd/mm/yyyy hh:mm", "mmm-yy",
               "h:mm AM/PM", '"Y: "0.00', "[Red]0.0", "0%", "@", "d-mmm", "[$-409]mmmm d, yyyy;@"]
    makers = [lambda: rnd.uniform(-5, 60000), lambda: float(rnd.randrange(-3, 70000)), lambda: rnd.randrange(10**6),
              lambda: rnd.choice(["a", "  b ", "x\ny", "_x000D_z", "ÑÚ’", "=1", "1e5", "<&>"]),
              lambda: dt.datetime(2025, 1, 1) + dt.timedelta(seconds=rnd.randrange(10**8)),
              lambda: dt.date(1900 + rnd.randrange(200), 1 + rnd.randrange(12), 1 + rnd.randrange(28)),
              lambda: dt.time(rnd.randrange(24), rnd.randrange(60), rnd.randrange(60)),
              lambda: rnd.choice([True, False]), lambda: None]
    for r in range(1, 80):
        for c in range(1, 16):
            kind = rnd.randrange(len(makers))
            cell = ws.cell(row=r, column=c, value=makers[kind]())
            if kind < 3 and rnd.random() < 0.7:
                cell.number_format = rnd.choice(formats)
    ws.cell(row=90, column=3, value="after a gap")
    wb.save(tmp_path / "openpyxl.xlsx")

    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    sst = (f'<?xml version="1.0"?><sst {ns}><si><t>plain</t></si><si><t>  trimmed  </t></si>'
           '<si><t xml:space="preserve">  kept  </t></si><si><r><t>rich </t></r><r><rPr><b/></rPr><t>text</t></r></si>'
           '<si><t>漢字</t><rPh sb="0" eb="2"><t>カンジ</t></rPh></si><si><t>a_x000D_b_x0041_</t></si><si/>'
           '<si><t>&lt;&amp;&gt;</t></si></sst>')
    styles = (f'<?xml version="1.0"?><styleSheet {ns}><numFmts count="3"><numFmt numFmtId="164" '
              'formatCode="yyyy\\-mm\\-dd"/><numFmt numFmtId="165" formatCode="[h]:mm:ss"/><numFmt numFmtId="166" '
              'formatCode="&quot;d&quot;0.0"/></numFmts><cellStyleXfs count="1"><xf numFmtId="14"/></cellStyleXfs>'
              '<cellXfs count="6"><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="165"/><xf numFmtId="166"/>'
              '<xf numFmtId="22"/><xf numFmtId="46"/></cellXfs></styleSheet>')
    sheet = (f'<?xml version="1.0"?><worksheet {ns}><sheetData><row r="1">'
             + "".join(f'<c r="{chr(65 + i)}1" t="s"><v>{i}</v></c>' for i in range(8)) + '</row><row r="2">'
             '<c r="A2" t="str"><v>  formula text &amp; more</v></c><c r="B2" t="e"><v>#N/A</v></c>'
             '<c r="C2" t="d"><v>2025-08-11T09:05:00</v></c><c r="D2" t="d"><v>2025-08-11</v></c><c r="E2" t="b"><v>1</v>'
             '</c><c r="F2" t="b"><v>0</v></c><c r="G2"><v>not a number</v></c><c r="H2" s="1"><v>45880.5</v></c>'
             '<c r="I2" s="2"><v>1.75</v></c><c r="J2" s="3"><v>3</v></c><c r="K2" s="4"><v>45880.25</v></c>'
             '<c r="L2" s="5"><v>0.5</v></c><c r="M2" s="9"><v>45880.5</v></c></row>'
             '<row><c><v>1</v></c><c><v>2</v></c><c r="E3"><v>5</v></c><c><v>6</v></c></row><row r="5">'
             '<c r="A5" t="inlineStr"><is><t>  inline  </t></is></c><c r="B5" t="inlineStr"><is><r><t>in</t></r>'
             '<r><t>line</t></r></is></c><c r="C5"><f>SUM(A1)</f><v>7</v></c><c r="D5"><f>X</f></c>'
             '<c r="E5" s="1"><v>-1</v></c><c r="F5" s="1"><v>59</v></c><c r="G5" s="1"><v>61</v></c>'
             '<c r="H5" s="1"><v>3000000</v></c><c r="I5" s="1"><v>1e20</v></c><c r="J5"><v>0.1</v></c>'
             '<c r="K5"><v>1E3</v></c></row></sheetData></worksheet>')
    prefixed = re.sub(r"<(/?)(worksheet|sheetData|row|c|v|f|is|r|t)([ >/])", r"<\1x:\2\3",
                      sheet.replace(ns, ns.replace("xmlns=", "xmlns:x=")))
    with zipfile.ZipFile(tmp_path / "openpyxl.xlsx") as zf:
        parts = {i.filename: zf.read(i) for i in zf.infolist() if not i.filename.startswith("xl/worksheets/")}
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(b"</Relationships>", (
        b'<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        b'sharedStrings" Target="sharedStrings.xml"/></Relationships>'))
    for name, xml, epoch in (("hand.xlsx", sheet, ""), ("hand-1904.xlsx", sheet, '<workbookPr date1904="1"/>'),
                             ("prefixed.xlsx", prefixed, "")):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for part, blob in parts.items():
                if part == "xl/workbook.xml":
                    blob = blob.replace(b"<workbookPr/>", epoch.encode() or b"<workbookPr/>")
                    assert epoch.encode() in blob
                zf.writestr(part, {"xl/styles.xml": styles.encode()}.get(part, blob))
            zf.writestr("xl/worksheets/sheet1.xml", xml)
            zf.writestr("xl/sharedStrings.xml", sst)
        (tmp_path / name).write_bytes(out.getvalue())
    for name in ("openpyxl.xlsx", "hand.xlsx", "hand-1904.xlsx", "prefixed.xlsx"):
        got = _squared(list(sniff.xlsx_rows(tmp_path / name)))
        assert got == _squared(_calamine_rows(tmp_path / name)), name
        assert len(got) >= 5 and any(c for r in got for c in r)
    hand = {name: _squared(list(sniff.xlsx_rows(tmp_path / name))) for name in ("hand.xlsx", "hand-1904.xlsx")}
    assert hand["hand.xlsx"][0][:8] == ["plain", "trimmed", "  kept  ", "richtext", "漢字", "a\rbA", "", "<&>"]
    assert hand["hand.xlsx"][1][7:13] == ["2025-08-11 12:00:00", "1 day, 18:00:00", "3", "2025-08-11 06:00:00",
                                          "12:00:00", "45880.5"]
    assert hand["hand-1904.xlsx"][1][7] == "2029-08-12 12:00:00"                 # 1,462 days later
