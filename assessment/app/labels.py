"""What the pages show for the case file's codes: enum values as words, field names as labels,
the citations the knowledge base resolves (sorted by code and section number), and the date
checks a form runs before it keeps a date."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from assessment.core import casefile

ENUM_WORDS = {
    # roles
    "peace_officer": "peace officer", "records_staff": "records staff", "probation_officer": "probation officer",
    "custodial_officer": "custodial officer", "civilian_employee": "civilian employee",
    # stages
    "administrative": "administrative (discipline)",
    # relationships
    "ex_partner": "former partner", "coworker": "co-worker", "public_figure": "public figure",
    "case_subject": "subject of an official case", "unknown": "unknown",
    # protective orders
    "none": "none", "protects_subject": "protects the subject (restrains the client)",
    "protects_client": "protects the client (restrains the subject)",
    # allegation status
    "charged": "charged (complaint filed)", "alleged": "alleged (notice or report)",
    "possible": "possible (the facts could support it)",
}

FIELD_WORDS = {"ori": "ORI", "dob": "date of birth", "license_number": "licence number",
               "operator_ids": "operator ids", "terminal_ids": "terminal ids", "clets_training_date": "CLETS training date"}

DATE_WORDS = {
    "first_query": "First query at issue", "last_query": "Last query at issue",
    "agency_discovered": "Agency discovered the queries", "investigation_opened": "Internal investigation opened",
    "criminal_investigation_opened": "Criminal investigation opened (or referral to a prosecutor)",
    "criminal_investigation_closed": "Prosecutor's final decision (or the criminal case ended)",
    "discipline_notice": "Notice of proposed discipline", "charges_filed": "Charges filed",
}
DATE_HELP = {
    "investigation_opened": "The agency's internal (administrative) investigation.",
    "discipline_notice": "The date the client was served notice of the proposed discipline.",
    "charges_filed": "The date the complaint (or indictment) was filed.",
}

ENTITY_WORDS = {"STATUTE": "statute", "DATE": "date", "PERSON": "person", "CASE_NUMBER": "case number",
                "PLATE": "plate", "MONEY": "money", "OPERATOR_ID": "operator id", "TERMINAL": "terminal", "ORI": "ORI",
                "CASE_CITE": "case"}

FORMAT_CODES = {"%Y": "YYYY", "%y": "YY", "%m": "MM", "%d": "DD", "%b": "Mon", "%H": "hh", "%I": "hh",
                "%M": "mm", "%S": "ss", "%f": "fraction", "%p": "AM/PM", "%z": "+hhmm", "%%": "%"}
SAMPLE_MOMENT = dt.datetime(2025, 3, 9, 14, 5, 30, 250000, tzinfo=dt.timezone(dt.timedelta(hours=-8)))
MEANING_WORDS = {"mke": "message key (MKE)", "oln": "licence number", "dob": "date of birth", "ori": "ORI",
                 "case_number": "case number", "vin": "VIN"}


def date_format(code: str) -> str:
    """A strftime code as a pattern and an example: '%m/%d/%Y %I:%M %p' ->
    'MM/DD/YYYY hh:mm AM/PM, e.g. 03/09/2025 02:05 PM (12-hour clock)'."""
    pattern = re.sub(r"%.", lambda m: FORMAT_CODES.get(m.group(0), m.group(0)), code)
    note = " (12-hour clock)" if "%I" in code else (" (24-hour clock)" if "%H" in code else "")
    return f"{pattern}, e.g. {SAMPLE_MOMENT.strftime(code)}{note}"


def meaning(name: str) -> str:
    """A mapped column's meaning in words ('oln' -> 'licence number')."""
    return MEANING_WORDS.get(name, name.replace("_", " "))


CODE_ORDER = {"PC": 0, "VC": 1, "GC": 2, "18 USC": 3}


def enum(value: str | None) -> str:
    """An enum value of the case file as words ('peace_officer' -> 'peace officer')."""
    if value is None:
        return ""
    return ENUM_WORDS.get(value, str(value).replace("_", " "))


def field(name: str) -> str:
    return FIELD_WORDS.get(name, DATE_WORDS.get(name, name.replace("_", " ")))


def date_label(name: str) -> str:
    return DATE_WORDS.get(name, name.replace("_", " ").capitalize())


def date_help(name: str) -> str | None:
    return DATE_HELP.get(name)


def section_key(code: str, section: str) -> tuple:
    """Sort key: code in the knowledge base's order, then the section as the codes number them, a
    decimal (PC 92 before PC 484 before PC 490 before PC 490.2 before PC 502; VC 1808.45 before
    1808.5; GC 6250 before GC 7920.000), then any letter after it (PC 538d)."""
    m = re.match(r"(\d+)(?:\.(\d+))?(.*)", section)
    if not m:
        return (CODE_ORDER.get(code, 9), code, Decimal(10) ** 9, section)
    number = Decimal(m.group(1) + ("." + m.group(2) if m.group(2) else ""))
    return (CODE_ORDER.get(code, 9), code, number, m.group(3))


def _subdivision_key(sub: str) -> tuple:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.findall(r"\(([^)]*)\)", sub))


def citation_options(kb) -> list[str]:
    """Every citation the knowledge base resolves, sorted by code and section number: each section
    (and each section it also covers), then its subdivisions in order."""
    entries = []
    for s in kb.statutes.values():
        entries.append((section_key(s.code, s.section), (), s.citation))
        entries += [(section_key(s.code, s.section), _subdivision_key(sub.id), f"{s.citation}{sub.id}")
                    for sub in s.subdivisions]
        entries += [(section_key(s.code, sec), (), f"{s.code} {sec}") for sec in s.also_resolves]
    ordered = [c for _, _, c in sorted(entries, key=lambda e: (e[0], e[1]))]
    return [c for c in dict.fromkeys(ordered) if not kb.resolve(c).problem]


def citation_titles(kb) -> dict[str, str]:
    """Each offered citation's title as the knowledge base gives it (a subdivision: its summary)."""
    out = {}
    for c in citation_options(kb):
        r = kb.resolve(c)
        out[c] = r.subdivision.summary if r.subdivision is not None else r.statute.title
    return out


def _value(case_dates: casefile.Dates, client: casefile.Client, key: str) -> dt.date | None:
    section, _, name = key.partition(".")
    source = case_dates if section == "dates" else client if section == "client" else None
    return getattr(source, name, None) if source is not None else None


def date_order_problems(kb, case_dates: casefile.Dates, client: casefile.Client) -> list[str]:
    """Dates that contradict the order the knowledge base gives them (knowledge/facts.yaml `after`
    and `before`): 'the last query is before the first'. Shown as a warning; the dates are kept as
    entered, since the attorney may be recording what a document says."""
    out = []
    for q in kb.facts.values():
        mine = _value(case_dates, client, q.key)
        if mine is None:
            continue
        for other in q.after:
            theirs = _value(case_dates, client, other)
            if theirs is not None and mine < theirs:
                out.append(f"{q.label} ({mine.isoformat()}) is before {_label(kb, other).lower()} "
                           f"({theirs.isoformat()}).")
        for other in q.before:
            theirs = _value(case_dates, client, other)
            if theirs is not None and mine > theirs:
                out.append(f"{q.label} ({mine.isoformat()}) is after {_label(kb, other).lower()} "
                           f"({theirs.isoformat()}).")
    return out


def _label(kb, key: str) -> str:
    if key in kb.facts:
        return kb.facts[key].label
    name = key.partition(".")[2]
    return {"hire_date": "The hire date"}.get(name, date_label(name))
