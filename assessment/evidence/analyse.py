"""Audit evidence: read CLETS transaction logs, shift schedules and CAD incidents in whatever
shape the agency exported (see `sniff`), and compute the findings with the file and 1-based
data-row number behind each.

A log is scanned once, in parallel: DuckDB keeps file order when it stores a table, so each
row's `rowid` is its data-row number; only the client's rows keep their values, so a
10-million-row agency journal costs a few hundred MB."""
from __future__ import annotations

import codecs
import csv
import gzip
import re
import shutil
import tempfile
import threading
import zlib
from collections.abc import Callable
from pathlib import Path

import duckdb

from assessment.core import safepath, settings
from assessment.core.casefile import CaseFile
from assessment.core.errors import CF006, EV001, EV002, EV003, AssessmentError, Problem
from assessment.evidence import mappings
from assessment.evidence.model import (
    CAD_MATCHED_QUERIES,
    CAD_WINDOW_MINUTES,
    CASE_NUMBER_NOT_IN_CAD,
    CONCURRENT_MINUTES,
    CONCURRENT_TERMINAL_USE,
    FINDINGS,
    LEAVE_DAY_QUERIES,
    OFF_DUTY_SUBJECT_QUERIES,
    QUERIES_BEFORE_TRAINING,
    REPEATED_SUBJECT_QUERIES,
    SUBJECT_QUERIES,
    SUBJECT_QUERIES_WITHOUT_CASE_NUMBER,
    UNASSIGNED_TERMINAL_QUERIES,
    EvidenceResult,
    Finding,
)
from assessment.evidence.sniff import (
    AUDIT_HEADERS,
    CAD_HEADERS,
    COMPACT_TIME,
    DATE_FORMATS,
    OFFSET_FORMATS,
    SHIFT_HEADERS,
    TIME_FORMATS,
    TIMESTAMP_FORMATS,
    XLSX_CELLS,
    XLSX_MAX_COL,
    XLSX_ROW_TEXT,
    FilePlan,
    file_sha256,
    fold,
    xlsx_rows,
)
from assessment.firm import tmpfiles

LEAVE_WORDS = r"\b(LEAVE|VACATION|VAC|SICK|PTO|HOLIDAY|HOL|OFF|RDO|FMLA|LOA|BEREAVEMENT|JURY|COMP|CTO|AL)\b"
AUDIT_FIELDS = ["timestamp", "date", "time", "operator", "terminal", "ori", "mke", "name", "dob", "plate", "oln",
                "vin", "case_number"]

Progress = Callable[[float, str], None]


def _lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple:
    """The row of a query that always gives exactly one (a count, a min and max)."""
    row = con.execute(sql).fetchone()
    if row is None:
        raise RuntimeError(f"no row from: {sql}")
    return row


def _col(plan: FilePlan, meaning: str) -> str | None:
    """The positional column (c1, c2, ...) holding a meaning."""
    h = plan.columns.get(meaning)
    if h is None or h not in plan.headers:
        return None
    return f"c{plan.headers.index(h) + 1}"


def local_zone() -> str:
    """Logs, shifts and CAD are compared in the agency's local time (`$CLETS_LOCAL_TZ`, California
    unless set; a name not of a time zone's form is refused, as it is written into the SQL)."""
    return settings.LOCAL_TZ.get()


def _parse(expr: str, fmt: str, family: list[str]) -> str:
    """try_strptime with the detected format first, then the rest of its family. A timestamp
    with an offset becomes the local wall-clock time."""
    if "%z" in fmt:
        fmts = [fmt] + [f for f in OFFSET_FORMATS if f != fmt]
        return (f"timezone({_lit(local_zone())}, try_strptime(regexp_replace({expr}, 'Z$', '+00:00'), "
                f"[{', '.join(_lit(f) for f in fmts)}]))")
    family = [f for f in family if "%z" not in f]
    if fmt in COMPACT_TIME:
        expr = f"lpad(split_part({expr}, '.', 1), {COMPACT_TIME[fmt]}, '0')"
    elif fmt == "%Y%m%d":
        expr = f"split_part({expr}, '.', 1)"
    fmts = [fmt] + [f for f in family if f != fmt]
    return f"try_strptime({expr}, [{', '.join(_lit(f) for f in fmts)}])"


def _ts_expr(plan: FilePlan, raw: Callable[[str], str]) -> str:
    if "timestamp" in plan.columns:
        return _parse(raw("timestamp"), plan.formats.get("timestamp", TIMESTAMP_FORMATS[0]),
                      TIMESTAMP_FORMATS + DATE_FORMATS)
    d = _parse(raw("date"), plan.formats.get("date", DATE_FORMATS[0]), DATE_FORMATS + TIMESTAMP_FORMATS)
    t = _parse(raw("time"), plan.formats.get("time", TIME_FORMATS[0]), TIME_FORMATS)
    return f"(CAST({d} AS DATE) + CAST({t} AS TIME))"


def _require(plan: FilePlan, needed: list[str], path: Path, label: str, vocab: dict[str, tuple[str, ...]]) -> None:
    missing = [m for m in needed if m not in plan.columns]
    if missing:
        looked = "; ".join(f"{m}: {', '.join(vocab[m][:6])}" for m in missing)
        looked += "".join(f"; {plan.reasons[m]}" for m in missing if m in plan.reasons)
        raise AssessmentError([Problem(
            EV001, f"the {label} has no column for {', '.join(missing)}", file=str(path), line=plan.header_line,
            field=", ".join(missing),
            hint=f"headers found: {', '.join(plan.headers)}; headers recognised: {looked}; "
                 "or choose the column in the mapping on the Evidence page")])


def _gzip_complete(path: Path) -> bool:
    """True when every gzip member of the file decompresses to its end (DuckDB reads a cut file silently)."""
    with open(path, "rb") as fh:
        d = zlib.decompressobj(wbits=31)
        try:
            while block := fh.read(1 << 20):
                while block:
                    d.decompress(block, 0)
                    if d.eof:   # a member ended; another may follow
                        block = d.unused_data
                        d = zlib.decompressobj(wbits=31) if block else d
                    else:
                        block = b""
        except zlib.error:
            return False
        return d.eof


def _utf8_copy(path: Path, tmp: Path, compression: str = "") -> Path:
    """A UTF-8 working copy of a Windows-1252 file (the original stays as uploaded)."""
    out = tmp / (path.name + ".utf8.csv")
    dec = codecs.getincrementaldecoder("cp1252")(errors="replace")
    opener = gzip.open if compression else open
    with opener(path, "rb") as src, open(out, "w", encoding="utf-8", newline="") as dst:
        dst.writelines(dec.decode(block) for block in iter(lambda: src.read(1 << 22), b""))
        dst.write(dec.decode(b"", final=True))
    return out


def _xlsx_line() -> int:
    """The longest line of a workbook's CSV copy: sniff.XLSX_ROW_TEXT characters of up to 4 UTF-8
    bytes with their quotes doubled, and the commas."""
    return 8 * XLSX_ROW_TEXT + 2 * XLSX_MAX_COL + 1024


def _xlsx_width(plan: FilePlan) -> int:
    """How many columns of a workbook the analysis reads: up to the last one the mapping uses."""
    return max((plan.headers.index(h) + 1 for h in plan.columns.values() if h in plan.headers), default=1)


def _xlsx_copy(path: Path, plan: FilePlan, tmp: Path) -> Path:
    """The first sheet's data rows (those below the header row `plan.header_line`) as a UTF-8 CSV
    in `tmp`, streaming row by row, each cut or padded to `_xlsx_width` columns. A missing or blank
    row (blank across all the headers) inside the data stays: the row numbers are the sheet's;
    blank rows at the end are dropped, by cutting the file back to the end of the last row holding
    something. Refused past sniff.XLSX_CELLS cells, padding included."""
    n, width = len(plan.headers), _xlsx_width(plan)
    fd, name = tempfile.mkstemp(prefix="xlsx-", suffix=".csv", dir=tmp)
    out = Path(name)
    with open(fd, "w", encoding="utf-8", newline="", errors="replace") as fh:
        write = csv.writer(fh, lineterminator="\n").writerow
        end, blank_before = 0, False              # where the last row holding something ends
        rows = xlsx_rows(path, plan.header_line, width=n)
        try:
            for k, row in enumerate(rows, 1):
                if k * width > XLSX_CELLS:
                    raise AssessmentError([Problem(
                        EV002, f"the workbook holds more than {XLSX_CELLS:,} cells under its {width} columns",
                        file=str(path), line=plan.header_line + k, hint="split the export by date range")])
                blank = not any(c.strip() for c in row)
                if blank and not blank_before:
                    end = fh.tell()
                write(row[:width] + [""] * (width - len(row)) if len(row) != width else row)
                blank_before = blank
        finally:
            rows.close()
        if blank_before:
            fh.truncate(end)
    return out


def _source(path: Path, plan: FilePlan, tmp: Path, con: duckdb.DuckDBPyConnection) -> str:
    """A DuckDB table expression yielding the file's data rows as VARCHAR columns c1..cN, in file order."""
    n = len(plan.headers)
    if plan.kind == "xlsx":        # a CSV copy up to the last mapped column (c1 .. c<width>)
        src = _xlsx_copy(path, plan, tmp)
        cols = "{" + ", ".join(f"'c{i + 1}': 'VARCHAR'" for i in range(_xlsx_width(plan))) + "}"
        return (f"read_csv({_lit(str(src))}, header=false, delim=',', quote='\"', escape='\"', auto_detect=false, "
                f"columns={cols}, max_line_size={_xlsx_line()}, buffer_size={4 * _xlsx_line()})")
    cols = "{" + ", ".join(f"'c{i + 1}': 'VARCHAR'" for i in range(n)) + "}"
    utf8 = plan.encoding in ("utf-8", "utf-8-sig")
    src = path if utf8 else _utf8_copy(path, tmp, plan.compression)
    gz = ", compression='gzip'" if plan.compression and utf8 else ""
    return (f"read_csv({_lit(str(src))}, header=false, skip={plan.header_line}, delim={_lit(plan.delimiter)}, "
            f"quote='\"', escape='\"', auto_detect=false, columns={cols}{gz})")


def _located(exc: duckdb.Error, path: Path, plan: FilePlan, label: str) -> AssessmentError:
    msg = str(exc)
    m = re.search(r"Line: (\d+)", msg)
    line = int(m.group(1)) if m else None   # DuckDB counts every physical line, skipped ones too
    hint = "check that row (a stray delimiter or quote?); nothing was loaded"
    if "Expected Number of Columns" in msg:
        detail = f"a row has a different number of fields than the {len(plan.headers)} headers"
    elif "gzip" in msg.lower():
        detail, hint = "the compressed file is truncated or damaged", "download or copy the file again; nothing was loaded"
    else:
        detail = msg.splitlines()[0].replace(str(path), path.name)
        hint = hint if line else "check the file (export it again as CSV UTF-8 or XLSX); nothing was loaded"
    return AssessmentError([Problem(EV002, f"cannot read the {label}: {detail}", file=str(path), line=line,
                                    hint=hint)])


class _Loader:
    """One DuckDB connection for the analysis of one case."""

    def __init__(self, base_dir: Path, ori: str | None, plans: dict[str, FilePlan] | None,
                 remembered: mappings.Remembered | None = None):
        self.tmp = tmpfiles.make("clets-evidence-")       # decoded copies: in the data folder's private tmp/
        self.con = duckdb.connect()
        self.con.execute("SET preserve_insertion_order = true")   # rowid = data-row number depends on it
        self.con.execute(f"SET temp_directory = {_lit(str(self.tmp / 'duckdb'))}")   # spills: there too, never in cwd
        self.base_dir, self.ori, self.plans = Path(base_dir).resolve(), ori, plans or {}
        self.remembered = remembered
        self.files: list[dict] = []

    def close(self) -> None:
        self.con.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def plan(self, rel: str, vocab: dict[str, tuple[str, ...]]) -> tuple[Path, FilePlan]:
        """The file the case names as `rel`, read only inside the case's folder (in the app: the
        matter's own stored files); the error names `rel`, never a path on the server."""
        try:
            path = safepath.inside(self.base_dir, rel)
        except safepath.Outside:
            raise AssessmentError([Problem(CF006, "an evidence path must name a file inside the case's folder",
                                           file=rel)]) from None
        if not path.is_file():
            raise AssessmentError([Problem(CF006, "evidence file not found", file=rel,
                                           hint="paths in the case file are relative to the case file's folder; in "
                                                "the app, upload the file on the Evidence page")])
        return path, self.plans.get(rel) or mappings.plan_for(path, vocab, self.ori, remembered=self.remembered)

    def hashed(self, path: Path, compression: str = "") -> tuple[threading.Thread, dict]:
        """SHA-256 (and, for a .gz file, a check that it is complete) on a second thread."""
        box: dict = {}

        def work() -> None:
            box["sha256"] = file_sha256(path)        # the sampler's hash of this version, if it made one
            if compression:
                box["complete"] = _gzip_complete(path)
        t = threading.Thread(target=work, daemon=True)
        t.start()
        return t, box

    def table(self, rel: str, vocab, label: str, kind: str, select: Callable[[FilePlan], str],
              table: str) -> tuple[FilePlan, int]:
        """Store `select(plan)` over the file's rows (with `row_no`) as `table`; record the file."""
        path, plan = self.plan(rel, vocab)
        thread, box = self.hashed(path, plan.compression)
        try:
            src = _source(path, plan, self.tmp, self.con)
            self.con.execute(f"CREATE TABLE {table} AS SELECT {select(plan)} FROM {src}")
        except duckdb.Error as exc:
            if "Invalid unicode" in str(exc) and plan.encoding == "utf-8":
                plan = plan.model_copy(update={"encoding": "cp1252"})   # non-UTF-8 bytes past the sample
                try:
                    src = _source(path, plan, self.tmp, self.con)
                    self.con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {select(plan)} FROM {src}")
                except duckdb.Error as exc2:
                    raise _located(exc2, path, plan, label) from None
            else:
                raise _located(exc, path, plan, label) from None
        rows = _one(self.con, f"SELECT count(*) FROM {table}")[0]
        thread.join()
        if box.get("complete") is False:
            raise AssessmentError([Problem(EV002, f"cannot read the {label}: the compressed file is truncated or "
                                           "damaged (its end is missing)", file=str(path),
                                           hint="download or copy the file again; nothing was loaded")])
        entry = {"file": rel, "sha256": box["sha256"], "rows": rows, "columns": dict(plan.columns),
                 "formats": dict(plan.formats), "encoding": plan.encoding, "header_line": plan.header_line,
                 "mapping": plan.source}
        if kind != "audit":
            entry["kind"] = kind
        self.files.append(entry)
        return plan, rows


def _ident(col: str) -> str:
    """Plates, licence numbers: upper-case, no spaces or dashes."""
    return f"nullif(regexp_replace(upper({col}), '[^A-Z0-9]', '', 'g'), '')"


APOSTROPHES = "'\u2019\u2018`\u00b4"
NAME_TOKENS = ("list_filter(string_split(regexp_replace(regexp_replace(upper(strip_accents(coalesce({col}, ''))), "
               "'[" + APOSTROPHES.replace("'", "''") + "]', '', 'g'), '[^A-Z]+', ' ', 'g'), ' '), lambda x: x <> '')")


def name_tokens(name: str) -> list[str]:
    """The same normalisation as NAME_TOKENS, in Python (for subjects from the case file):
    'NÚÑEZ, JOSÉ' and 'José Núñez' give the same tokens, as do "O'CONNOR" and 'O’Connor'."""
    text = fold(name)
    for a in APOSTROPHES:
        text = text.replace(a, "")
    return [t for t in re.sub(r"[^A-Z]+", " ", text).split(" ") if t]


def _text(expr: str | None) -> str:
    return f"nullif(upper(trim({expr})), '')" if expr else "NULL::VARCHAR"


def _load_audit(ld: _Loader, i: int, rel: str, ops: list[str]) -> str:
    """Scan one log; keep the client's rows. Returns the SELECT giving them in the common shape."""
    used: list[str] = []

    def select(plan: FilePlan) -> str:
        _require(plan, ["operator"] + (["timestamp"] if "timestamp" in plan.columns
                                       or not {"date", "time"} <= set(plan.columns) else []),
                 ld.base_dir / rel, "audit log", AUDIT_HEADERS)
        used[:] = [m for m in AUDIT_FIELDS if _col(plan, m)]
        op = _text(_col(plan, "operator"))
        keep = "[" + ", ".join(c for m in used if (c := _col(plan, m))) + "]"
        ops_sql = ", ".join(_lit(o) for o in ops) or "NULL"
        return f"CASE WHEN {op} IN ({ops_sql}) THEN {keep} END AS d"

    plan, _ = ld.table(rel, AUDIT_HEADERS, "audit log", "audit", select, f"raw{i}")

    def raw(m: str) -> str:
        return f"trim(d[{used.index(m) + 1}])" if m in used else "NULL::VARCHAR"

    dob_fmt = plan.formats.get("dob", DATE_FORMATS[0])
    return f"""
        SELECT {_lit(rel)} AS file, rowid + 1 AS row_no, {_ts_expr(plan, raw)} AS ts,
               concat_ws(' ', {raw('timestamp')}, {raw('date')}, {raw('time')}) AS ts_raw,
               {_text(raw('operator'))} AS operator, {_text(raw('terminal'))} AS terminal,
               {_text(raw('mke'))} AS mke, {_text(raw('ori'))} AS ori,
               {NAME_TOKENS.format(col=raw('name'))} AS name_tokens, {raw('name')} AS name,
               CAST({_parse(raw('dob'), dob_fmt, DATE_FORMATS)} AS DATE) AS dob,
               {_ident(_text(raw('plate')))} AS plate, {_ident(_text(raw('oln')))} AS oln,
               {_text(raw('case_number'))} AS case_number
        FROM raw{i} WHERE d IS NOT NULL"""


def _shift_date(plan: FilePlan) -> str:
    """The shift schedule's date column, parsed."""
    return _parse(f"trim({_col(plan, 'date')})", plan.formats.get("date", DATE_FORMATS[0]),
                  DATE_FORMATS + TIMESTAMP_FORMATS)


def _shift_time(plan: FilePlan, m: str) -> str:
    """A shift's start or end (`m`) as a timestamp: a time of day goes with the row's date."""
    c = _col(plan, m)
    if c is None:
        return "NULL::TIMESTAMP"
    fmt = plan.formats.get(m, TIMESTAMP_FORMATS[0])
    if fmt in TIME_FORMATS and "date" in plan.columns:
        return f"(CAST({_shift_date(plan)} AS DATE) + CAST({_parse(f'trim({c})', fmt, TIME_FORMATS)} AS TIME))"
    return _parse(f"trim({c})", fmt, TIMESTAMP_FORMATS + DATE_FORMATS)


def _load_shifts(ld: _Loader, rels: list[str]) -> None:
    parts = []
    for j, rel in enumerate(rels):
        path = ld.base_dir / rel
        plan, _ = ld.table(rel, SHIFT_HEADERS, "shift schedule", "shifts",
                           lambda p: "*", f"shift_raw{j}")
        _require(plan, ["start", "end"], path, "shift schedule", SHIFT_HEADERS)
        status = _text(_col(plan, "status"))
        leave = f"coalesce(regexp_matches({status}, {_lit(LEAVE_WORDS)}), false)"
        start, end = _shift_time(plan, "start"), _shift_time(plan, "end")
        day = f"CAST({_shift_date(plan)} AS DATE)" if _col(plan, "date") else f"CAST({start} AS DATE)"
        filled = " OR ".join(f"coalesce(trim({c}), '') <> ''" for c in
                             (_col(plan, m) for m in ("start", "end", "date", "status")) if c)
        part = (f"SELECT {_lit(rel)} AS file, rowid + 1 AS row_no, {start} AS s, {end} AS e0, {day} AS day, "
                f"{leave} AS leave, {status} AS status FROM shift_raw{j} WHERE {filled}")   # blank rows skipped
        bad = ld.con.execute(f"SELECT row_no FROM ({part}) WHERE NOT leave AND (s IS NULL OR e0 IS NULL) "
                             "ORDER BY row_no LIMIT 1").fetchone()
        if bad:
            raise AssessmentError([Problem(EV003, "a shift start or end cannot be read as a date and time",
                                           file=rel, line=int(bad[0]) + plan.header_line,
                                           hint="write it as YYYY-MM-DD HH:MM, or give a date column and times; "
                                                "mark leave days in a status column (LEAVE, VACATION, SICK ...)")])
        parts.append(part)
    # an end at or before the start is the next morning: an overnight shift
    ld.con.execute("CREATE TABLE shift_rows AS SELECT *, CASE WHEN e0 <= s THEN e0 + INTERVAL 1 DAY ELSE e0 END AS e "
                   "FROM (" + " UNION ALL ".join(parts) + ")")
    ld.con.execute("CREATE TABLE shifts AS SELECT s, e FROM shift_rows WHERE NOT leave AND s IS NOT NULL")
    ld.con.execute("CREATE TABLE leave_days AS SELECT DISTINCT day FROM shift_rows WHERE leave AND day IS NOT NULL")


def _load_cad(ld: _Loader, rels: list[str]) -> int:
    parts, total = [], 0
    for k, rel in enumerate(rels):
        plan, n = ld.table(rel, CAD_HEADERS, "CAD incident file", "incidents",
                           lambda p: "*", f"cad_raw{k}")
        _require(plan, ["incident"], ld.base_dir / rel, "CAD incident file", CAD_HEADERS)
        total += n
        rec = (_parse(f"trim({_col(plan, 'received')})", plan.formats.get("received", TIMESTAMP_FORMATS[0]),
                      TIMESTAMP_FORMATS) if _col(plan, "received") else "NULL::TIMESTAMP")
        name = _col(plan, "subject_name")
        parts.append(f"SELECT {_lit(rel)} AS file, rowid + 1 AS row_no, {_text(_col(plan, 'incident'))} AS incident, "
                     f"{rec} AS received, {NAME_TOKENS.format(col=_text(name) if name else 'NULL')} AS name_tokens, "
                     f"{_ident(_text(_col(plan, 'plate')))} AS plate FROM cad_raw{k}")
    ld.con.execute("CREATE TABLE cad AS " + " UNION ALL ".join(parts))
    return total


def _case_ori(case: CaseFile) -> str | None:
    return (case.client.ori or "").strip().upper() or None


def analyse(case: CaseFile, base_dir: Path, plans: dict[str, FilePlan] | None = None,
            progress: Progress | None = None, remembered: mappings.Remembered | None = None) -> EvidenceResult | None:
    """Compute the findings for a case. None if the case names no audit log. `plans` overrides
    the detected (or remembered, see mappings.py) column mapping of a file; `progress(fraction,
    message)` is told of each step."""
    if not case.evidence.audit_logs:
        return None
    say = progress or (lambda f, m: None)
    ld = _Loader(Path(base_dir), _case_ori(case), plans, remembered)
    try:
        return _analyse(case, ld, say)
    except AssessmentError as exc:   # name files as the case file names them, not by a private folder
        prefix = str(ld.base_dir) + "/"
        for p in exc.problems:
            if p.file and p.file.startswith(prefix):
                p.file = p.file[len(prefix):]
        raise
    finally:
        ld.close()


def _analyse(case: CaseFile, ld: _Loader, say: Progress) -> EvidenceResult:
    con, warnings = ld.con, []
    ops = [o.strip().upper() for o in case.client.operator_ids]
    logs = case.evidence.audit_logs
    parts = []
    for i, rel in enumerate(logs):
        say(0.05 + 0.7 * i / len(logs), f"Reading {rel}")
        parts.append(_load_audit(ld, i, rel, ops))
    say(0.78, "Computing findings")
    con.execute("CREATE TABLE client AS " + " UNION ALL ".join(parts))
    for i in range(len(logs)):
        con.execute(f"DROP TABLE raw{i}")
    client_queries = _one(con, "SELECT count(*) FROM client")[0]
    if not ops:
        warnings.append("the case file names no operator id for the client: no query can be attributed to the client")
    bad = con.execute("SELECT file, row_no, ts_raw FROM client WHERE ts IS NULL ORDER BY file, row_no LIMIT 5").fetchall()
    if bad:
        n_bad = _one(con, "SELECT count(*) FROM client WHERE ts IS NULL")[0]
        warnings.append(f"{n_bad} of the client's audit rows have a date/time that could not be read and are left out "
                        "of the time-based findings; first: " + "; ".join(f"{f} row {r}: {v!r}" for f, r, v in bad))

    con.execute("CREATE TABLE subjects(idx INTEGER, name VARCHAR, tokens VARCHAR[], dob DATE, plate VARCHAR, oln VARCHAR)")
    for i, s in enumerate(case.subjects):
        plate = re.sub(r"[^A-Z0-9]", "", (s.plate or "").upper()) or None
        oln = re.sub(r"[^A-Z0-9]", "", (s.license_number or "").upper()) or None
        con.execute("INSERT INTO subjects VALUES (?, ?, ?, ?, ?, ?)", [i, s.name, name_tokens(s.name), s.dob, plate, oln])
    con.execute("""
        CREATE TABLE subject_hits AS
        SELECT DISTINCT c.file, c.row_no, s.idx FROM client c JOIN subjects s ON
            (s.plate IS NOT NULL AND c.plate = s.plate)
         OR (s.oln IS NOT NULL AND c.oln = s.oln)
         OR (len(s.tokens) >= 2 AND len(c.name_tokens) >= 2
             AND (list_has_all(c.name_tokens, s.tokens) OR list_has_all(s.tokens, c.name_tokens))
             AND (c.dob IS NULL OR s.dob IS NULL OR c.dob = s.dob))
    """)
    con.execute("CREATE TABLE subject_q AS SELECT * FROM client WHERE (file, row_no) IN "
                "(SELECT (file, row_no) FROM subject_hits)")

    findings: dict[str, Finding] = {}

    def add(fid: str, sql: str, summary: str, **details) -> None:
        got = con.execute(f"SELECT DISTINCT file, row_no FROM ({sql}) ORDER BY file, row_no").fetchall()
        by_file: dict[str, list[int]] = {}
        for f, r in got:
            by_file.setdefault(f, []).append(int(r))
        rows = [int(r) for _, r in got]
        findings[fid] = Finding(fid, len(rows), rows, summary.format(n=len(rows)), by_file, details)

    hits = dict(con.execute("SELECT idx, count(DISTINCT (file, row_no)) FROM subject_hits GROUP BY idx").fetchall())
    add(SUBJECT_QUERIES, "SELECT file, row_no FROM subject_q",
        "{n} of the client's queries match a case subject by name, date of birth, plate or license number.",
        by_subject={s.name: hits.get(i, 0) for i, s in enumerate(case.subjects)})

    if case.evidence.shifts:
        say(0.82, "Reading the shift schedule")
        _load_shifts(ld, case.evidence.shifts)
        on_duty = "EXISTS (SELECT 1 FROM shifts WHERE q.ts >= shifts.s AND q.ts <= shifts.e)"
        add(OFF_DUTY_SUBJECT_QUERIES, f"SELECT file, row_no FROM subject_q q WHERE q.ts IS NOT NULL AND NOT {on_duty}",
            "{n} subject queries fall outside the client's scheduled shifts.")
        leave = [r[0].isoformat() for r in con.execute("SELECT day FROM leave_days ORDER BY day").fetchall()]
        add(LEAVE_DAY_QUERIES,
            f"SELECT file, row_no FROM client q WHERE CAST(q.ts AS DATE) IN (SELECT day FROM leave_days) AND NOT {on_duty}",
            "{n} of the client's queries were made on days the schedule marks as leave.", leave_days=leave)
        overnight = _one(con, "SELECT count(*) FROM shift_rows WHERE NOT leave AND e0 <= s")[0]
        if overnight:
            findings[OFF_DUTY_SUBJECT_QUERIES].details["overnight_shifts"] = overnight
    else:
        warnings.append("no shift schedule: the off-duty and leave-day findings cannot be computed")

    add(SUBJECT_QUERIES_WITHOUT_CASE_NUMBER, "SELECT file, row_no FROM subject_q WHERE case_number IS NULL",
        "{n} subject queries carry no case or incident number.")

    terminals = [t.strip().upper() for t in case.client.terminal_ids]
    if terminals:
        con.execute("CREATE TABLE terms(t VARCHAR)")
        con.executemany("INSERT INTO terms VALUES (?)", [[t] for t in terminals])
        unassigned = "SELECT * FROM client WHERE terminal IS NULL OR terminal NOT IN (SELECT t FROM terms)"
        add(UNASSIGNED_TERMINAL_QUERIES, f"SELECT file, row_no FROM ({unassigned})",
            "{n} of the client's queries came from terminals not assigned to the client.",
            terminals=[r[0] for r in con.execute(f"SELECT DISTINCT terminal FROM ({unassigned}) "
                                                 "WHERE terminal IS NOT NULL ORDER BY 1").fetchall()])
    else:
        warnings.append("the case file names no assigned terminals: the unassigned-terminal finding cannot be computed")

    training = case.client.clets_training_date
    if training:
        add(QUERIES_BEFORE_TRAINING,
            f"SELECT file, row_no FROM client WHERE ts < {_lit(training.isoformat())}::TIMESTAMP",
            "{n} of the client's queries came before the CLETS training date " + training.isoformat() + ".")
    else:
        add(QUERIES_BEFORE_TRAINING, "SELECT file, row_no FROM client",
            "No CLETS training date is on record, so all {n} of the client's queries count as before training.")

    # one operator id on two terminals within minutes, one of them not the client's (a dispatcher
    # moving between two assigned consoles does not count): someone else may have used the id
    assigned = "terminal IN (SELECT t FROM terms)" if terminals else "false"
    if _one(con, "SELECT count(*) FROM client WHERE terminal IS NOT NULL AND ts IS NOT NULL")[0]:
        frame = (f"OVER (PARTITION BY operator ORDER BY ts RANGE BETWEEN INTERVAL {CONCURRENT_MINUTES} MINUTE "
                 f"PRECEDING AND INTERVAL {CONCURRENT_MINUTES} MINUTE FOLLOWING)")
        con.execute(f"""CREATE TABLE concurrent AS SELECT file, row_no, operator, terminal, ts FROM (
            SELECT *, count(DISTINCT terminal) {frame} AS nterm,
                   count(*) FILTER (WHERE NOT {assigned}) {frame} AS nforeign
            FROM client WHERE terminal IS NOT NULL AND ts IS NOT NULL) WHERE nterm > 1 AND nforeign > 0""")
        pairs = con.execute("SELECT operator, list(DISTINCT terminal ORDER BY terminal) FROM concurrent "
                            "GROUP BY operator ORDER BY operator").fetchall()
        add(CONCURRENT_TERMINAL_USE, "SELECT file, row_no FROM concurrent",
            "{n} of the client's queries ran within " + str(CONCURRENT_MINUTES)
            + " minutes of a query under the same operator id on another terminal (one of them not assigned "
              "to the client).",
            window_minutes=CONCURRENT_MINUTES, terminals_by_operator={o: t for o, t in pairs})

    repeated = con.execute("SELECT s.name, count(DISTINCT (h.file, h.row_no)), count(DISTINCT CAST(c.ts AS DATE)) "
                           "FROM subject_hits h JOIN subjects s USING (idx) JOIN client c USING (file, row_no) "
                           "GROUP BY s.idx, s.name HAVING count(DISTINCT (h.file, h.row_no)) >= 2 ORDER BY s.idx").fetchall()
    add(REPEATED_SUBJECT_QUERIES,
        "SELECT file, row_no FROM subject_hits WHERE idx IN (SELECT idx FROM subject_hits GROUP BY idx "
        "HAVING count(DISTINCT (file, row_no)) >= 2)",
        "{n} subject queries concern a subject the client queried more than once.",
        by_subject={n: {"queries": q, "days": d} for n, q, d in repeated})

    first_last = _one(con, "SELECT strftime(min(ts), '%Y-%m-%dT%H:%M:%S'), strftime(max(ts), '%Y-%m-%dT%H:%M:%S') "
                           "FROM subject_q")
    incidents = None
    if case.evidence.incidents:
        say(0.9, "Matching CAD incidents")
        incidents = _load_cad(ld, case.evidence.incidents)
        con.execute(f"""CREATE TABLE cad_match AS SELECT DISTINCT q.file, q.row_no, c.incident FROM subject_q q JOIN cad c ON
            (q.case_number IS NOT NULL AND q.case_number = c.incident)
            OR (q.ts IS NOT NULL AND c.received IS NOT NULL
                AND abs(epoch(q.ts) - epoch(c.received)) <= {CAD_WINDOW_MINUTES * 60}
                AND ((q.plate IS NOT NULL AND q.plate = c.plate)
                     OR (len(q.name_tokens) >= 2 AND len(c.name_tokens) >= 2
                         AND (list_has_all(q.name_tokens, c.name_tokens) OR list_has_all(c.name_tokens, q.name_tokens)))))""")
        add(CAD_MATCHED_QUERIES, "SELECT file, row_no FROM cad_match",
            "{n} subject queries match a CAD incident (its number, or the same subject or plate within "
            + str(CAD_WINDOW_MINUTES) + " minutes).",
            incidents=[r[0] for r in con.execute("SELECT DISTINCT incident FROM cad_match ORDER BY 1").fetchall()],
            window_minutes=CAD_WINDOW_MINUTES)
        unmatched = ("SELECT * FROM subject_q WHERE case_number IS NOT NULL "
                     "AND case_number NOT IN (SELECT incident FROM cad WHERE incident IS NOT NULL)")
        case_numbers = [r[0] for r in con.execute(f"SELECT DISTINCT case_number FROM ({unmatched}) ORDER BY 1").fetchall()]
        add(CASE_NUMBER_NOT_IN_CAD, f"SELECT file, row_no FROM ({unmatched})",
            "{n} subject queries carry a case number that matches no CAD incident.", case_numbers=case_numbers)

    events = _events(con, findings)
    shifts = ([{"start": s.isoformat(), "end": e.isoformat()} for s, e in
               con.execute("SELECT s, e FROM shifts ORDER BY s").fetchall()] if case.evidence.shifts else [])
    if case.evidence.shifts:
        shifts += [{"leave": d.isoformat()} for (d,) in con.execute("SELECT day FROM leave_days ORDER BY day").fetchall()]
    say(1.0, "Done")
    return EvidenceResult(files=ld.files, client_queries=client_queries, findings=findings, warnings=warnings,
                          first_subject_query=first_last[0], last_subject_query=first_last[1],
                          incidents_loaded=incidents, events=events, shifts=shifts)


EVENT_LIMIT = 20_000


def _events(con: duckdb.DuckDBPyConnection, findings: dict[str, Finding]) -> list[dict]:
    """The client's queries with what each one is (subject, findings), for charts, tables and marks.
    Subject queries always; other queries up to EVENT_LIMIT."""
    tags: dict[tuple[str, int], list[str]] = {}
    for fid, f in findings.items():
        if not FINDINGS[fid].per_query:
            continue
        for file, rows in f.rows_by_file.items():
            for r in rows:
                tags.setdefault((file, r), []).append(fid)
    subj = {(f, r): n for f, r, n in con.execute(
        "SELECT h.file, h.row_no, string_agg(s.name, '; ' ORDER BY s.idx) FROM subject_hits h JOIN subjects s USING (idx) "
        "GROUP BY h.file, h.row_no").fetchall()}
    queries = con.execute(f"""SELECT * FROM (SELECT file, row_no, strftime(ts, '%Y-%m-%dT%H:%M:%S'), operator,
        terminal, mke, name, case_number, (file, row_no) IN (SELECT (file, row_no) FROM subject_hits) AS is_subject
        FROM client) ORDER BY NOT is_subject, file, row_no LIMIT {EVENT_LIMIT}""").fetchall()
    out = [{"file": f, "row": int(r), "time": t, "operator": o, "terminal": term, "mke": m, "name": n,
            "case_number": cn, "subject": subj.get((f, r)), "findings": tags.get((f, r), [])}
           for f, r, t, o, term, m, n, cn, _ in queries]
    out.sort(key=lambda e: (e["time"] or "", e["file"], e["row"]))
    return out
