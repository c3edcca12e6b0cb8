"""What shape is an evidence file? Encoding, delimiter, the header row under any title rows,
which column means what (with a confidence and the reason), and the date/time format of each
time column, all read from the first rows so that a 10-million-row log costs nothing here."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from .errors import AssessmentError, Problem

SAMPLE_BYTES = 256 * 1024
PREVIEW_ROWS = 200
DELIMITERS = [",", ";", "\t", "|"]

# Headers seen in the wild (../shared/spec/case-file.md), compared after lower-casing and
# dropping everything but letters, digits, '#' and '/'.
AUDIT_HEADERS: dict[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "datetime", "date/time", "transdatetime", "querydatetime", "when", "datetimeutc",
                  "transactiondatetime", "querytimestamp"),
    "date": ("date", "transdate", "dte", "querydate", "transactiondate", "trandate", "dt"),
    "time": ("time", "transtime", "tme", "querytime", "transactiontime", "trantime", "tm"),
    "operator": ("operator", "operatorid", "userid", "user", "opr", "operid", "username", "oper", "opid",
                 "operatorcode", "user#", "employeeid", "badge", "login", "loginid"),
    "terminal": ("terminal", "terminalid", "mnemonic", "device", "trm", "workstation", "term", "terminalname",
                 "deviceid", "mdt", "station"),
    "ori": ("ori", "agencyori", "originatingagency"),
    "mke": ("messagekey", "mke", "transactiontype", "querytype", "msgkey", "transaction", "message", "msgtype"),
    "name": ("nam", "name", "subject", "subjectname", "queriedname", "personname", "fullname"),
    "dob": ("dob", "dateofbirth", "birthdate", "subjectdob"),
    "plate": ("lic", "plate", "licenseplate", "platenumber", "licenceplate", "lpn", "plate#", "vehicleplate",
              "license"),
    "oln": ("oln", "dl", "dlnumber", "driverslicense", "licensenumber", "olnnumber", "dlnum", "dl#",
            "driverlicense", "driverslicensenumber"),
    "vin": ("vin", "vehicleid"),
    "case_number": ("oca", "casenumber", "case#", "case", "incident", "incidentnumber", "reference", "casenum",
                    "casereference", "reportnumber", "ocanumber", "incident#", "report#", "caseno"),
}
SHIFT_HEADERS: dict[str, tuple[str, ...]] = {
    "start": ("start", "shiftstart", "begin", "onduty", "starttime", "timein", "in"),
    "end": ("end", "shiftend", "finish", "offduty", "endtime", "timeout", "out"),
    "date": ("date", "shiftdate", "workdate", "day"),
    "status": ("status", "type", "shifttype", "code", "dutystatus", "leave", "leavetype", "paycode", "dutycode"),
    "assignment": ("assignment", "unit", "post", "beat"),
}
CAD_HEADERS: dict[str, tuple[str, ...]] = {
    "incident": ("incidentnumber", "incident", "casenumber", "case#", "oca", "eventnumber", "event", "incident#",
                 "callnumber"),
    "received": ("received", "timestamp", "datetime", "time", "created", "receivedtime", "calltime", "opened"),
    "unit": ("unit", "units", "assignedunit"),
    "subject_name": ("subjectname", "name", "subject", "involvedperson"),
    "plate": ("plate", "lic", "licenseplate", "vehicleplate"),
}
# A few words inside longer headers ("Query Date (PST)", "User Name") point at a meaning.
HEADER_WORDS: dict[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "datetime"),
    "date": ("date",),
    "time": ("time",),
    "operator": ("operator", "user", "opr", "userid"),
    "terminal": ("terminal", "device", "workstation", "mnemonic"),
    "mke": ("mke", "key"),
    "dob": ("dob", "birth"),
    "plate": ("plate", "lic"),
    "oln": ("oln", "dl"),
    "case_number": ("case", "incident", "oca", "reference"),
    "start": ("start", "begin"),
    "end": ("end", "finish"),
    "incident": ("incident", "event"),
    "received": ("received", "time"),
}
NCIC_CODES = {"mke": "MKE", "ori": "ORI", "operator": "OPR", "terminal": "TRM", "name": "NAM", "dob": "DOB",
              "plate": "LIC", "oln": "OLN", "case_number": "OCA", "date": "DTE", "time": "TME", "vin": "VIN"}

DATE_FORMATS = ["%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%Y%m%d", "%m-%d-%Y", "%Y/%m/%d", "%d-%b-%Y", "%d-%b-%y"]
TIME_FORMATS = ["%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p", "%H:%M:%S.%f", "%H%M%S", "%H%M"]
TIMESTAMP_FORMATS = [f"{d}{sep}{t}" for d in DATE_FORMATS for sep in (" ", "T") for t in TIME_FORMATS
                     if not (sep == "T" and ("%p" in t or d != "%Y-%m-%d"))]
# ISO 8601 with an offset ("2025-08-12T17:47:31Z", "...-07:00"): converted to the agency's local time
OFFSET_FORMATS = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%dT%H:%M%z"]
TIMESTAMP_FORMATS += OFFSET_FORMATS
COMPACT_TIME = {"%H%M%S": 6, "%H%M": 4}


def norm_header(h: str) -> str:
    return re.sub(r"[^a-z0-9#/]", "", str(h).lower().lstrip("\ufeff"))


def _words(h: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", str(h).lower()))


class FilePlan(BaseModel):
    """How to read one evidence file. Detected, then corrected by the user if need be."""
    kind: str = "csv"                       # csv | xlsx
    compression: str = ""                   # "" | gzip (a .csv.gz export)
    encoding: str = "utf-8"                 # utf-8 | utf-8-sig | cp1252
    delimiter: str = ","
    header_line: int = 1                    # 1-based line (CSV) or row (XLSX) holding the headers
    headers: list[str] = Field(default_factory=list)
    columns: dict[str, str] = Field(default_factory=dict)      # meaning -> header
    formats: dict[str, str] = Field(default_factory=dict)      # meaning -> strptime format
    confidence: dict[str, float] = Field(default_factory=dict)
    reasons: dict[str, str] = Field(default_factory=dict)
    source: str = "detected"                # detected | saved for ORI ... | edited

    def signature(self) -> str:
        return "|".join(norm_header(h) for h in self.headers)


@dataclass
class Sample:
    plan: FilePlan
    rows: list[list[str]] = field(default_factory=list)   # data rows after the header (preview)


def _is_xlsx(head: bytes) -> bool:
    return head[:4] == b"PK\x03\x04"


def _decode(raw: bytes, complete: bool) -> tuple[str, str]:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise AssessmentError([Problem("EV002", "the file is UTF-16 encoded", line=1,
                                       hint="save it as CSV UTF-8 (or Windows-1252) and upload it again")])
    # a sample may end inside a multi-byte character: allow at most 3 cut bytes at its end
    for cut in ([0] if complete else [0, 1, 2, 3]):
        try:
            return raw[: len(raw) - cut].decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            continue
    return raw.decode("cp1252", errors="replace"), "cp1252"


def _rows(text: str, delim: str, limit: int) -> list[list[str]]:
    out = []
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    try:
        for row in reader:
            out.append(row)
            if len(out) >= limit:
                break
    except csv.Error:
        pass
    return out


def _header_score(row: list[str], vocab: dict[str, tuple[str, ...]]) -> int:
    names = {norm_header(n) for names in vocab.values() for n in names}
    return sum(1 for c in row if c and norm_header(c) in names)


def _find_header(rows: list[list[str]], vocab: dict[str, tuple[str, ...]]) -> int:
    """Index of the header row: the row among the first 30 with the most recognised names; without
    any, the first row with as many filled cells as the widest row."""
    top = rows[:30]
    if not top:
        return 0
    scores = [_header_score(r, vocab) for r in top]
    if max(scores) > 0:
        return scores.index(max(scores))
    width = max(sum(1 for c in r if c.strip()) for r in top)
    return next(i for i, r in enumerate(top) if sum(1 for c in r if c.strip()) == width)


def _pick_delimiter(text: str) -> str:
    lines = text.splitlines()[:60]
    best, best_score = ",", (-1, -1)
    for d in DELIMITERS:
        rows = _rows("\n".join(lines), d, 60)
        counts = [len(r) for r in rows if len(r) > 1]
        if not counts:
            continue
        modal = max(set(counts), key=counts.count)
        score = (counts.count(modal), modal)
        if score > best_score:
            best, best_score = d, score
    return best


def detect_format(values: list[str], candidates: list[str]) -> tuple[str | None, float]:
    """The format that reads the most non-empty sample values, and the share it reads."""
    vals = [v.strip() for v in values if v and v.strip()][:PREVIEW_ROWS]
    if not vals:
        return None, 0.0
    best, best_n = None, 0
    for fmt in candidates:
        n = 0
        for v in vals:
            if fmt in COMPACT_TIME:
                v = v.split(".")[0].zfill(COMPACT_TIME[fmt])
            elif fmt == "%Y%m%d":
                v = v.split(".")[0]
            try:
                dt.datetime.strptime(v, fmt)
                n += 1
            except ValueError:
                pass
        if n > best_n:
            best, best_n = fmt, n
    return best, best_n / len(vals)


def detect_columns(headers: list[str], rows: list[list[str]], vocab: dict[str, tuple[str, ...]]) -> FilePlan:
    """Meaning -> header with a confidence: 1.0 for a known header (or NCIC field code), 0.6 for a
    known word inside a longer header; time columns must also read as dates or times."""
    cand: list[tuple[float, str, str, str]] = []  # (confidence, meaning, header, reason)
    for h in headers:
        n = norm_header(h)
        for meaning, names in vocab.items():
            if n in {norm_header(x) for x in names}:
                code = NCIC_CODES.get(meaning)
                why = (f"'{h}' is the NCIC field code {code}" if code and n == code.lower()
                       else f"header '{h}' is a known name for {meaning}")
                cand.append((1.0, meaning, h, why))
            elif _words(h) & set(HEADER_WORDS.get(meaning, ())):
                cand.append((0.6, meaning, h, f"header '{h}' contains a word used for {meaning}"))
    cand.sort(key=lambda c: (-c[0], list(vocab).index(c[1]), headers.index(c[2])))
    plan = FilePlan(headers=headers)
    used: set[str] = set()
    for conf, meaning, h, why in cand:
        if meaning in plan.columns or h in used:
            continue
        plan.columns[meaning], plan.confidence[meaning], plan.reasons[meaning] = h, conf, why
        used.add(h)
    _fit_formats(plan, rows)
    return plan


TIME_MEANINGS = {"timestamp": "timestamp", "date": "date", "time": "time", "dob": "date", "received": "timestamp",
                 "start": "either", "end": "either"}


def _fit_formats(plan: FilePlan, rows: list[list[str]]) -> None:
    """Choose a format for each time column; a column whose values are not times loses its meaning,
    and a 'date' column whose values carry a time as well becomes the timestamp."""
    idx = {h: i for i, h in enumerate(plan.headers)}
    for meaning in [m for m in list(plan.columns) if m in TIME_MEANINGS]:
        h = plan.columns[meaning]
        values = [r[idx[h]] for r in rows if idx[h] < len(r)]
        kind = TIME_MEANINGS[meaning]
        options = {"timestamp": TIMESTAMP_FORMATS + DATE_FORMATS, "date": DATE_FORMATS + TIMESTAMP_FORMATS,
                   "time": TIME_FORMATS, "either": TIMESTAMP_FORMATS + TIME_FORMATS}[kind]
        fmt, share = detect_format(values, options)
        if fmt is None and not any(v.strip() for v in values):
            plan.formats[meaning] = options[0]
            continue
        if (fmt is None or share < 0.5) and meaning in ("date", "time") and "timestamp" not in plan.columns:
            ts_fmt, ts_share = detect_format(values, TIMESTAMP_FORMATS)
            if ts_fmt and ts_share >= 0.5:   # a 'Time' column holding dates and times is the timestamp
                plan.columns["timestamp"] = plan.columns.pop(meaning)
                plan.formats["timestamp"] = ts_fmt
                plan.confidence["timestamp"] = plan.confidence.pop(meaning)
                plan.reasons["timestamp"] = (plan.reasons.pop(meaning) + f"; its values hold a date and a time "
                                             f"({ts_fmt}), so it is the timestamp")
                continue
        if fmt is None or share < 0.5:
            del plan.columns[meaning]
            plan.reasons[meaning] = f"'{h}' was considered for {meaning} but its values do not read as dates or times"
            plan.confidence.pop(meaning, None)
            continue
        plan.formats[meaning] = fmt
        plan.confidence[meaning] = round(min(plan.confidence[meaning], share), 2) if share < 1 else plan.confidence[meaning]
        plan.reasons[meaning] += f"; values read as {fmt} ({share:.0%} of the sample)"
    # a 'date' column holding date and time is the timestamp
    date_fmt = plan.formats.get("date", "")
    if ("timestamp" not in plan.columns and "time" not in plan.columns and "date" in plan.columns
            and ("%H" in date_fmt or "%I" in date_fmt)):
        plan.columns["timestamp"] = plan.columns.pop("date")
        plan.formats["timestamp"] = plan.formats.pop("date")
        plan.confidence["timestamp"] = plan.confidence.pop("date")
        plan.reasons["timestamp"] = plan.reasons.pop("date") + "; it holds a time as well"


def sample(path: Path, vocab: dict[str, tuple[str, ...]]) -> Sample:
    """Read the head of a file and work out how to read all of it. A file is sniffed once per
    version (path, size, modification time, head and tail), so the app's reruns and the analysis
    do not parse a workbook again; each caller gets its own copy of the plan."""
    try:
        st = Path(path).stat()
        with open(path, "rb") as fh:          # the head and tail too: a rewrite may keep size and time
            head = fh.read(1 << 16)
            fh.seek(max(0, st.st_size - 4096))
            tail = fh.read()
        key = (str(path), st.st_size, st.st_mtime_ns, zlib.crc32(head + tail), id(vocab))
    except OSError:
        return _sample(path, vocab)
    if key not in _SAMPLES:
        if len(_SAMPLES) >= 16:
            _SAMPLES.pop(next(iter(_SAMPLES)))
        _SAMPLES[key] = _sample(path, vocab)
    got = _SAMPLES[key]
    return Sample(got.plan.model_copy(deep=True), got.rows)


_SAMPLES: dict[tuple, Sample] = {}


def _sample(path: Path, vocab: dict[str, tuple[str, ...]]) -> Sample:
    compression = ""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(SAMPLE_BYTES + 1)
        if raw[:2] == b"\x1f\x8b":
            import gzip
            compression = "gzip"
            with gzip.open(path, "rb") as fh:
                raw = fh.read(SAMPLE_BYTES + 1)
    except (OSError, EOFError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        raise AssessmentError([Problem("EV002", f"cannot open the file: {why}", file=str(path))]) from None
    if not raw.strip():
        raise AssessmentError([Problem("EV002", "the file is empty", file=str(path), line=1,
                                       hint="export the log again with a header row and at least one data row")])
    if _is_xlsx(raw):
        return _sample_xlsx(path, vocab)
    if b"\x00" in raw[:4096]:
        raise AssessmentError([Problem("EV002", "the file is not text (it holds NUL bytes) and is not an XLSX workbook",
                                       file=str(path), hint="upload the log as CSV or XLSX")])
    complete = len(raw) <= SAMPLE_BYTES
    try:
        text, encoding = _decode(raw[:SAMPLE_BYTES], complete)
    except AssessmentError as exc:
        raise AssessmentError([Problem(p.code, p.message, file=str(path), line=p.line, hint=p.hint)
                               for p in exc.problems]) from None
    if not complete:
        text = text[: text.rfind("\n") + 1] or text
    delim = _pick_delimiter(text)
    rows = _rows(text, delim, 30 + PREVIEW_ROWS)
    if not any(c.strip() for r in rows for c in r):
        raise AssessmentError([Problem("EV002", "the file is empty", file=str(path), line=1,
                                       hint="export the log again with a header row and at least one data row")])
    hi = _find_header(rows, vocab)
    headers = [c.strip().lstrip("\ufeff") for c in rows[hi]]
    plan = detect_columns(headers, rows[hi + 1:], vocab)
    plan.kind, plan.encoding, plan.delimiter, plan.compression = "csv", encoding, delim, compression
    plan.header_line = _lines_before(text, hi) + 1
    return Sample(plan, rows[hi + 1:])


def _lines_before(text: str, record_index: int) -> int:
    """How many physical lines the first `record_index` records take (quoted newlines count)."""
    lines = records = quotes = 0
    for line in text.splitlines():
        if records >= record_index:
            break
        lines += 1
        quotes += line.count('"')
        if quotes % 2 == 0:
            records, quotes = records + 1, 0
    return lines


def xlsx_rows(path: Path, first: int = 0, limit: int | None = None) -> list[list[str]]:
    """The first sheet's rows as text (python-calamine: about 15x faster than openpyxl here)."""
    import zipfile

    from python_calamine import CalamineWorkbook
    with zipfile.ZipFile(path) as zf:
        if sum(i.file_size for i in zf.infolist()) > 2_000_000_000:
            raise AssessmentError([Problem("EV002", "the workbook unpacks to more than 2 GB", file=str(path),
                                           hint="export the log as CSV instead")])
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    rows = sheet.to_python(skip_empty_area=False, nrows=None if limit is None else first + limit)
    return [[cell_text(v) for v in r] for r in rows[first:]]


def _sample_xlsx(path: Path, vocab: dict[str, tuple[str, ...]]) -> Sample:
    try:
        rows = xlsx_rows(path, 0, 30 + PREVIEW_ROWS)
    except AssessmentError:
        raise
    except Exception as exc:  # zipfile and calamine raise many kinds
        raise AssessmentError([Problem("EV002", f"cannot read the workbook: {exc}", file=str(path),
                                       hint="save it again from Excel as .xlsx, or as CSV")]) from None
    if not any(c.strip() for r in rows for c in r):
        raise AssessmentError([Problem("EV002", "the workbook's first sheet is empty", file=str(path))])
    hi = _find_header(rows, vocab)
    headers = [c.strip() for c in rows[hi]]
    while headers and not headers[-1]:
        headers.pop()
    plan = detect_columns(headers, rows[hi + 1:], vocab)
    plan.kind, plan.encoding, plan.header_line = "xlsx", "xlsx", hi + 1
    return Sample(plan, rows[hi + 1:])


def cell_text(v) -> str:
    """A workbook cell as the text an export would hold."""
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dt.time):
        return v.strftime("%H:%M:%S")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def fold(text: str) -> str:
    """Upper case without accents, for names."""
    t = unicodedata.normalize("NFKD", text)
    return "".join(c for c in t if not unicodedata.combining(c)).upper()
