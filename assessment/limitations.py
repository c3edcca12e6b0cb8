"""Date arithmetic for limitation periods, the POBR year and the six-month training rule."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from .casefile import CaseFile
from .kb import Limitation


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)


@dataclass
class LimitationResult:
    status: str  # expired | partly-expired | running | unknown
    period: str
    starts: str
    authority: str
    start_date: str | None = None
    deadline_earliest_act: str | None = None
    deadline_latest_act: str | None = None
    compared_with: str | None = None
    basis: list[str] = field(default_factory=list)
    explanation: str = ""


def compute(lim: Limitation, case: CaseFile, as_of: dt.date) -> LimitationResult:
    d = case.dates
    filed = d.charges_filed
    compare = filed or as_of
    compare_label = f"charges filed {filed.isoformat()}" if filed else f"assessment date {as_of.isoformat()} (no charges filed)"
    period = f"{lim.years} year{'s' if lim.years != 1 else ''} from {lim.starts}" + (
        f", at most {lim.cap_years} years from commission" if lim.cap_years else "")
    res = LimitationResult("unknown", period, lim.starts, lim.authority, compared_with=compare_label)
    first, last = d.first_query, d.last_query or d.first_query
    if lim.starts == "commission":
        if not first:
            res.explanation = "The date of the first query is unknown, so the period cannot be computed."
            return res
        res.basis = ["fact:dates.first_query"] + (["fact:dates.last_query"] if d.last_query else [])
        early, late = add_years(first, lim.years), add_years(last, lim.years)
        res.start_date = first.isoformat()
    else:
        if not d.agency_discovered:
            res.explanation = ("The date of discovery is unknown, so the period cannot be computed "
                               "(constructive discovery may be earlier than actual discovery).")
            return res
        res.basis = ["fact:dates.agency_discovered"]
        early = late = add_years(d.agency_discovered, lim.years)
        res.start_date = d.agency_discovered.isoformat()
        if lim.cap_years and first:
            early = min(early, add_years(first, lim.cap_years))
            late = min(late, add_years(last, lim.cap_years))
            res.basis.append("fact:dates.first_query")
    res.basis.append("fact:dates.charges_filed" if filed else "as_of")
    res.deadline_earliest_act, res.deadline_latest_act = early.isoformat(), late.isoformat()
    if compare > late:
        res.status = "expired"
        res.explanation = f"The period ran on {late.isoformat()} even for the latest act, before {compare_label}."
    elif compare > early:
        res.status = "partly-expired"
        res.explanation = (f"The period for the earliest act ran on {early.isoformat()}, before {compare_label}; "
                           f"for the latest act it runs until {late.isoformat()}. Each query is a separate act.")
    else:
        res.status = "running"
        res.explanation = f"The period runs until {early.isoformat()} for the earliest act; {compare_label} is within it."
    return res


def pobr(case: CaseFile, as_of: dt.date) -> dict:
    """The one-year POBR limit (Gov. Code § 3304(d)) as far as the case dates decide it."""
    d = case.dates
    tolled = bool(d.charges_filed) or any(a.status == "charged" for a in case.allegations)
    out = {"tolled": tolled, "expired": False, "deadline": None, "explanation": ""}
    if not d.agency_discovered:
        out["explanation"] = "The date the agency discovered the queries is unknown."
        return out
    deadline = add_years(d.agency_discovered, 1)
    out["deadline"] = deadline.isoformat()
    end = d.discipline_notice or as_of
    out["expired"] = end > deadline
    out["explanation"] = (f"One year from discovery ({d.agency_discovered.isoformat()}) ends {deadline.isoformat()}; "
                          + (f"the discipline notice is dated {d.discipline_notice.isoformat()}"
                             if d.discipline_notice else f"no discipline notice as of {as_of.isoformat()}")
                          + (". A criminal investigation or prosecution tolls the year while pending." if tolled else "."))
    return out


def training(case: CaseFile) -> dict:
    c = case.client
    missing = c.clets_training_date is None and case.facts.training_on_record != "yes"
    start = c.assignment_date or c.hire_date
    late = bool(c.clets_training_date and start and c.clets_training_date > add_months(start, 6))
    return {"missing": missing, "late": late}
