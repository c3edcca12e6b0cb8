import json

import pytest

from assessment.core import casefile
from assessment.core.errors import AssessmentError
from assessment.evidence import analyse as evidence
from assessment.evidence.model import SPEC_FINDINGS

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
    five = {k: v for k, v in res.counts().items() if k in SPEC_FINDINGS}
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


# ---- XLSX at scale (issue 13: M10, L3) -------------------------------------------------------------
SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def workbook(rows: dict[int, list] | list[list], *, shared: bool = True, prolog: bytes = b'<?xml version="1.0"?>',
             after_rows: str = "", encoding: str = "utf-8") -> bytes:
    """An .xlsx as Excel writes it (text through the shared-strings table), from rows of text and
    numbers: a list is rows 1, 2, 3 ...; a dict places rows by number. `prolog` precedes the sheet's
    root element; `after_rows` is raw XML after the last row (a far-away cell, say)."""
    import io
    import zipfile
    from xml.sax.saxutils import escape
    strings: dict[str, int] = {}
    xml_rows = []
    def column(c: int) -> str:
        return column(c // 26 - 1) + chr(65 + c % 26) if c >= 26 else chr(65 + c)

    for r, cells in (rows.items() if isinstance(rows, dict) else enumerate(rows, 1)):
        out = []
        for c, v in enumerate(cells):
            ref = f"{column(c)}{r}"
            if v is None or v == "":
                continue
            if isinstance(v, (int, float)):
                out.append(f'<c r="{ref}"><v>{v}</v></c>')
            elif shared:
                out.append(f'<c r="{ref}" t="s"><v>{strings.setdefault(v, len(strings))}</v></c>')
            else:
                out.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(v)}</t></is></c>')
        xml_rows.append(f'<row r="{r}">{"".join(out)}</row>')
    sheet = prolog + (f'<worksheet xmlns="{SHEET_NS}"><sheetData>{"".join(xml_rows)}{after_rows}</sheetData>'
                      "</worksheet>").encode(encoding)
    sst = (f'<?xml version="1.0"?><sst xmlns="{SHEET_NS}">'
           + "".join(f"<si><t>{escape(s)}</t></si>" for s in strings) + "</sst>").encode()
    rels = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>')
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                   f'package/2006/relationships"><Relationship Id="rId1" Type="{rels}/officeDocument" '
                   'Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", f'<?xml version="1.0"?><workbook xmlns="{SHEET_NS}" xmlns:r="{rels}"><sheets>'
                   '<sheet name="Audit" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.'
                   f'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rels}/worksheet" '
                   'Target="worksheets/sheet1.xml"/></Relationships>')
        z.writestr("xl/worksheets/sheet1.xml", sheet)
        if shared:
            z.writestr("xl/sharedStrings.xml", sst)
    return buf.getvalue()


def xlsx_case(tmp_path, data: bytes, name: str = "audit.xlsx"):
    (tmp_path / name).write_bytes(data)
    case = make_case(tmp_path, [])
    return case.model_copy(update={"evidence": case.evidence.model_copy(update={"audit_logs": [name]})})


LOG_ROW = ["2025-01-06 10:00:00", "OP1", "T1", "CA0199900", "QW", "MORALES, DANIELA", "1991-02-14", "", "", ""]
OTHER_ROW = ["2025-01-06 11:00:00", "OP2", "T1", "CA0199900", "QW", "SMITH, JO", "", "", "", ""]


def test_a_workbook_part_past_its_cap_is_refused_naming_the_part(tmp_path, monkeypatch):
    """M10: each worksheet and the shared-strings table have their own cap on what they unpack to,
    at upload and again when the workbook is read (a case bundle or the CLI skips the upload check)."""
    import dataclasses

    from assessment.firm import uploads
    caps = uploads.XLSX_LIMITS
    assert caps.part_cap("xl/worksheets/sheet1.xml") == uploads.XLSX_SHEET_PART < caps.unpacked
    assert caps.part_cap("xl/sharedStrings.xml") == uploads.XLSX_STRINGS_PART < uploads.XLSX_SHEET_PART
    rows = [HEAD.split(",")] + [LOG_ROW[:5] + [f"NAME {i}, X"] + LOG_ROW[6:] for i in range(3000)]
    data = workbook(rows)
    assert not uploads.check_evidence(data, "audit.xlsx")              # within the real caps
    for part, cap in (("xl/worksheets/sheet1.xml", (r"xl/worksheets/[^/]+\.xml", 100_000)),
                      ("xl/sharedStrings.xml", (r"xl/sharedStrings\.xml", 20_000))):
        monkeypatch.setattr(uploads, "XLSX_LIMITS", dataclasses.replace(caps, part_caps=(cap,)))
        (p,) = uploads.check_evidence(data, "audit.xlsx")
        assert p.code == "EV002" and p.field == part and f"part {part} unpacks to" in p.message
        with pytest.raises(AssessmentError) as err:
            evidence.analyse(xlsx_case(tmp_path, data), tmp_path)
        (p,) = err.value.problems
        assert p.code == "EV002" and p.file == "audit.xlsx" and p.field == part and "unpacks to" in p.message


def test_a_far_away_cell_no_longer_costs_a_dense_grid(tmp_path):
    """M10: python-calamine built the whole sheet as a dense grid, so one cell at XFD1048576 asked
    for 549 GB (the process aborted: a tiny upload took the server down) and a note in the last
    column of a title row multiplied every row by 16,384 cells. Read row by row, both analyse with
    the same rows as without the stray cell, in a process limited to 3 GB."""
    import json
    import subprocess
    import sys

    from conftest import ROOT
    rows = {1: ["Example Police Department"] + [""] * 16_382 + ["printed by records"], 2: HEAD.split(",")}
    rows |= {r: LOG_ROW if r % 100 == 0 else OTHER_ROW for r in range(3, 9003)}
    corner = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>end of export</t></is></c></row>'
    (tmp_path / "stray").mkdir()
    (tmp_path / "corner").mkdir()
    xlsx_case(tmp_path / "stray", workbook(rows))
    xlsx_case(tmp_path / "corner", workbook({k: v for k, v in rows.items() if k > 1}, after_rows=corner))
    code = (f"import json, resource, sys; resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30)); "
            f"sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'tests')!r}, {str(ROOT / 'tests' / 'evidence')!r}]\n"
            "from assessment.core import casefile\n"
            "from assessment.evidence import analyse as evidence\n"
            "from test_analyse import make_case, xlsx_case\n"
            "folder = __import__('pathlib').Path(sys.argv[1])\n"
            "case = xlsx_case(folder, (folder / 'audit.xlsx').read_bytes())\n"
            "res = evidence.analyse(case, folder)\n"
            "print(json.dumps([res.files[0]['rows'], res.files[0]['header_line'], res.findings['subject-queries'].rows]))")
    for shape, header_line in (("stray", 2), ("corner", 2)):
        got = subprocess.run([sys.executable, "-c", code, str(tmp_path / shape)], capture_output=True, text=True,
                             cwd=tmp_path, check=False)
        assert got.returncode == 0, (shape, got.returncode, got.stderr[-400:])
        n_rows, line, subject = json.loads(got.stdout.strip().splitlines()[-1])
        assert line == header_line and n_rows == 9000 and subject == list(range(98, 9001, 100)), shape


def test_workbook_rows_keep_their_sheet_numbers_around_blank_and_missing_rows(tmp_path):
    """Row numbers as before: data row = sheet row - header row, a blank or missing row inside the
    data counts, blank rows (also whitespace-only ones) after the last data row do not."""
    rows = {1: ["CLETS transaction journal"], 3: HEAD.split(","), 4: OTHER_ROW, 5: LOG_ROW, 6: [""] * 10,
            7: ["  ", ""], 9: LOG_ROW, 10: OTHER_ROW[:3], 11: ["", " "], 14: [" "]}
    res = evidence.analyse(xlsx_case(tmp_path, workbook(rows)), tmp_path)
    assert res.files[0]["header_line"] == 3 and res.files[0]["rows"] == 7
    assert res.findings["subject-queries"].rows == [2, 6] and res.client_queries == 2


def test_sampling_a_copy_of_a_workbook_uses_the_cache(tmp_path, monkeypatch):
    """M10: each rerun of the app sampled a workbook again (5.3 s, 780 MB), because the app writes
    a matter's evidence to a fresh folder: the sample is kept by the file's SHA-256."""
    import os
    import shutil

    from assessment.evidence import sniff
    calls = []
    real = sniff._sample
    monkeypatch.setattr(sniff, "_sample", lambda path, vocab: calls.append(path) or real(path, vocab))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "audit.xlsx").write_bytes(workbook([HEAD.split(","), LOG_ROW, OTHER_ROW]))
    first = sniff.sample(tmp_path / "a" / "audit.xlsx", sniff.AUDIT_HEADERS)
    shutil.copy(tmp_path / "a" / "audit.xlsx", tmp_path / "b" / "renamed.xlsx")
    os.utime(tmp_path / "b" / "renamed.xlsx", ns=(1_000_000_000, 1_000_000_000))
    again = sniff.sample(tmp_path / "b" / "renamed.xlsx", sniff.AUDIT_HEADERS)
    assert len(calls) == 1 and again.plan == first.plan and again.plan is not first.plan
    again.plan.columns.clear()                                   # each caller has its own plan
    assert sniff.sample(tmp_path / "a" / "audit.xlsx", sniff.AUDIT_HEADERS).plan == first.plan
    (tmp_path / "b" / "renamed.xlsx").write_bytes(workbook([HEAD.split(","), OTHER_ROW, LOG_ROW]))
    sniff.sample(tmp_path / "b" / "renamed.xlsx", sniff.AUDIT_HEADERS)
    assert len(calls) == 2                                       # other bytes: sampled


def test_the_sniffer_reads_only_the_first_rows_of_a_workbook(tmp_path):
    """M10: the mapping editor's sample decompresses only the rows it needs, so a workbook damaged
    far below its header still shows its columns; the analysis then names the damaged row."""
    from assessment.evidence import sniff
    rows = [HEAD.split(",")] + [LOG_ROW if i % 10 == 0 else OTHER_ROW for i in range(1, 20_000)]
    data = workbook(rows, after_rows='<row r="20001"><c r="A20001" t="s"><v>999999</v></c></row>')
    case = xlsx_case(tmp_path, data)
    plan = sniff.sample(tmp_path / "audit.xlsx", sniff.AUDIT_HEADERS).plan
    assert plan.header_line == 1 and plan.columns["operator"] == "Operator ID"
    with pytest.raises(AssessmentError) as err:
        evidence.analyse(case, tmp_path)
    (p,) = err.value.problems
    assert p.code == "EV002" and p.file == "audit.xlsx" and p.line == 20001
    assert "shared string 999999" in p.message and p.field == "xl/sharedStrings.xml"


@pytest.mark.parametrize("prolog", [
    b'<?xml version="1.0"?><!--' + b" padding " * 600 + b"-->",
    b'<?xml version="1.0"?>' + b"\n" * 5000,
    b'<?xml version="1.0"?>' + b"<?pad " + b"x" * 5000 + b"?>",
    b'<?xml version="1.0"?><!-- <a> is not the first element -->',
], ids=["comment", "whitespace", "processing-instruction", "element-in-comment"])
def test_a_dtd_behind_a_long_prolog_is_refused(prolog, tmp_path):
    """L3: the DTD check read the first 4 KB and took the first '<' and letter for the first element,
    so a DTD behind 4 KB of comments, white space or processing instructions, or behind a comment
    holding '<a>', passed in any part too large to parse whole (a sheet past 2 MB). The whole prolog is
    read now, by a parser; the reader refuses a DTD too (a workbook from a bundle or the CLI)."""
    import io
    import zipfile

    from assessment.evidence import sniff
    from assessment.firm import uploads
    rows = [HEAD.split(",")] + [LOG_ROW[:5] + [f"ROW {i}, N"] + LOG_ROW[6:] for i in range(12_000)]
    dtd = b'<!DOCTYPE worksheet [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    data = workbook(rows, shared=False, prolog=prolog + dtd)
    assert zipfile.ZipFile(io.BytesIO(data)).getinfo("xl/worksheets/sheet1.xml").file_size > uploads.SMALL_XML
    (p,) = uploads.check_evidence(data, "audit.xlsx")
    assert p.code == "EV002" and p.field == "xl/worksheets/sheet1.xml" and "DTD" in p.message
    (tmp_path / "audit.xlsx").write_bytes(data)
    with pytest.raises(AssessmentError) as err:
        sniff.sample(tmp_path / "audit.xlsx", sniff.AUDIT_HEADERS)
    (p,) = err.value.problems
    assert p.code == "EV002" and p.field == "xl/worksheets/sheet1.xml" and "DTD" in p.message


def test_a_dtd_in_a_utf16_part_is_refused():
    """L3: a byte search for '<!DOCTYPE' does not see one written in UTF-16."""
    from assessment.firm import uploads
    rows = [HEAD.split(",")] + [LOG_ROW[:5] + [f"ROW {i}, N"] + LOG_ROW[6:] for i in range(6_000)]
    data = workbook(rows, shared=False, encoding="utf-16-le",
                    prolog='\ufeff<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE w [<!ENTITY e "x">]>'.encode("utf-16-le"))
    (p,) = uploads.check_evidence(data, "audit.xlsx")
    assert p.code == "EV002" and p.field == "xl/worksheets/sheet1.xml" and "DTD" in p.message
