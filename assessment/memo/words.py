"""The basis of a statement in words a reader follows ("Audit log rows 80, 195", "Fact: stated
purpose", "Knowledge base: PC 502"), in place of the engine's ids (`finding:subject-queries`,
`fact:stated_purpose`, `kb:pc-502`). The memo prints these as small grey notes; the app shows them
beside each conclusion."""
from __future__ import annotations

import re
from typing import NamedTuple

from assessment.core.casefile import CaseFile
from assessment.evidence.model import FINDINGS
from assessment.law.model import Assessment

ROWS_SHOWN = 8
CLIENT = {"hire_date": "hire date", "assignment_date": "date assigned to CLETS duties",
          "clets_training_date": "CLETS training date", "role": "role", "prior_discipline": "prior discipline",
          "operator_ids": "operator ids", "terminal_ids": "assigned terminals", "agency": "agency"}
DATES = {"first_query": "first query", "last_query": "last query", "agency_discovered": "agency discovered the queries",
         "investigation_opened": "internal investigation opened",
         "criminal_investigation_opened": "criminal investigation opened",
         "criminal_investigation_closed": "criminal investigation closed",
         "discipline_notice": "discipline noticed", "charges_filed": "charges filed"}
COMPUTED = {"limitation": "limitation periods computed from the case dates",
            "pobr": "the POBR year computed from the case dates", "training": "the training dates",
            "felony": "the classification of the counts raised"}


def rows_text(rows: list[int], shown: int = ROWS_SHOWN) -> str:
    """'80, 195 and 295', or the first `shown` rows and how many more."""
    if not rows:
        return "none"
    if len(rows) <= shown:
        return ", ".join(map(str, rows[:-1])) + (" and " if len(rows) > 1 else "") + str(rows[-1])
    return ", ".join(map(str, rows[:shown])) + f" and {len(rows) - shown} more"


def label(key: str) -> str:
    return key.replace("_", " ").replace("-", " ")


CAVEAT = re.compile(r"secondary|inferred|unconfirmed|not read|not found|weak|summar|not verified|proposed", re.I)


def short_source(source: str) -> str:
    """A source as its citations only: the long parentheticals that say where it was read
    ("(official text, read 2026-12-02)") dropped; years, short ones and every caveat ("secondary",
    "inferred", "not read", "official cite not found" ...) kept. The full source stays in the
    assessment JSON and in the appendices."""
    out, depth, start, keep = [], 0, 0, []
    for i, ch in enumerate(source):
        if ch == "(":
            if depth == 0:
                start = i
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
            if depth == 0:
                keep.append((start, i + 1))
    pos = 0
    for a, b in keep:
        inner = source[a + 1:b - 1]
        keep_it = re.fullmatch(r"[\w.]+ Cir\.? \d{4}", inner) or CAVEAT.search(inner)
        if a > 0 and source[a - 1] == " " and len(inner) > 12 and not keep_it:
            out.append(source[pos:a - 1])
            pos = b
    out.append(source[pos:])
    return re.sub(r"\s{2,}", " ", "".join(out)).strip(" ;,")


def short_cite(cite: str) -> str:
    """A case as a reader names it after the first full citation: 'Lybarger (1985)' for 'Lybarger
    v. City of Los Angeles (1985) 40 Cal.3d 822', 'Christensen (2016)' for 'United States v.
    Christensen (9th Cir. 2016) ...'; anything else as it is."""
    m = re.match(r"^(.+?) v\. (.+?) \((?:[^()]*?)(\d{4})\)", cite)
    if not m:
        return cite
    first, second, year = m.groups()
    name = second if first in ("People", "United States", "State") or first.startswith("In re") else first
    if real := re.search(r"\(([A-Z][A-Za-z]+)\)", name):       # People v. Superior Court (Johnson)
        name = real.group(1)
    return f"{re.split(r'[,(]', name)[0].strip()} ({year})"


GROUPED = ("Date", "Fact", "Client", "Subjects")
KINDS = {"finding": "audit", "fact": "fact", "narrative": "narrative", "kb": "kb", "computed": "computed"}


def kind(item: str) -> str:
    """Where a basis id comes from: 'audit' (the audit log's rows), 'fact' (the case file),
    'narrative' (a sentence of the narrative), 'kb' (the knowledge base), 'computed' (from the case
    dates), or 'other' (the assessment date)."""
    head, sep, _ = item.partition(":")
    return KINDS.get(head, "other") if sep else "other"


class Source(NamedTuple):
    """One piece of a basis in words, the kind of place it comes from (`kind`) and its ids."""
    text: str
    kind: str
    ids: tuple[str, ...]


class Words:
    """Turns basis ids into words for one assessment (it knows the findings' rows and the names of
    the statutes, defenses and consequence families the assessment used)."""

    def __init__(self, result: Assessment, case: CaseFile | None = None) -> None:
        self.case = case
        self.rows = {f.id: f.rows for f in result.findings}
        self.names = {s.statute_id: s.citation.split("(")[0] for s in result.statutes}
        self.names |= {d.id: d.name for d in result.defenses}
        self.names |= {c.family: f"{c.title.lower()} consequences" for c in result.collateral}
        self.names |= {"clets": "the CLETS discovery list", "pobr": "POBR coverage by role"}

    def one(self, item: str) -> str:
        kind, _, rest = item.partition(":")
        if not rest:
            return "Assessment date" if item == "as_of" else item
        if kind == "finding":
            what = FINDINGS[rest].label.lower() if rest in FINDINGS else label(rest)
            rows = self.rows.get(rest, [])
            return (f"Audit log {'row' if len(rows) == 1 else 'rows'} {rows_text(rows)} ({what})" if rows
                    else f"Audit log: no queries found ({what})")
        if kind == "fact":
            head, _, field = rest.partition(".")
            if head == "allegations":
                return "Charges in the case file"
            if head == "client":
                return f"Client: {CLIENT.get(field, label(field))}"
            if head == "dates":
                value = getattr(self.case.dates, field, None) if self.case and field else None
                return (f"Date: {DATES.get(field, label(field))}" + (f" {value.isoformat()}" if value else "")
                        if field else "Case dates")
            if head == "subjects":
                return f"Subjects: {label(field)}" if field else "Subjects"
            value = getattr(self.case.facts, rest, None) if self.case else None
            if isinstance(value, str) and len(value) <= 20:             # a tri-state or a purpose, never the narrative
                return f"Fact: {label(rest)} ({value.replace('_', ' ')})"
            return f"Fact: {label(rest)}"
        if kind == "kb":
            head = rest.split(".")[0]
            return f"Knowledge base: {self.names.get(rest) or self.names.get(head) or label(head)}"
        if kind == "narrative":
            return f"Narrative, sentence {rest}"
        if kind == "computed":
            return f"Computed: {COMPUTED.get(rest.split('-')[0], label(rest))}"
        return item

    def __call__(self, basis: list[str] | str | None) -> str:
        """The basis as one line of words, each source once, in the order given."""
        return "; ".join(part.text for part in self.parts(basis))

    def parts(self, basis: list[str] | str | None) -> list[Source]:
        """The basis as the pieces that line joins, each with the kind of place it comes from and
        the ids behind it (the app makes each piece a link to that place); facts of one kind
        ("Dates: first query ..., last query ...") are one piece."""
        items = [basis] if isinstance(basis, str) else list(basis or [])
        out: list[str] = []
        groups: dict[str, list[str]] = {}
        bare: list[str] = []
        ids: dict[str, list[str]] = {}
        kinds: dict[str, str] = {}
        for item in items:
            item = item.strip()
            text = self.one(item) if item else ""
            head, _, rest = text.partition(": ")
            if text in GROUPED:                    # "Subjects" alone: said once, unless a group names it anyway
                bare.append(text)
                ids.setdefault(text, []).append(item)
                kinds.setdefault(text, kind(item))
                continue
            if head in GROUPED and rest:
                if head not in groups:
                    groups[head] = []
                    out.append(head)
                if rest not in groups[head]:
                    groups[head].append(rest)
                key = head
            elif text and text not in out:
                out.append(text)
                key = text
            else:
                key = text
            if text:
                ids.setdefault(key, []).append(item)
                kinds.setdefault(key, kind(item))
        out += [b for b in dict.fromkeys(bare) if b not in groups]
        return [Source(f"{x if x not in ('Date', 'Fact') or len(groups[x]) == 1 else x + 's'}: {', '.join(groups[x])}"
                       if x in groups else x, kinds[x], tuple(dict.fromkeys(ids[x]))) for x in out]
