"""What shape is an evidence file? Encoding, delimiter, the header row under any title rows,
which column means what (with a confidence and the reason), and the date/time format of each
time column, all read from the first rows so that a 10-million-row log costs nothing here."""
from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
import math
import posixpath
import re
import unicodedata
import zipfile
import zlib
from array import array
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers.expat import ExpatError

from defusedxml import DefusedXmlException
from pydantic import BaseModel, Field

from assessment.core.errors import EV002, AssessmentError, Problem
from assessment.firm import uploads

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
        raise AssessmentError([Problem(EV002, "the file is UTF-16 encoded", line=1,
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
    content (its SHA-256), so the app's reruns, the analysis, and a copy of the same bytes under
    another name or folder (the app writes a matter's evidence to a fresh folder) do not parse a
    workbook again; each caller gets its own copy of the plan. (A file past SAMPLE_HASH_MAX, a
    journal read from the command line, is sampled once per version instead.)"""
    try:
        path = Path(path)
        big = path.stat().st_size > SAMPLE_HASH_MAX     # a journal for the CLI: hashing it costs more than a sample
        key = (_version(path) if big else file_sha256(path), id(vocab))
    except OSError:
        return _sample(path, vocab)
    if key not in _SAMPLES:
        got = _sample(path, vocab)
        if len(_SAMPLES) >= 32:
            _SAMPLES.pop(next(iter(_SAMPLES)))       # the oldest: the cache is full, so not empty
        _SAMPLES[key] = got
    got = _SAMPLES[key]
    return Sample(got.plan.model_copy(deep=True), got.rows)


_SAMPLES: dict[tuple, Sample] = {}
_SHAS: dict[tuple, str] = {}


SAMPLE_HASH_MAX = 256 * 2**20      # larger files are sampled once per version, not per content


def _version(path: Path) -> tuple:
    """A version of a file: path, size, modification time, and a CRC of its head and tail (a
    rewrite may keep the size and the time)."""
    st = path.stat()
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
        fh.seek(max(0, st.st_size - 4096))
        return str(path), st.st_size, st.st_mtime_ns, zlib.crc32(head + fh.read())


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, hashed once per version of the file (`_version`)."""
    key = _version(path)
    sha = _SHAS.get(key)
    if sha is None:
        with open(path, "rb") as fh:
            sha = hashlib.file_digest(fh, "sha256").hexdigest()
        if len(_SHAS) >= 256:
            _SHAS.pop(next(iter(_SHAS)))             # the oldest: the cache is full, so not empty
        _SHAS[key] = sha
    return sha


def _sample(path: Path, vocab: dict[str, tuple[str, ...]]) -> Sample:
    compression = ""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(SAMPLE_BYTES + 1)
        if raw[:2] == b"\x1f\x8b":
            compression = "gzip"
            with gzip.open(path, "rb") as fh:
                raw = fh.read(SAMPLE_BYTES + 1)
    except (OSError, EOFError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        raise AssessmentError([Problem(EV002, f"cannot open the file: {why}", file=str(path))]) from None
    if not raw.strip():
        raise AssessmentError([Problem(EV002, "the file is empty", file=str(path), line=1,
                                       hint="export the log again with a header row and at least one data row")])
    if _is_xlsx(raw):
        return _sample_xlsx(path, vocab)
    if b"\x00" in raw[:4096]:
        raise AssessmentError([Problem(EV002, "the file is not text (it holds NUL bytes) and is not an XLSX workbook",
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
        raise AssessmentError([Problem(EV002, "the file is empty", file=str(path), line=1,
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


# ---- XLSX, read streaming --------------------------------------------------------------------
# A workbook is read part by part with expat (refusing DTDs and entities as defusedxml does), row by
# row: memory stays flat however many rows there are, and a stray cell far to the right or at the
# bottom of the sheet costs nothing (python-calamine built the whole sheet as one dense grid first: a
# 7 MB export with a note in column 500 took 42 s and 3.7 GB, one cell at XFD1048576 aborted the
# process). The values are the ones calamine gave, as `cell_text` writes them.
XLSX_MAX_ROW = 1_048_576          # Excel's last row and column: a reference past them is not Excel's
XLSX_MAX_COL = 16_384
XLSX_ROW_TEXT = 2**20             # characters in one row (an audit export's rows hold a few hundred)
XLSX_TEXT = 2**30                 # characters in a whole sheet (shared strings can repeat a long text cheaply)
XLSX_SAMPLE_TEXT = 2**20          # the sniffer stops after this much cell text, or after 30 + PREVIEW_ROWS rows
XLSX_CELLS = 200_000_000          # rows x columns read for the analysis (a million rows of 200 columns)
_CHUNK = 1 << 16
_MS_PER_DAY = 86_400_000
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_EPOCH_ORDINAL = _EXCEL_EPOCH.toordinal()
_DATE, _DURATION = "date", "duration"
_XML_ESCAPE = re.compile(r"_x00([0-9A-Fa-f]{2})_")


def _local(tag: str) -> str:
    return tag.rpartition(":")[2]


class _Refused(Exception):
    """A workbook problem met inside an XML handler: (message, part, row)."""

    def __init__(self, message: str, part: str | None = None, row: int | None = None):
        super().__init__(message)
        self.message, self.part, self.row = message, part, row


def _date_format(code: str) -> str | None:
    """_DATE, _DURATION or None for a custom number format (calamine's rule: the first section's
    d, m, y, h or s outside quotes, brackets and escapes makes a date; [h], [m] or [s] a duration)."""
    escaped = quoted = ap = hms = False
    brackets, prev = 0, " "
    for s in code:
        if escaped:
            escaped = False
        elif s in "_\\*":
            escaped = True
        elif quoted:
            quoted = s != '"'
        elif s == '"':
            quoted = True
        elif s == ";":
            return None
        elif s == "[":
            brackets += 1
        elif s == "]" and brackets == 1 and hms:
            return _DURATION
        elif s == "]":
            brackets = max(0, brackets - 1)
        elif s in "aA" and not ap and brackets == 0:
            ap = True
        elif brackets == 0 and (s in "pmPM/" if ap else s in "dmhysDMHYS"):
            return _DATE
        elif not (hms and s.lower() == prev.lower()):
            hms = prev == "[" and s in "mhsMHS"
        prev = s
    return None


_BUILTIN_FORMATS = {**{str(i): _DATE for i in (*range(14, 23), 45, 47)}, "46": _DURATION}


def _round(x: float) -> int:
    """Half away from zero, as Rust's f64::round (Python's round() goes to even)."""
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def _serial_text(v: float, kind: str, is_1904: bool) -> str:
    """A number in a date or duration format, as calamine converted it and `cell_text` writes it
    (dates of years 1900 to 9999 by integer arithmetic: strftime was a tenth of a workbook's import)."""
    if kind == _DATE and 1 <= v < (2_957_003 if is_1904 else 2_958_465):
        f = v + 1462 if is_1904 else v
        days, ms = divmod(_round((f if f >= 60 else f + 1) * _MS_PER_DAY), _MS_PER_DAY)
        day = dt.date.fromordinal(_EPOCH_ORDINAL + days).isoformat()
        if v.is_integer():
            return day
        s = ms // 1000
        return f"{day} {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
    try:
        if kind == _DURATION:
            return cell_text(dt.timedelta(milliseconds=_round(v * _MS_PER_DAY)))
        f = v + 1462 if is_1904 else v
        f = f if f >= 60 else f + 1                     # Excel's 29 February 1900
        t = _EXCEL_EPOCH + dt.timedelta(milliseconds=_round(f * _MS_PER_DAY))
    except (OverflowError, ValueError):
        return cell_text(v)
    if v < 1:
        return cell_text(t.time())
    if v.is_integer() and v < 2**64:
        return cell_text(t.date())
    return cell_text(t)


def _iso_text(v: str) -> str:
    """A t="d" cell (ISO 8601 text)."""
    try:
        if "T" in v:
            return cell_text(dt.datetime.fromisoformat(v))
        if ":" in v:
            return cell_text(dt.time.fromisoformat(v))
        return cell_text(dt.date.fromisoformat(v))
    except ValueError:
        return v


def _piece(parts: list[str], preserve: bool) -> str:
    """One <t> of a string: ASCII white space trimmed unless xml:space="preserve", _x00HH_ unescaped."""
    text = "".join(parts)
    if not preserve:
        text = text.strip(" \t\r\n")
    return _XML_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x00" in text else text


def _parse(p, chunk: bytes, final: bool, part: str, row: int | None = None) -> None:
    """One chunk of a part into its parser; a DTD or malformed XML becomes a refusal naming the part."""
    try:
        p.Parse(chunk, final)
    except DefusedXmlException:
        raise _Refused("the part declares a DTD or entities (refused: entity expansion and external entities)",
                       part, row) from None
    except ExpatError as exc:
        raise _Refused(f"the part is not well-formed XML ({exc})", part, row) from None


class _SharedStrings:
    """The shared-strings table, parsed only as far as the cells read so far need (the sniffer's
    first rows need the first few strings) and kept as UTF-8 in one buffer with offsets: a table of
    millions of strings costs its text and 8 bytes a string, not a Python object each."""

    def __init__(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo | None):
        self.part = info.filename if info else "xl/sharedStrings.xml"
        self.text, self.ends = bytearray(), array("q")
        self.fh = zf.open(info) if info else None
        self.p = uploads.defused_expat() if info else None
        if self.p:
            parts: list[str] = []
            pieces: list[str] = []
            state = {"si": False, "t": False, "ph": False, "preserve": False}

            def start(tag, attrs):
                name = _local(tag)
                if name == "si":
                    state["si"] = True
                    pieces.clear()
                elif name == "t" and state["si"] and not state["ph"]:
                    state["t"], state["preserve"] = True, attrs.get("xml:space") == "preserve"
                    parts.clear()
                elif name == "rPh":
                    state["ph"] = True

            def end(tag):
                name = _local(tag)
                if name == "t" and state["t"]:
                    state["t"] = False
                    pieces.append(_piece(parts, state["preserve"]))
                elif name == "rPh":
                    state["ph"] = False
                elif name == "si" and state["si"]:
                    state["si"] = False
                    self.text += "".join(pieces).encode("utf-8", "surrogatepass")
                    self.ends.append(len(self.text))

            def data(text):
                if state["t"]:
                    parts.append(text)

            self.p.StartElementHandler, self.p.EndElementHandler, self.p.CharacterDataHandler = start, end, data

    def get(self, i: int) -> str:
        while i >= len(self.ends) and self.fh is not None:
            chunk = self.fh.read(_CHUNK)
            _parse(self.p, chunk, not chunk, self.part)
            if not chunk:
                self.close()
        if i >= len(self.ends):
            raise _Refused(f"a cell refers to shared string {i}, but the table holds {len(self.ends)}", self.part)
        return self.text[self.ends[i - 1] if i else 0:self.ends[i]].decode("utf-8", "surrogatepass")

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None


def _small_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo, start) -> None:
    p = uploads.defused_expat()
    p.StartElementHandler = start
    with zf.open(info) as fh:
        while chunk := fh.read(_CHUNK):
            _parse(p, chunk, False, info.filename)
        _parse(p, b"", True, info.filename)


@dataclass
class _Book:
    zf: zipfile.ZipFile
    sheet: zipfile.ZipInfo
    formats: list[str | None]           # per cell style (cellXfs index): _DATE, _DURATION or None
    is_1904: bool
    strings: _SharedStrings


def _open_book(path: Path) -> _Book:
    """The first sheet of a workbook with its styles and shared strings, each part within the caps
    of uploads.XLSX_LIMITS (a workbook may reach here without the upload check: CLI, bundles)."""
    zf = zipfile.ZipFile(path)
    try:
        infos = {i.filename.lower(): i for i in zf.infolist()}
        limits = uploads.XLSX_LIMITS
        total = sum(i.file_size for i in infos.values())
        if total > limits.unpacked:
            raise _Refused(f"the workbook unpacks to {total / 2**20:.0f} MB (at most {limits.unpacked // 2**20} MB)")
        for info in infos.values():
            cap = limits.part_cap(info.filename)
            if cap is not None and info.file_size > cap:
                raise _Refused(f"part {info.filename} unpacks to {info.file_size / 2**20:.0f} MB (at most "
                               f"{cap // 2**20} MB for this part)", info.filename)
        if "xl/workbook.xml" not in infos:
            raise _Refused("this ZIP is not an Excel workbook (no xl/workbook.xml)")
        sheets: list[str] = []
        is_1904 = [False]

        def book(tag, attrs):
            name = _local(tag)
            if name == "sheet":
                sheets.append(next((v for k, v in attrs.items() if k.endswith(":id")), ""))
            elif name == "workbookPr":
                is_1904[0] = attrs.get("date1904") in ("1", "true")
        _small_part(zf, infos["xl/workbook.xml"], book)
        targets: dict[str, str] = {}

        def rels(tag, attrs):
            if _local(tag) == "Relationship":
                targets[attrs.get("Id", "")] = attrs.get("Target", "")
        if "xl/_rels/workbook.xml.rels" in infos:
            _small_part(zf, infos["xl/_rels/workbook.xml.rels"], rels)
        if not sheets:
            raise _Refused("the workbook has no sheet", "xl/workbook.xml")
        target = targets.get(sheets[0], "")
        name = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        sheet = infos.get(name.lower())
        if not target or sheet is None:
            raise _Refused(f"the workbook's first sheet ({target or 'no target'}) is missing", "xl/workbook.xml")
        formats: list[str | None] = []
        if "xl/styles.xml" in infos:
            custom: dict[str, str] = {}
            in_xfs = [False]

            def styles(tag, attrs):
                name = _local(tag)
                if name == "numFmt" and "numFmtId" in attrs and "formatCode" in attrs:
                    custom[attrs["numFmtId"]] = attrs["formatCode"]
                elif name == "cellXfs":
                    in_xfs[0] = True
                elif name == "cellStyles":
                    in_xfs[0] = False
                elif name == "xf" and in_xfs[0]:
                    fid = attrs.get("numFmtId")
                    formats.append(None if fid is None else
                                   _date_format(custom[fid]) if fid in custom else _BUILTIN_FORMATS.get(fid))
            _small_part(zf, infos["xl/styles.xml"], styles)
        return _Book(zf, sheet, formats, is_1904[0], _SharedStrings(zf, infos.get("xl/sharedstrings.xml")))
    except BaseException:
        zf.close()
        raise


def _column(ref: str, cache: dict[str, int]) -> int:
    """0-based column of a cell reference such as 'AB12'."""
    letters = ref.rstrip("0123456789")
    col = cache.get(letters)
    if col is None:
        col = 0
        for ch in letters.upper():
            if not "A" <= ch <= "Z":
                raise _Refused(f"cell reference {ref!r} is not a cell reference")
            col = col * 26 + ord(ch) - 64
        col -= 1
        if not 0 <= col < XLSX_MAX_COL:
            raise _Refused(f"cell {ref} lies past the sheet's last column (XFD)")
        cache[letters] = col
    return col


def _shared_text(v: str, strings: _SharedStrings, seen: dict[str, str]) -> str:
    """The text of a t="s" cell whose <v> is `v` (an index; calamine read one that is not digits as
    0). A short text is kept in `seen`, up to 65,536 of them (ids and codes repeat; long texts not)."""
    if not v:
        return ""
    text = strings.get(int(v) if v.isascii() and v.isdigit() else 0)
    if len(text) <= 256:
        if len(seen) >= 65_536:
            seen.clear()
        seen[v] = text
    return text


def _typed_text(kind: str, v: str, part: str, row: int) -> str:
    """The text of a cell of a rarer type: a formula's text result, a boolean, an error, an ISO date."""
    if kind == "str":
        return v
    if kind == "b":
        return "" if not v else "False" if v == "0" else "True"
    if kind == "e":
        return ""
    if kind == "d":
        return _iso_text(v) if v else ""
    raise _Refused(f"a cell has the unknown type t={kind!r}", part, row)


def _name(tag: str, names: dict[str, str]) -> str:
    """The local name of an element (calamine ignores prefixes), remembered for the first 256 tags:
    a part made of millions of different tags must not grow the table."""
    name = _local(tag)
    if len(names) < 256:
        names[tag] = name
    return name


def _sheet_rows(book: _Book, width: int | None) -> Iterator[tuple[int, list[str]]]:
    """(row number, cell texts) for each <row> of the first sheet in file order, cells placed by
    their column and cut at `width`. The handlers are the hot loop of a workbook import: the common
    cells (a shared string, a plain number) take the shortest path, and the texts of shared strings
    are remembered by their index while few enough (an audit log repeats its ids and codes)."""
    part = book.sheet.filename
    strings, formats, is_1904 = book.strings, book.formats, book.is_1904
    nformats = len(formats)
    limit = XLSX_MAX_COL if width is None else width
    done: list[tuple[int, list[str]]] = []
    cols: dict[str, int] = {}
    names: dict[str, str] = {n: n for n in ("c", "v", "row", "f", "is", "t", "r", "rPh")}
    shared: dict[str, str] = {}
    row_no, cells, size, total = 0, [], 0, 0
    col, kind, style, v_parts, is_parts, t_parts = -1, None, None, None, None, []
    collect = None              # the list character data goes to
    in_is = phonetic = preserve = False

    def start(tag, attrs):
        nonlocal row_no, cells, size, col, kind, style, v_parts, is_parts, t_parts, collect, in_is, phonetic, \
            preserve
        name = names.get(tag) or _name(tag, names)
        if name == "c":
            ref = attrs.get("r")
            if ref:
                c = cols.get(ref.rstrip("0123456789"))
                col = _column(ref, cols) if c is None else c
            else:
                col += 1
            kind, style, v_parts, is_parts = attrs.get("t"), attrs.get("s"), None, None
        elif name == "v":
            v_parts = collect = []
        elif name == "row":
            r = attrs.get("r")
            n = int(r) if r and r.isdigit() else row_no + 1
            if n <= row_no or n > XLSX_MAX_ROW:
                raise _Refused(f"row {n} is out of order (after row {row_no})" if n <= row_no else
                               f"row {n} lies past the sheet's last row ({XLSX_MAX_ROW:,})", part, n)
            row_no, cells, size, col = n, [], 0, -1
        elif name == "is":
            in_is, is_parts = True, []
        elif in_is and name == "t" and not phonetic:
            t_parts = collect = []
            preserve = attrs.get("xml:space") == "preserve"
        elif name == "rPh":
            phonetic = True

    def end(tag):
        nonlocal collect, in_is, phonetic, size, total
        name = names.get(tag) or _name(tag, names)
        if name == "c":
            if col >= limit:
                return
            # the cell's text (inline: this runs for every cell)
            if v_parts is None or kind == "inlineStr" or kind == "is":
                text = "".join(is_parts) if is_parts is not None else ""
            elif kind == "s":
                v = "".join(v_parts)
                text = shared.get(v)
                if text is None:
                    text = _shared_text(v, strings, shared)
            elif kind is None or kind == "n":
                v = "".join(v_parts)
                try:
                    f = float(v) if v else None
                except ValueError:
                    if kind == "n":
                        raise _Refused(f"a number cell holds {v[:40]!r}", part, row_no) from None
                    f = None
                if f is None:
                    text = v
                else:
                    fmt = (formats[int(style)] if style.isdigit() and int(style) < nformats else None) if style else None
                    text = ((str(int(f)) if f.is_integer() else str(f)) if fmt is None else
                            _serial_text(f, fmt, is_1904))
            else:
                text = _typed_text(kind, "".join(v_parts), part, row_no)
            n = len(cells)
            if col == n:
                cells.append(text)
            elif col > n:
                cells.extend([""] * (col - n))
                cells.append(text)
            else:
                cells[col] = text
            size += len(text)
            if size > XLSX_ROW_TEXT:
                raise _Refused(f"row {row_no} holds more than {XLSX_ROW_TEXT:,} characters", part, row_no)
        elif name == "v":
            collect = None
        elif name == "row":
            total += size
            if total > XLSX_TEXT:
                raise _Refused(f"the sheet's cells hold more than {XLSX_TEXT // 2**20:,} MB of text", part, row_no)
            done.append((row_no, cells))
        elif name == "t" and collect is not None and collect is t_parts:
            collect = None
            is_parts.append(_piece(t_parts, preserve))
        elif name == "is":
            in_is = False
        elif name == "rPh":
            phonetic = False

    def data(text):
        if collect is not None:
            collect.append(text)

    p = uploads.defused_expat()
    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, data
    try:
        with book.zf.open(book.sheet) as fh:
            while chunk := fh.read(_CHUNK):
                _parse(p, chunk, False, part, row_no or None)
                if done:
                    yield from done
                    done.clear()
            _parse(p, b"", True, part, row_no or None)
    except _Refused as exc:                 # met in a cell or in the shared strings: name the row
        exc.part, exc.row = exc.part or part, exc.row or row_no or None
        raise
    yield from done


def xlsx_rows(path: Path, first: int = 0, width: int | None = None) -> Generator[list[str], None, None]:
    """The first sheet's rows from sheet row `first + 1` on, streaming, as the text of each cell
    (`cell_text`), a missing row as []; cells past `width` are dropped. Located EV002 problems for
    a damaged workbook, a part past its cap, a DTD, or a row or column past Excel's."""
    book = None
    row = None
    try:
        book = _open_book(path)
        expected = first + 1
        for row, cells in _sheet_rows(book, width):
            if row < expected:
                continue
            while expected < row:
                yield []
                expected += 1
            yield cells
            expected += 1
    except _Refused as exc:
        raise AssessmentError([Problem(EV002, f"the workbook is refused: {exc.message}", file=str(path),
                                       line=exc.row, field=exc.part,
                                       hint="save it again from Excel as .xlsx, or export the log as CSV")]) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error, ValueError, RuntimeError,
            UnicodeError) as exc:
        raise AssessmentError([Problem(EV002, f"cannot read the workbook: {exc}", file=str(path), line=row,
                                       hint="save it again from Excel as .xlsx, or as CSV")]) from None
    finally:
        if book is not None:
            book.strings.close()
            book.zf.close()


def _sample_xlsx(path: Path, vocab: dict[str, tuple[str, ...]]) -> Sample:
    """The first 30 + PREVIEW_ROWS rows (or XLSX_SAMPLE_TEXT of text), read streaming: the rest of
    the sheet, and of the shared strings, is not even decompressed."""
    rows: list[list[str]] = []
    text = 0
    gen = xlsx_rows(path)
    try:
        for cells in gen:
            rows.append(cells)
            text += sum(map(len, cells))
            if len(rows) >= 30 + PREVIEW_ROWS or text > XLSX_SAMPLE_TEXT:
                break
    finally:
        gen.close()
    if not any(c.strip() for r in rows for c in r):
        raise AssessmentError([Problem(EV002, "the workbook's first sheet is empty", file=str(path))])
    hi = _find_header(rows, vocab)
    headers = [c.strip() for c in rows[hi]]
    while headers and not headers[-1]:
        headers.pop()
    width = len(headers)        # the data rows as wide as the headers (a stray far cell adds nothing)
    data = [r[:width] + [""] * (width - len(r)) for r in rows[hi + 1:]]
    plan = detect_columns(headers, data, vocab)
    plan.kind, plan.encoding, plan.header_line = "xlsx", "xlsx", hi + 1
    return Sample(plan, data)


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
