"""The client's queries as events: filtering for the Evidence page, and the attorney's
CaseMap-style marks (material / disputed / undisputed, with a note) that flow into the memo."""
from __future__ import annotations

import datetime as dt

MARKS = ("material", "disputed", "undisputed")


def key(event: dict) -> str:
    return f"{event['file']}#{event['row']}"


def subjects(events: list[dict]) -> list[str]:
    return sorted({s for e in events for s in (e.get("subject") or "").split("; ") if s})


def select(events: list[dict], *, show: str = "subject queries", subjects_: list[str] | None = None,
           start: dt.date | None = None, end: dt.date | None = None) -> list[dict]:
    """show: 'subject queries', 'all client queries', 'marked', or a finding id."""
    out = []
    for e in events:
        if show == "subject queries" and not e.get("subject"):
            continue
        if show not in ("subject queries", "all client queries", "marked") and show not in e.get("findings", []):
            continue
        if subjects_ and not set(subjects_) & set((e.get("subject") or "").split("; ")):
            continue
        day = dt.date.fromisoformat(e["time"][:10]) if e.get("time") else None
        if (start and (day is None or day < start)) or (end and (day is None or day > end)):
            continue
        out.append(e)
    return out


def marked(events: list[dict], marks: dict[str, dict]) -> list[dict]:
    """Events the attorney marked, in time order, each with its mark and note (for the memo)."""
    by_key = {key(e): e for e in events}
    out = []
    for k, m in marks.items():
        if k.startswith("chronology:"):          # a mark on a chronology entry (memo/chronology.py), not on an audit row
            continue
        if m.get("mark") not in MARKS and not (m.get("note") or "").strip():
            continue
        e = by_key.get(k)
        if e is None:
            file, _, row = k.rpartition("#")
            e = {"file": file, "row": int(row), "time": None, "subject": None, "terminal": None, "findings": []}
        out.append({**e, "mark": m.get("mark") or "", "note": (m.get("note") or "").strip()})
    out.sort(key=lambda e: (e.get("time") or "", e["file"], e["row"]))
    return out
