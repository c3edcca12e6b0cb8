"""Audit evidence: read CLETS transaction logs, shift schedules and CAD incidents with DuckDB,
find the columns by their headers, and compute the five findings of `clets-assessment/1`
with the 1-based data-row numbers behind each."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from .casefile import CaseFile
from .errors import AssessmentError, Problem

# Headers seen in the wild (../shared/spec/case-file.md), compared after lower-casing and
# dropping everything but letters, digits and '#'.
AUDIT_HEADERS: dict[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "datetime", "date/time", "transdatetime", "querydatetime", "when"),
    "date": ("date", "transdate", "dte", "querydate", "transactiondate"),
    "time": ("time", "transtime", "tme", "querytime", "transactiontime"),
    "operator": ("operator", "operatorid", "userid", "user", "opr", "operid", "username"),
    "terminal": ("terminal", "terminalid", "mnemonic", "device", "trm", "workstation"),
    "ori": ("ori",),
    "mke": ("messagekey", "mke", "transactiontype", "querytype"),
    "name": ("nam", "name", "subject", "subjectname"),
    "dob": ("dob", "dateofbirth"),
    "plate": ("lic", "plate", "licenseplate", "platenumber", "licenceplate"),
    "oln": ("oln", "dl", "dlnumber", "driverslicense", "licensenumber", "olnnumber", "dlnum"),
    "vin": ("vin",),
    "case_number": ("oca", "casenumber", "case#", "case", "incident", "incidentnumber", "reference", "casenum"),
}
SHIFT_HEADERS = {
    "start": ("start", "shiftstart", "begin", "onduty", "starttime"),
    "end": ("end", "shiftend", "finish", "offduty", "endtime"),
    "assignment": ("assignment", "unit", "post"),
}
CAD_HEADERS = {
    "incident": ("incidentnumber", "incident", "casenumber", "case#", "oca", "eventnumber"),
    "received": ("received", "timestamp", "datetime", "time", "created"),
    "subject_name": ("subjectname", "name", "subject"),
    "plate": ("plate", "lic", "licenseplate"),
}
TIMESTAMP_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M",
                     "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p"]
DATE_FORMATS = ["%Y-%m-%d", "%m/%d/%Y", "%Y%m%d"]
TIME_FORMATS = ["%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p", "%H%M%S"]


def _norm_header(h: str) -> str:
    return re.sub(r"[^a-z0-9#/]", "", h.lower().lstrip("\ufeff"))


def map_columns(headers: list[str], vocab: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Meaning -> actual header, first header that matches each meaning."""
    found: dict[str, str] = {}
    normed = [(h, _norm_header(h)) for h in headers]
    for meaning, names in vocab.items():
        wanted = {_norm_header(n) for n in names}
        for h, n in normed:
            if n in wanted and h not in found.values():
                found[meaning] = h
                break
    return found


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class Finding:
    id: str
    count: int
    rows: list[int]
    summary: str
    rows_by_file: dict[str, list[int]] = field(default_factory=dict)
    details: dict = field(default_factory=dict)


@dataclass
class EvidenceResult:
    files: list[dict]
    client_queries: int
    findings: dict[str, Finding]
    warnings: list[str] = field(default_factory=list)
    first_subject_query: str | None = None
    last_subject_query: str | None = None
    incidents_loaded: int | None = None

    def counts(self) -> dict[str, int]:
        return {k: f.count for k, f in self.findings.items()}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _fmt_list(fmts: list[str]) -> str:
    return "[" + ", ".join(_lit(f) for f in fmts) + "]"


def _read_table(con: duckdb.DuckDBPyConnection, path: Path, table: str, label: str) -> list[str]:
    """Load a CSV or XLSX file into `table` with a 1-based data-row number `row_no`."""
    if not path.exists():
        raise AssessmentError([Problem("CF006", f"{label} file not found", file=str(path),
                                       hint="paths in the case file are relative to the case file's folder")])
    try:
        if path.suffix.lower() in {".xlsx", ".xlsm"}:
            import pandas as pd
            frame = pd.read_excel(path, dtype=str)
            con.register("_xlsx", frame)
            con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT row_number() OVER () AS row_no, * FROM _xlsx")
            con.unregister("_xlsx")
        else:
            con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT row_number() OVER () AS row_no, * "
                        f"FROM read_csv({_lit(str(path))}, all_varchar=true, header=true)")
    except duckdb.Error as exc:
        msg = str(exc).splitlines()[0]
        raise AssessmentError([Problem("EV002", f"cannot read the {label}: {msg}", file=str(path),
                                       hint="save it as CSV (UTF-8) or XLSX with one header row")]) from None
    return [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0] != "row_no"]


def _require(mapping: dict[str, str], needed: list[str], headers: list[str], path: Path, label: str,
             vocab: dict[str, tuple[str, ...]]) -> None:
    missing = [m for m in needed if m not in mapping]
    if missing:
        looked = "; ".join(f"{m}: {', '.join(vocab[m])}" for m in missing)
        raise AssessmentError([Problem(
            "EV001", f"the {label} has no column for {', '.join(missing)}", file=str(path), line=1,
            field=", ".join(missing),
            hint=f"headers found: {', '.join(headers)}; headers recognised: {looked}")])


def _ts_expr(mapping: dict[str, str]) -> str:
    if "timestamp" in mapping:
        col = f"trim({_q(mapping['timestamp'])})"
        return f"try_strptime({col}, {_fmt_list(TIMESTAMP_FORMATS)})"
    d = f"try_strptime(trim({_q(mapping['date'])}), {_fmt_list(DATE_FORMATS)})"
    t = f"try_strptime(trim({_q(mapping['time'])}), {_fmt_list(TIME_FORMATS)})"
    return f"({d} + ({t} - date_trunc('day', {t})))"


def _text(mapping: dict[str, str], key: str) -> str:
    if key not in mapping:
        return "NULL::VARCHAR"
    return f"nullif(upper(trim({_q(mapping[key])})), '')"


def _ident(col: str) -> str:
    """Plates, licence numbers: upper-case, no spaces or dashes."""
    return f"nullif(regexp_replace(upper({col}), '[^A-Z0-9]', '', 'g'), '')"


NAME_TOKENS = ("list_filter(string_split(regexp_replace(regexp_replace(upper(strip_accents(coalesce({col}, ''))), "
               "'''', '', 'g'), '[^A-Z]+', ' ', 'g'), ' '), lambda x: x <> '')")


def name_tokens(name: str) -> list[str]:
    """The same normalisation as NAME_TOKENS, in Python (for subjects from the case file)."""
    import unicodedata
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).upper().replace("'", "")
    return [t for t in re.sub(r"[^A-Z]+", " ", text).split(" ") if t]


def analyse(case: CaseFile, base_dir: Path) -> EvidenceResult | None:
    """Compute the five findings for a case. None if the case names no audit log."""
    if not case.evidence.audit_logs:
        return None
    con = duckdb.connect()
    warnings: list[str] = []
    files: list[dict] = []
    parts = []
    for i, rel in enumerate(case.evidence.audit_logs):
        path = (base_dir / rel)
        table = f"raw{i}"
        headers = _read_table(con, path, table, "audit log")
        mapping = map_columns(headers, AUDIT_HEADERS)
        need = ["operator"] + (["timestamp"] if "timestamp" in mapping or not {"date", "time"} <= set(mapping)
                               else [])
        _require(mapping, need, headers, path, "audit log", AUDIT_HEADERS)
        rows_total = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        files.append({"file": rel, "sha256": sha256(path), "rows": rows_total, "columns": mapping})
        parts.append(f"""
            SELECT {_lit(rel)} AS file, row_no, {_ts_expr(mapping)} AS ts,
                   {_text(mapping, 'timestamp') if 'timestamp' in mapping else _text(mapping, 'date')} AS ts_raw,
                   {_text(mapping, 'operator')} AS operator, {_text(mapping, 'terminal')} AS terminal,
                   {_text(mapping, 'mke')} AS mke, {NAME_TOKENS.format(col=_text(mapping, 'name'))} AS name_tokens,
                   {_text(mapping, 'name')} AS name,
                   try_strptime({_text(mapping, 'dob')}, {_fmt_list(DATE_FORMATS)})::DATE AS dob,
                   {_ident(_text(mapping, 'plate'))} AS plate, {_ident(_text(mapping, 'oln'))} AS oln,
                   {_text(mapping, 'case_number')} AS case_number
            FROM {table}""")
    con.execute("CREATE TABLE audit AS " + " UNION ALL ".join(parts))
    bad = con.execute("SELECT file, row_no, ts_raw FROM audit WHERE ts IS NULL ORDER BY file, row_no LIMIT 5").fetchall()
    if bad:
        n_bad = con.execute("SELECT count(*) FROM audit WHERE ts IS NULL").fetchone()[0]
        warnings.append(f"{n_bad} audit rows have a date/time that could not be read and are left out of the "
                        "time-based findings; first: " + "; ".join(f"{f} row {r}: {v!r}" for f, r, v in bad))

    ops = [o.strip().upper() for o in case.client.operator_ids]
    con.execute("CREATE TABLE ops(op VARCHAR)")
    if ops:
        con.executemany("INSERT INTO ops VALUES (?)", [[o] for o in ops])
    con.execute("CREATE TABLE client AS SELECT * FROM audit WHERE operator IN (SELECT op FROM ops)")
    client_queries = con.execute("SELECT count(*) FROM client").fetchone()[0]
    if not ops:
        warnings.append("the case file names no operator id for the client: no query can be attributed to the client")

    # subjects
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

    def rows_of(sql: str) -> tuple[list[int], dict[str, list[int]]]:
        got = con.execute(f"SELECT file, row_no FROM ({sql}) ORDER BY file, row_no").fetchall()
        by_file: dict[str, list[int]] = {}
        for f, r in got:
            by_file.setdefault(f, []).append(int(r))
        flat = [int(r) for _, r in got]
        return flat, by_file

    findings: dict[str, Finding] = {}

    def add(fid: str, sql: str, summary: str, **details) -> None:
        rows, by_file = rows_of(sql)
        findings[fid] = Finding(fid, len(rows), rows, summary.format(n=len(rows)), by_file, details)

    hits = dict(con.execute("SELECT idx, count(DISTINCT (file, row_no)) FROM subject_hits GROUP BY idx").fetchall())
    by_subject = {s.name: hits.get(i, 0) for i, s in enumerate(case.subjects)}
    add("subject-queries", "SELECT file, row_no FROM subject_q",
        "{n} of the client's queries match a case subject by name, date of birth, plate or licence number.",
        by_subject=by_subject)

    if case.evidence.shifts:
        shift_parts = []
        for j, rel in enumerate(case.evidence.shifts):
            path = base_dir / rel
            headers = _read_table(con, path, f"shift_raw{j}", "shift schedule")
            m = map_columns(headers, SHIFT_HEADERS)
            _require(m, ["start", "end"], headers, path, "shift schedule", SHIFT_HEADERS)
            files.append({"file": rel, "sha256": sha256(path), "kind": "shifts",
                          "rows": con.execute(f"SELECT count(*) FROM shift_raw{j}").fetchone()[0], "columns": m})
            part = (f"SELECT try_strptime(trim({_q(m['start'])}), {_fmt_list(TIMESTAMP_FORMATS)}) AS s, "
                    f"try_strptime(trim({_q(m['end'])}), {_fmt_list(TIMESTAMP_FORMATS)}) AS e, row_no "
                    f"FROM shift_raw{j}")
            bad = con.execute(f"SELECT row_no FROM ({part}) WHERE s IS NULL OR e IS NULL ORDER BY row_no LIMIT 1").fetchone()
            if bad:
                raise AssessmentError([Problem("EV003", "a shift start or end cannot be read as a date and time",
                                               file=rel, line=int(bad[0]) + 1, hint="write it as YYYY-MM-DD HH:MM")])
            shift_parts.append(part)
        con.execute("CREATE TABLE shifts AS " + " UNION ALL ".join(shift_parts))
        add("off-duty-subject-queries",
            "SELECT file, row_no FROM subject_q q WHERE q.ts IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM shifts WHERE q.ts >= shifts.s AND q.ts <= shifts.e)",
            "{n} subject queries fall outside the client's scheduled shifts.")
    else:
        warnings.append("no shift schedule: the off-duty finding cannot be computed")

    add("subject-queries-without-case-number", "SELECT file, row_no FROM subject_q WHERE case_number IS NULL",
        "{n} subject queries carry no case or incident number.")

    terminals = [t.strip().upper() for t in case.client.terminal_ids]
    if terminals:
        con.execute("CREATE TABLE terms(t VARCHAR)")
        con.executemany("INSERT INTO terms VALUES (?)", [[t] for t in terminals])
        add("unassigned-terminal-queries",
            "SELECT file, row_no FROM client WHERE terminal IS NULL OR terminal NOT IN (SELECT t FROM terms)",
            "{n} of the client's queries came from terminals not assigned to the client.",
            terminals=sorted({r[0] for r in con.execute(
                "SELECT terminal FROM client WHERE terminal IS NULL OR terminal NOT IN (SELECT t FROM terms)"
            ).fetchall() if r[0]}))
    else:
        warnings.append("the case file names no assigned terminals: the unassigned-terminal finding cannot be computed")

    training = case.client.clets_training_date
    if training:
        add("queries-before-training",
            f"SELECT file, row_no FROM client WHERE ts < {_lit(training.isoformat())}::TIMESTAMP",
            "{n} of the client's queries came before the CLETS training date " + training.isoformat() + ".")
    else:
        add("queries-before-training", "SELECT file, row_no FROM client",
            "No CLETS training date is on record, so all {n} of the client's queries count as before training.")

    first_last = con.execute("SELECT strftime(min(ts), '%Y-%m-%dT%H:%M:%S'), strftime(max(ts), '%Y-%m-%dT%H:%M:%S') "
                             "FROM subject_q").fetchone()
    incidents = None
    if case.evidence.incidents:
        incidents = 0
        inc_parts = []
        for k, rel in enumerate(case.evidence.incidents):
            path = base_dir / rel
            headers = _read_table(con, path, f"cad_raw{k}", "CAD incident file")
            m = map_columns(headers, CAD_HEADERS)
            _require(m, ["incident"], headers, path, "CAD incident file", CAD_HEADERS)
            n = con.execute(f"SELECT count(*) FROM cad_raw{k}").fetchone()[0]
            incidents += n
            files.append({"file": rel, "sha256": sha256(path), "kind": "incidents", "rows": n, "columns": m})
            inc_parts.append(f"SELECT upper(trim({_q(m['incident'])})) AS incident FROM cad_raw{k}")
        con.execute("CREATE TABLE cad AS " + " UNION ALL ".join(inc_parts))
        unmatched = [r[0] for r in con.execute(
            "SELECT DISTINCT case_number FROM subject_q WHERE case_number IS NOT NULL "
            "AND case_number NOT IN (SELECT incident FROM cad) ORDER BY 1").fetchall()]
        findings["subject-queries"].details["case_numbers_not_in_cad"] = unmatched
    con.close()
    return EvidenceResult(files=files, client_queries=client_queries, findings=findings, warnings=warnings,
                          first_subject_query=first_last[0], last_subject_query=first_last[1],
                          incidents_loaded=incidents)
