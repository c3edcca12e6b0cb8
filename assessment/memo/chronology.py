"""The case chronology (law/chronology.py) drawn and exported: an Altair timeline for the app and,
as a PNG, for the memo; a CSV of the table the attorney marks; an iCalendar (.ics) file of the
deadlines for the firm's calendar.

The chart's rows are inline values (plain dicts, dates as ISO text), never a DataFrame: Altair's
data transformer is global to the process (see evidence/charts.py)."""
from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import io
import json
from collections.abc import Iterable

import altair as alt

from assessment.firm.uploads import safe_cell
from assessment.law.chronology import KIND_ORDER, POBR_RULE, TRAINING_KB, superseded
from assessment.law.model import Event

# the lanes of the chart, top to bottom, and the words the app and the CSV show for each kind
LANES = {"fact": "Facts", "finding": "Subject queries", "investigation": "Investigation", "filing": "Filings",
         "deadline": "Deadlines"}
COLORS = {"Facts": "#4472C4", "Subject queries": "#C00000", "Investigation": "#7030A0", "Filings": "#ED7D31",
          "Deadlines": "#595959", "Deadlines (tolled)": "#00B050"}
CSV_COLUMNS = ("mark", "note", "date", "kind", "what", "file", "rows", "rule", "tolled", "passed", "basis")


def key(e: Event) -> str:
    """An entry's key among the matter's marks: `chronology:<id>` (the entry's stable id, so a mark stays on its
    entry when a charge is filed or a date corrected)."""
    return f"chronology:{e.id}"


def deadline_type(e: Event) -> str:
    """What kind of deadline an entry is, in a word or three (the docket's column)."""
    if TRAINING_KB in e.basis:
        return "CLETS training"
    if (e.rule or "").startswith(POBR_RULE):
        return "POBR year (tolled)" if e.tolled else "POBR year"
    return "Limitation: " + e.what.split(" (", 1)[0]


# The attorney's marks on chronology entries live in the matter's marks, beside the marks on audit
# rows (keyed 'file#row'), under `key(e)`: {"mark": "marked" or "", "note": ...}. The readers of the
# audit-row marks (evidence.events.marked) pass over keys that start with `chronology:`.
MARKED = "marked"


def stored_mark(marked: bool, note: str) -> dict | None:
    """The entry to keep in the matter's marks (None: nothing to keep)."""
    note = note.strip()
    return {"mark": MARKED if marked else "", "note": note} if marked or note else None


def read_marks(store: dict[str, dict]) -> dict[str, dict]:
    """{key: {"marked": bool, "note": str}} of the chronology entries among the matter's marks."""
    return {k: {"marked": v.get("mark") == MARKED, "note": str(v.get("note") or "")}
            for k, v in store.items() if k.startswith("chronology:")}


def _rows_text(rows: list[int] | None) -> str:
    return ", ".join(map(str, rows or []))


# ---- the chart -----------------------------------------------------------------------------------
def _series(e: Event) -> str:
    return "Deadlines (tolled)" if e.kind == "deadline" and e.tolled else LANES[e.kind]


def chart(events: list[Event], as_of: dt.date, for_print: bool = False) -> alt.LayerChart | None:
    """The timeline: one lane per kind, a dot for each dated event, a tick for each deadline
    (tolled ones in their own colour, passed ones pale), and a dashed rule at the assessment date. None without
    events. `for_print` leaves out the tooltips (the PNG for the memo)."""
    if not events:
        return None
    rows = [{"date": e.date, "lane": LANES[e.kind], "series": _series(e), "what": e.what,
             "where": f"{e.file} rows {_rows_text(e.rows)}" if e.file else "",
             "rule": e.rule or "", "status": ("passed" if e.passed else "ahead") if e.kind == "deadline" else ""}
            for e in events]
    if for_print:
        rows = [{k: r[k] for k in ("date", "lane", "series", "status")} for r in rows]
    dates = [e.date for e in events] + [as_of.isoformat()]
    pad = dt.timedelta(days=30)
    domain = [(dt.date.fromisoformat(min(dates)) - pad).isoformat(), (dt.date.fromisoformat(max(dates)) + pad).isoformat()]
    present = [LANES[k] for k in KIND_ORDER if any(e.kind == k for e in events)]
    series = [s for s in COLORS if any(_series(e) == s for e in events)]
    x = alt.X("date:T", title="Date", scale=alt.Scale(domain=domain))
    y = alt.Y("lane:N", title=None, sort=present, scale=alt.Scale(domain=present))
    color = alt.Color("series:N", title=None, scale=alt.Scale(domain=series, range=[COLORS[s] for s in series]))
    tips = {} if for_print else {"tooltip": ["date:T", "lane:N", "what:N", "where:N", "rule:N", "status:N"]}
    dots = alt.Chart({"values": [r for r in rows if r["lane"] != LANES["deadline"]]}).mark_circle(
        size=90, opacity=0.85).encode(x=x, y=y, color=color, **tips)
    ticks = alt.Chart({"values": [r for r in rows if r["lane"] == LANES["deadline"]]}).mark_tick(
        thickness=3, size=26).encode(x=x, y=y, color=color, **tips,
                                     opacity=alt.condition(alt.datum.status == "passed", alt.value(0.4), alt.value(1.0)))
    today = alt.Chart({"values": [{"date": as_of.isoformat(), "label": f"assessed {as_of.isoformat()}"}]})
    rule = today.mark_rule(strokeDash=[6, 4], color="#000000").encode(x=x)
    label = today.mark_text(align="left", dx=4, dy=-6, baseline="bottom", fontSize=10).encode(
        x=x, y=alt.value(0), text="label:N")
    has_deadlines = any(e.kind == "deadline" for e in events)
    layers = ([dots] if len(present) > has_deadlines else []) + ([ticks] if has_deadlines else [])
    return alt.LayerChart(layer=[*layers, rule, label], width=640, height=36 * len(present) + 20,
                          title="" if for_print else "Case chronology")


def png(events: list[Event], as_of: dt.date) -> bytes | None:
    """The chart as a PNG for the memo (vl-convert renders locally, as evidence/charts.png), or None
    without events. The same chronology on the same date draws the same picture, so the last few are kept
    (a memo generated again, or the template check's test render, does not wait a second for it)."""
    return _png(json.dumps([e.model_dump(mode="json") for e in events]), as_of.isoformat()) if events else None


@functools.lru_cache(maxsize=16)
def _png(events_json: str, as_of: str) -> bytes | None:
    import vl_convert
    c = chart([Event.model_validate(e) for e in json.loads(events_json)], dt.date.fromisoformat(as_of), for_print=True)
    return vl_convert.vegalite_to_png(c.to_dict(), scale=2.0) if c is not None else None


# ---- the table as CSV ------------------------------------------------------------------------------
def csv_bytes(events: list[Event], marks: dict[str, dict] | None = None, only_marked: bool = False) -> bytes:
    """The chronology as CSV (UTF-8 with a byte order mark, so a spreadsheet reads it as UTF-8),
    with the attorney's mark ("x") and note for each entry; `marks` maps `key(e)` to {"marked":
    bool, "note": str}. Every text cell goes through safe_cell: a cell that starts like a formula
    is written with a leading quote, so no spreadsheet runs it."""
    marks = marks or {}
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow(CSV_COLUMNS)
    for e in events:
        m = marks.get(key(e)) or {}
        if only_marked and not m.get("marked"):
            continue
        row = ["x" if m.get("marked") else "", m.get("note") or "", e.date, LANES[e.kind], e.what, e.file or "",
               _rows_text(e.rows), e.rule or "", "" if e.tolled is None else ("yes" if e.tolled else "no"),
               "" if e.passed is None else ("yes" if e.passed else "no"), "; ".join(e.basis)]
        out.writerow([safe_cell(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


# ---- the deadlines as iCalendar -------------------------------------------------------------------
def _escape(text: str) -> str:
    """A TEXT value (RFC 5545 § 3.3.11): backslash, semicolon, comma and newline escaped."""
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def _fold(line: str) -> str:
    """A content line folded at 75 octets (RFC 5545 § 3.1), never inside a UTF-8 character; each
    continuation starts with one space."""
    parts: list[str] = []
    current: list[str] = []
    size, limit = 0, 75
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            parts.append("".join(current))
            current, size, limit = [], 0, 74          # the leading space counts
        current.append(ch)
        size += n
    parts.append("".join(current))
    return "\r\n ".join(parts)


def _matter_id(matter) -> str:
    """The firm's id of a matter: a str, or anything with an `id` (casefile.Matter, MatterRef)."""
    return matter if isinstance(matter, str) else str(matter.id)


def uid(matter_id: str, e: Event) -> str:
    """Stable per matter and deadline (the entry's id: which rule, count and act), so a later export
    updates the calendar's entry in place, also when a corrected date moves it or a charge is filed."""
    digest = hashlib.sha256(f"{matter_id}\x00{e.id}".encode()).hexdigest()[:32]
    return f"{digest}@clets-defense"


def ics(events: Iterable[Event], matter, *, include_passed: bool = False, now: dt.datetime | None = None) -> bytes:
    """The deadlines (kind `deadline`) as an iCalendar file: one all-day VEVENT each, titled with the
    matter's id (not its title, which usually names the client) and the deadline, with the rule
    and basis in its description.
    Deadlines that passed before the assessment date are left out unless `include_passed`, and so
    are untolled POBR dates that tolling has moved (they are not deadlines)."""
    matter_id = _matter_id(matter)
    stamp = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//clets-defense//case chronology//EN", "CALSCALE:GREGORIAN",
             "METHOD:PUBLISH", f"X-WR-CALNAME:{_escape(f'{matter_id} deadlines')}"]
    seen: set[str] = set()
    for e in events:
        if e.kind != "deadline" or superseded(e) or (e.passed and not include_passed):
            continue
        u = uid(matter_id, e)
        if u in seen:                 # the same id twice (it should not happen): keep both, apart
            u = uid(matter_id, e.model_copy(update={"id": f"{e.id}:{e.date}"}))
        seen.add(u)
        day = dt.date.fromisoformat(e.date)
        description = "\n".join(x for x in (f"Matter: {matter_id}", f"Rule: {e.rule}" if e.rule else "",
                                            "Tolled: yes" if e.tolled else "", f"Basis: {'; '.join(e.basis)}",
                                            "From the clets-defense case chronology; check it against the "
                                            "assessment before relying on it.") if x)
        lines += ["BEGIN:VEVENT", f"UID:{u}", f"DTSTAMP:{stamp}", f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
                  f"DTEND;VALUE=DATE:{day + dt.timedelta(days=1):%Y%m%d}",
                  f"SUMMARY:{_escape(f'{matter_id}: {e.what}')}", f"DESCRIPTION:{_escape(description)}",
                  "TRANSP:TRANSPARENT", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return ("".join(_fold(line) + "\r\n" for line in lines)).encode("utf-8")
