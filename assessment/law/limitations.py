"""Date arithmetic for limitation periods, the POBR year and the six-month training rule; the
results are parts of the assessment (law/model.py)."""
from __future__ import annotations

import datetime as dt

from assessment.core.casefile import CaseFile
from assessment.law.kb import Classification, LimitationRule
from assessment.law.model import LimitationResult, Pobr, Training


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


def compute(rule: LimitationRule, classification: Classification, case: CaseFile, as_of: dt.date) -> LimitationResult:
    """One rule applied to the case's dates. Each query is a separate act: the earliest act's
    period runs first, the latest act's last."""
    d = case.dates
    years = rule.period_for(classification)
    filed = d.charges_filed
    compare = filed or as_of
    compare_label = (f"charges filed {filed.isoformat()}" if filed
                     else f"the assessment date {as_of.isoformat()} (no charges filed)")
    starts = {"commission": "commission", "discovery": "discovery",
              "later_of_discovery_or_completion": "discovery or completion, whichever is later"}[rule.starts]
    period = f"{years} year{'s' if years != 1 else ''} from {starts}" + (
        f", at most {rule.cap_years} years from commission" if rule.cap_years else "")
    res = LimitationResult(rule=rule.id, status="unknown", period=period, authority=rule.authority, text=rule.text,
                           compared_with=compare_label, verified=rule.verified)
    first, last = d.first_query, d.last_query or d.first_query
    if rule.committed_on_or_after and last and last < rule.committed_on_or_after:
        res.status = "not-applicable"
        res.explanation = (f"{rule.authority} applies to offenses on or after {rule.committed_on_or_after.isoformat()} "
                           "(or not yet barred then); the queries are earlier.")
        return res
    if years is None:       # the engine computes only a rule that applies, which has a period for the classification
        raise ValueError(f"limitation rule {rule.id} gives no period for a {classification}")
    if rule.starts == "commission":
        if not first or not last:       # last is the first query when no last is given
            res.explanation = "The date of the first query is unknown, so the period cannot be computed."
            return res
        res.basis = ["fact:dates.first_query"] + (["fact:dates.last_query"] if d.last_query else [])
        early, late = add_years(first, years), add_years(last, years)
        res.start_date = first.isoformat()
    else:
        if not d.agency_discovered:
            res.explanation = ("The date of discovery is unknown, so the period cannot be computed "
                               "(constructive discovery may be earlier than actual discovery).")
            return res
        res.basis = ["fact:dates.agency_discovered"]
        early = late = add_years(d.agency_discovered, years)
        res.start_date = d.agency_discovered.isoformat()
        if rule.starts == "later_of_discovery_or_completion" and first and last:
            early, late = max(early, add_years(first, years)), max(late, add_years(last, years))
            res.basis.append("fact:dates.first_query")
        if rule.cap_years and first and last:
            early = min(early, add_years(first, rule.cap_years))
            late = min(late, add_years(last, rule.cap_years))
            res.basis.append("fact:dates.first_query")
    res.basis.append("fact:dates.charges_filed" if filed else "as_of")
    res.deadline_earliest_act, res.deadline_latest_act = early.isoformat(), late.isoformat()
    if compare > late:
        res.status = "expired"
        res.explanation = f"The period ran on {late.isoformat()} even for the latest act, before {compare_label}."
    elif compare > early:
        res.status = "partly-expired"
        res.explanation = (f"The period for the earliest act ran on {early.isoformat()}, before {compare_label}; "
                           f"for the latest act it runs until {late.isoformat()}.")
    else:
        res.status = "running"
        res.explanation = f"The period runs until {early.isoformat()} for the earliest act; {compare_label} is within it."
    return res


def governing(results: list[LimitationResult]) -> LimitationResult | None:
    """§ 803.6(a): where more than one period applies, the one that expires last governs."""
    usable = [r for r in results if r.status not in {"not-applicable"}]
    if not usable:
        return None
    if any(r.status == "unknown" for r in usable):
        return next(r for r in usable if r.status == "unknown")
    return max(usable, key=lambda r: (r.deadline_latest_act, r.deadline_earliest_act))


def pobr(case: CaseFile, as_of: dt.date) -> Pobr:
    """The one-year POBR limit (Gov. Code § 3304(d)) as far as the case dates decide it."""
    d = case.dates
    tolled = bool(d.charges_filed) or any(a.status == "charged" for a in case.allegations)
    if not d.agency_discovered:
        return Pobr(tolled=tolled, expired=False, deadline=None,
                    explanation="The date the agency discovered the queries is unknown.")
    deadline = add_years(d.agency_discovered, 1)
    end = d.discipline_notice or as_of
    return Pobr(tolled=tolled, expired=end > deadline, deadline=deadline.isoformat(),
                explanation=(f"One year from discovery ({d.agency_discovered.isoformat()}) ends {deadline.isoformat()}; "
                             + (f"the discipline notice is dated {d.discipline_notice.isoformat()}"
                                if d.discipline_notice else f"no discipline notice as of {as_of.isoformat()}")
                             + (". A criminal investigation or prosecution tolls the year while pending." if tolled
                                else ".")))


def training(case: CaseFile) -> Training:
    """Whether CLETS training is missing, or came more than six months after assignment (or hire)."""
    c = case.client
    missing = c.clets_training_date is None and case.facts.training_on_record != "yes"
    start = c.assignment_date or c.hire_date
    late = bool(c.clets_training_date and start and c.clets_training_date > add_months(start, 6))
    return Training(missing=missing, late=late)
