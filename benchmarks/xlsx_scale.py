"""XLSX audit logs at upload scale: the upload check, the sniffer and the full analysis of
workbooks shaped like agency audit exports, each about 7 MB as uploaded (issue 13, M10).

    .venv/bin/python benchmarks/xlsx_scale.py [--shapes rows,wide,strings,stray,sparse] [--mb 7]
        [--modes check,sample,resample,calamine,read,analyse] [--repeat 1] [--dir DIR]

The workbooks are written here as Excel writes them (shared strings, a styles part with date
formats, real Excel date-times), so the script needs no data and no openpyxl. Shapes:
  rows     an audit export: title rows, a header, then as many 10-column rows as fit
  wide     the same with 300 columns (agency exports with every NCIC field)
  strings  every text cell different, so the shared-strings table is as large as the sheet
  stray    the rows shape with one stray note in column 500 of the title row
  sparse   the rows shape plus one cell in the sheet's far corner (XFD1048576)
Steps: `check` = uploads.check_evidence; `sample` = sniff.sample in a fresh process (nothing
cached); `resample` = sniff.sample of a copy of the file under another name, after sampling the
original (the cache keyed by SHA-256); `calamine` = the reader before issue 13 (python-calamine's
whole sheet, then sniff.cell_text on every cell); `read` = sniff.xlsx_rows over the whole sheet;
`analyse` = evidence.analyse (sniff, hash, CSV copy, DuckDB scan, all findings), checked against
the rows and subject queries the generator wrote ("exact").
Each workbook is written, and each step runs, in a fresh process (its peak RSS is its own: Linux
keeps a parent's peak in a forked child's) under an 8 GB address-space limit and a 600 s limit.
`seconds` is wall time, `CPU s` user + system time (the two differ when other work shares the
machine), `RSS MB` the peak, `import` the peak after the imports alone.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLIENT = "OP0007"
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RNS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
HEAD = ["Timestamp", "Operator ID", "Terminal", "ORI", "Message Key", "Name", "DOB", "Plate", "DL Number",
        "Case Number"]
EPOCH = dt.datetime(1899, 12, 30)
MEMORY_LIMIT = 8 * 2**30
TIME_LIMIT = 600


def _serial(t: dt.datetime) -> str:
    return repr(round((t - EPOCH).total_seconds() / 86400, 10))


def _col(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


class _Sheet:
    """Writes rows of Python values as Excel would: text through the shared-strings table,
    date-times as serial numbers with a date style."""

    def __init__(self, zf: zipfile.ZipFile):
        self.out = zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True)
        self.sst: dict[str, int] = {}
        self.row = 0
        self.out.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{NS}" '
                       f'xmlns:r="{RNS}"><sheetData>'.encode())

    def append(self, values: list, at_col: int = 0) -> None:
        self.row += 1
        cells = []
        for j, v in enumerate(values):
            ref = f"{_col(j + at_col)}{self.row}"
            if v is None or v == "":
                continue
            if isinstance(v, dt.datetime):
                cells.append(f'<c r="{ref}" s="1"><v>{_serial(v)}</v></c>')
            elif isinstance(v, dt.date):
                cells.append(f'<c r="{ref}" s="2"><v>{(v - EPOCH.date()).days}</v></c>')
            elif isinstance(v, (int, float)):
                cells.append(f'<c r="{ref}"><v>{v}</v></c>')
            else:
                k = self.sst.setdefault(v, len(self.sst))
                cells.append(f'<c r="{ref}" t="s"><v>{k}</v></c>')
        self.out.write(f'<row r="{self.row}">{"".join(cells)}</row>'.encode())

    def skip_to(self, row: int) -> None:
        self.row = row - 1

    def close(self, zf: zipfile.ZipFile) -> None:
        self.out.write(b"</sheetData></worksheet>")
        self.out.close()
        with zf.open("xl/sharedStrings.xml", "w", force_zip64=True) as fh:
            fh.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{NS}" '
                     f'count="{len(self.sst)}" uniqueCount="{len(self.sst)}">'.encode())
            buf = []
            for s in self.sst:
                buf.append(f"<si><t>{escape(s)}</t></si>")
                if len(buf) >= 10_000:
                    fh.write("".join(buf).encode())
                    buf = []
            fh.write("".join(buf).encode() + b"</sst>")


def _package(zf: zipfile.ZipFile) -> None:
    zf.writestr("[Content_Types].xml", (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
        'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.spreadsheetml.styles+xml"/><Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'))
    zf.writestr("_rels/.rels", (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.'
        'org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'))
    zf.writestr("xl/workbook.xml", (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{NS}" xmlns:r="{RNS}">'
        '<sheets><sheet name="Audit" sheetId="1" r:id="rId1"/></sheets></workbook>'))
    zf.writestr("xl/_rels/workbook.xml.rels", (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.'
        'org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
        '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'sharedStrings" Target="sharedStrings.xml"/></Relationships>'))
    zf.writestr("xl/styles.xml", (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{NS}"><numFmts count="1">'
        '<numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd\\ hh:mm:ss"/></numFmts><fonts count="1"><font><sz val="11"/>'
        '</font></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills><borders count="1">'
        '<border/></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        '</cellStyleXfs><cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
        '</styleSheet>'))


def log_row(i: int, unique: bool = False) -> list:
    """Row i (1-based) of the synthetic log: operator OP0007 every 40th row, the subject (ROE, ALEX)
    on every 11th of those; `unique` makes every text cell different."""
    t = dt.datetime(2025, 1, 1) + dt.timedelta(seconds=37 * i)
    client = i % 40 == 7
    subject = client and i % 11 == 0
    u = f" {i}" if unique else ""
    name = "ROE, ALEX" if subject else ["SMITH", "GARCIA", "NGUYEN", "KIM", "PATEL"][i % 5] + ", " + \
        ["ANA", "JOSE", "MEI", "OMAR"][i // 5 % 4] + u
    return [t, CLIENT if client else f"OP{1000 + i * 7919 % 400:04d}", f"TRM{i % 60:03d}" + u, "CA0199900",
            ["QW", "RQ", "DQ", "QV"][i % 4] + u, name,
            dt.date(1990, 5, 17) if subject else dt.date(1950 + i % 50, 1 + i % 9, 1 + i % 27),
            f"{1000000 + i % 8999999}" if i % 3 == 0 else "", "", f"25-{i:08d}" if i % 5 else ""]


def write(path: Path, shape: str, rows: int) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        _package(zf)
        sh = _Sheet(zf)
        stray = [None] * 498 + ["printed by records"] if shape == "stray" else []   # far right of the title
        sh.append(["Example Police Department"] + stray)
        sh.append(["CLETS audit export", "run 2025-09-01"])
        sh.append([])
        extra = [f"Field {k}" for k in range(290)] if shape == "wide" else []
        sh.append(HEAD + extra)
        for i in range(1, rows + 1):
            r = log_row(i, unique=shape == "strings")
            if shape == "wide":
                r += [f"F{(i + k) % 97}" if k % 3 else (i * k) % 1000 for k in range(290)]
            sh.append(r)
        if shape == "sparse":
            sh.skip_to(1_048_576)
            sh.append(["end of export"], at_col=16_383)
        sh.close(zf)


def fit(path: Path, shape: str, mb: float) -> int:
    """Rows that make the workbook about `mb` MB (two trial writes, then scale)."""
    n = 2000
    for _ in range(3):
        write(path, shape, n)
        size = path.stat().st_size
        want = int(n * mb * 1e6 / size)
        if abs(want - n) < n * 0.03:
            break
        n = want
    write(path, shape, n)
    return n


def write_case(folder: Path, log: str) -> None:
    (folder / "case.yaml").write_text(f"""format: clets-case/1
matter: {{id: "XLSX-BENCH", title: "Benchmark", stage: investigation}}
client:
  name: Bench Client
  role: dispatcher
  ori: CA0199900
  operator_ids: [{CLIENT}]
  terminal_ids: [TRM007]
  clets_training_date: 2025-07-01
subjects:
  - {{name: "Alex Roe", relationship: ex_partner, dob: 1990-05-17}}
evidence:
  audit_logs: [{log}]
""")


def expected(rows: int) -> dict:
    subject = [i for i in range(1, rows + 1) if i % 40 == 7 and i % 11 == 0]
    return {"client": sum(1 for i in range(1, rows + 1) if i % 40 == 7), "subject": subject}


def child(mode: str, path: str) -> None:
    """One measurement in this process; prints JSON."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    p = Path(path)
    import duckdb  # noqa: F401  (imports are not part of the measurement)
    import pandas  # noqa: F401

    from assessment.core import casefile
    from assessment.evidence import analyse as evidence
    from assessment.evidence import sniff
    from assessment.firm import uploads
    out: dict = {"import_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    use = resource.getrusage(resource.RUSAGE_SELF)
    t0, cpu0 = time.perf_counter(), use.ru_utime + use.ru_stime
    if mode == "check":
        problems = uploads.check_evidence(p.read_bytes(), p.name)
        out["result"] = str(problems[0]) if problems else "accepted"
    elif mode == "sample":
        out["result"] = f"header row {sniff.sample(p, sniff.AUDIT_HEADERS).plan.header_line}"
    elif mode == "resample":
        sniff.sample(p, sniff.AUDIT_HEADERS)
        copy = p.with_name("copy-" + p.name)
        copy.write_bytes(p.read_bytes())
        try:
            use = resource.getrusage(resource.RUSAGE_SELF)
            t0, cpu0 = time.perf_counter(), use.ru_utime + use.ru_stime
            out["result"] = f"header row {sniff.sample(copy, sniff.AUDIT_HEADERS).plan.header_line}"
        finally:
            copy.unlink()
    elif mode == "read":
        out["result"] = f"{sum(1 for _ in sniff.xlsx_rows(p))} sheet rows"
    elif mode == "calamine":       # the reader before issue 13: python-calamine's whole sheet, then cell_text
        from python_calamine import CalamineWorkbook
        rows = CalamineWorkbook.from_path(str(p)).get_sheet_by_index(0).to_python(skip_empty_area=False)
        out["result"] = f"{len([[sniff.cell_text(v) for v in r] for r in rows])} sheet rows"
    elif mode == "analyse":
        write_case(p.parent, p.name)
        res = evidence.analyse(casefile.load(p.parent / "case.yaml"), p.parent)
        out["rows"] = res.files[0]["rows"]
        out["client"] = res.client_queries
        out["subject"] = res.findings["subject-queries"].rows
        out["result"] = f"{out['rows']} rows"
    out["seconds"] = time.perf_counter() - t0
    use = resource.getrusage(resource.RUSAGE_SELF)
    out["cpu"] = use.ru_utime + use.ru_stime - cpu0
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def measure(mode: str, path: Path) -> dict:
    try:
        got = subprocess.run([sys.executable, __file__, "--child", mode, str(path)], capture_output=True, text=True,
                             timeout=TIME_LIMIT, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"over {TIME_LIMIT} s"}
    if got.returncode:   # the line that says why (a Rust allocation failure prints a backtrace after it)
        lines = got.stderr.strip().splitlines() or [f"exit {got.returncode}"]
        why = next((x for x in lines if "memory allocation" in x or "Error" in x), lines[-1])
        return {"error": (f"killed by signal {-got.returncode}: " if got.returncode < 0 else "") + why.strip()[:80]}
    return json.loads(got.stdout.strip().splitlines()[-1])


def unpacked(path: Path) -> dict[str, int]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: i.file_size for i in zf.infolist()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes", default="rows,wide,strings,stray,sparse")
    ap.add_argument("--modes", default="check,sample,resample,calamine,read,analyse")
    ap.add_argument("--mb", type=float, default=7.0)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--dir", default=None)
    ap.add_argument("--child", nargs=2)
    ap.add_argument("--generate", nargs=3)
    a = ap.parse_args()
    if a.child:
        return child(*a.child)
    if a.generate:
        shape, mb, out = a.generate
        return (Path(out).parent / "rows.txt").write_text(str(fit(Path(out), shape, float(mb))))
    base = Path(a.dir or tempfile.mkdtemp(prefix="clets-xlsx-bench-"))
    print(f"{'shape':<8} {'rows':>9} {'MB':>5} {'sheet MB':>8} {'sst MB':>6}  {'step':<9} {'seconds':>8} {'CPU s':>6} "
          f"{'RSS MB':>7} {'import':>6}  result")
    for shape in a.shapes.split(","):
        folder = base / shape
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "audit.xlsx"
        meta = folder / "rows.txt"
        if not path.exists() or not meta.exists():   # in another process: a child's peak RSS counts its parent's
            subprocess.run([sys.executable, __file__, "--generate", shape, str(a.mb), str(path)], check=True)
        rows = int(meta.read_text())
        parts = unpacked(path)
        for mode in a.modes.split(","):
            runs = [measure(mode, path) for _ in range(a.repeat)]
            ok = [r for r in runs if "error" not in r]
            size = (f"{shape:<8} {rows:>9,} {path.stat().st_size / 1e6:>5.1f} "
                    f"{parts.get('xl/worksheets/sheet1.xml', 0) / 1e6:>8.0f} {parts.get('xl/sharedStrings.xml', 0) / 1e6:>6.0f}")
            if not ok:
                print(f"{size}  {mode:<9} {'-':>8} {'-':>6} {'-':>7} {'-':>6}  {runs[0]['error']}", flush=True)
                continue
            result = ok[-1]["result"][:90]
            if mode == "analyse":
                want = expected(rows)
                exact = (ok[-1]["rows"] == rows and ok[-1]["client"] == want["client"] and ok[-1]["subject"] == want["subject"])
                result += ", " + ("exact" if exact else "MISMATCH")
            print(f"{size}  {mode:<9} {statistics.median(r['seconds'] for r in ok):>8.2f} "
                  f"{statistics.median(r['cpu'] for r in ok):>6.2f} {max(r['rss_mb'] for r in ok):>7.0f} "
                  f"{max(r['import_rss_mb'] for r in ok):>6.0f}  {result}", flush=True)


if __name__ == "__main__":
    main()
