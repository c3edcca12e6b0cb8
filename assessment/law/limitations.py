"""Date arithmetic for limitation periods, the POBR year and the six-month training rule; the
results are parts of the assessment (law/model.py).

What is decided here and where its law is written:
- how long a period is and when it starts: knowledge/limitations.yaml (Pen. Code §§ 801-803.5,
  801.7 with its reach to earlier offenses in (b); 18 U.S.C. § 3282; 28 U.S.C. § 1658(a));
- when a prosecution is "commenced" and what time does not count: knowledge/timing.yaml
  (Pen. Code §§ 803(b), (d), 804; Gov. Code § 3304(d)(2));
- whom the POBR year protects: knowledge/pobr.yaml (Gov. Code §§ 3301, 3304(d)).
Dates that contradict each other (`date_conflicts`) are never guessed around: whatever rests on
them is left `unknown`, and the assessment asks about both dates.
"""
from __future__ import annotations

import datetime as dt

from assessment.core.casefile import CaseFile
from assessment.law.kb import Classification, LimitationRule, PobrRule, TimingRule
from assessment.law.model import DateConflict, LimitationResult, Pobr, PobrStatus, Training

CRIMINAL = ("felony", "wobbler", "misdemeanor", "infraction")

# The rules applied in code rather than read from a knowledge-base entry; each needs a scenario
# that names it (scenarios.coverage), like every limitation, timing and POBR entry.
RULES: dict[str, str] = {
    "pc-801-7-b": "Pen. Code § 801.7(b): the felony § 502 discovery rule also reaches offenses before 2022 whose "
                  "earlier period had not elapsed by January 1, 2022 (compute, `earlier_if_unbarred_under`).",
    "pc-805-a": "Pen. Code § 805(a): where a higher tier of the same paragraph gives a different result, both "
                "results are shown and the status is contested (engine.limitation).",
    "suggested-never-a-defense": "A statute the engine only suggests never makes or breaks a limitations defense; "
                                 "it says whether it would already be barred if charged later (engine.compute).",
    "date-conflicts": "Contradictory case dates are never guessed around: what rests on them is unknown and an "
                      "open question names both (date_conflicts).",
    "pobr-coverage": "Gov. Code § 3301: the POBR year protects the client's role or not, with the basis (pobr).",
    "training-unknown": "An unknown training date is not missing training (training).",
    "strength-by-effect": "A defense's strength follows the legal effect of its strongest factor, not a count "
                          "(engine.strength_of).",
}


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


# (earlier date, later date, what it means when the later one comes first)
_ORDER: tuple[tuple[str, str, str], ...] = (
    ("first_query", "last_query", "the last query is dated before the first"),
    ("first_query", "agency_discovered", "the agency is said to have discovered the queries before the first query"),
    ("first_query", "charges_filed", "charges are dated before the first query"),
    ("agency_discovered", "charges_filed", "charges are dated before the agency discovered the queries"),
    ("agency_discovered", "investigation_opened", "the internal investigation opened before the agency discovered the queries"),
    ("agency_discovered", "discipline_notice", "the discipline notice is dated before the agency discovered the queries"),
    ("criminal_investigation_opened", "criminal_investigation_closed",
     "the criminal investigation closed before it opened"),
    ("criminal_investigation_opened", "charges_filed", "charges are dated before the criminal investigation opened"),
)


DATE_ORDER = _ORDER     # (earlier, later, problem): the order of the case-file dates that the engine checks


def date_conflicts(case: CaseFile) -> list[DateConflict]:
    """Pairs of case-file dates that cannot both be right."""
    d = case.dates
    out = []
    for early, late, problem in _ORDER:
        a, b = getattr(d, early), getattr(d, late)
        if a and b and b < a:
            out.append(DateConflict(dates=[early, late], problem=(
                f"{problem}: dates.{early} is {a.isoformat()} and dates.{late} is {b.isoformat()}.")))
    if d.criminal_investigation_closed and not d.criminal_investigation_opened:
        out.append(DateConflict(dates=["criminal_investigation_opened", "criminal_investigation_closed"], problem=(
            f"dates.criminal_investigation_closed is {d.criminal_investigation_closed.isoformat()} but "
            "dates.criminal_investigation_opened is empty: a criminal investigation that closed must have opened.")))
    return out


def conflicting(conflicts: list[DateConflict], keys: set[str]) -> DateConflict | None:
    return next((c for c in conflicts if keys & set(c.dates)), None)


def commencement(rules: list[TimingRule], classification: Classification, code: str, case: CaseFile) -> str | None:
    """Which commencement event (Pen. Code § 804 for a California offense) the case's
    `charges_filed` date stands for, for this class and code."""
    if not case.dates.charges_filed or classification not in CRIMINAL:
        return None
    rule = next((r for r in rules if r.kind == "commencement" and classification in r.classes and code in r.codes), None)
    if rule is None:
        return None
    if classification in ("felony", "wobbler"):
        return (f"{rule.authority}: the charges-filed date ({case.dates.charges_filed.isoformat()}) is taken as the date an "
                "indictment or information was filed, the client was arraigned on the felony complaint, or a "
                "warrant issued; filing a felony complaint alone does not commence a felony prosecution.")
    return (f"{rule.authority}: the charges-filed date ({case.dates.charges_filed.isoformat()}) is taken as the date the "
            "complaint was filed.")


def _period(rule: LimitationRule, years: int) -> str:
    starts = {"commission": "commission", "discovery": "discovery",
              "later_of_discovery_or_completion": "discovery or completion, whichever is later"}[rule.starts]
    if rule.constructive_discovery:
        starts += " (or when it could reasonably have been discovered)"
    return f"{years} year{'s' if years != 1 else ''} from {starts}" + (
        f", at most {rule.cap_years} years from commission" if rule.cap_years else "")


def _reached(rule: LimitationRule, earlier: LimitationRule | None, classification: Classification,
             act: dt.date) -> bool:
    """Whether a rule that took effect on `committed_on_or_after` reaches an act: acts on or after
    that date always; earlier acts only where the rule names the period that governed them before
    and that period had not elapsed by then (Pen. Code § 801.7(b))."""
    cutoff = rule.committed_on_or_after
    if cutoff is None or act >= cutoff:
        return True
    if earlier is None or earlier.starts != "commission" or (years := earlier.period_for(classification)) is None:
        return False
    return add_years(act, years) >= cutoff


def compute(rule: LimitationRule, classification: Classification, case: CaseFile, as_of: dt.date, *,
            earlier: LimitationRule | None = None, conflicts: list[DateConflict] | None = None,
            commenced_by: str | None = None, if_charged_now: bool = False) -> LimitationResult:
    """One rule applied to the case's dates. Each query is a separate act: the earliest act's
    period runs first, the latest act's last. A civil period is compared with the assessment date
    (the case file has no date a suit was filed); a criminal one with charges_filed, read as the
    § 804 event `commenced_by` names, or, for a statute not yet charged (`if_charged_now`: one the
    engine suggests), with the assessment date, as if it were charged now."""
    d = case.dates
    years = rule.period_for(classification)
    if years is None:       # the engine computes only a rule that applies, which has a period for the classification
        raise ValueError(f"limitation rule {rule.id} gives no period for a {classification}")
    criminal = classification in CRIMINAL
    filed = d.charges_filed if criminal and not if_charged_now else None
    compare = filed or as_of
    compare_label = (f"charges filed {filed.isoformat()}" if filed
                     else f"the assessment date {as_of.isoformat()} (if charged now)" if criminal and if_charged_now
                     else f"the assessment date {as_of.isoformat()} (no charges filed)" if criminal
                     else f"the assessment date {as_of.isoformat()} (no date of a suit in the case file)")
    res = LimitationResult(rule=rule.id, status="unknown", period=_period(rule, years), authority=rule.authority,
                           text=rule.text, compared_with=compare_label, commenced_by=commenced_by if filed else None,
                           verified=rule.verified)
    first, last = d.first_query, d.last_query or d.first_query
    used = {"first_query", "last_query"} | ({"charges_filed"} if filed else set())
    if rule.starts != "commission":
        used.add("agency_discovered")
    if clash := conflicting(conflicts or [], used):
        res.explanation = f"Not computed: {clash.problem} Correct the dates first."
        res.basis = [f"fact:dates.{k}" for k in clash.dates]
        return res
    note = ""
    early_reached = True
    if rule.committed_on_or_after and last:
        if not _reached(rule, earlier, classification, last):
            res.status = "not-applicable"
            res.explanation = (f"{rule.authority} applies to offenses committed on or after "
                               f"{rule.committed_on_or_after.isoformat()}"
                               + (f", and to earlier ones whose period under {earlier.authority} had not elapsed by then"
                                  if earlier else "") + "; the queries are earlier"
                               + (" and were already barred by then." if earlier else "."))
            return res
        early_reached = _reached(rule, earlier, classification, first) if first else True
        if first and first < rule.committed_on_or_after and early_reached and earlier:
            note = (f" The queries before {rule.committed_on_or_after.isoformat()} are reached as well: their period "
                    f"under {earlier.authority} had not elapsed by then.")
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
    if not early_reached and first and earlier and (old_years := earlier.period_for(classification)):
        early = add_years(first, old_years)
        note = (f" The earliest query ({first.isoformat()}) was already barred under {earlier.authority} on "
                f"{early.isoformat()}, before {rule.authority} took effect, so {rule.authority} does not reach it.")
    res.basis.append("fact:dates.charges_filed" if filed else "as_of")
    res.deadline_earliest_act, res.deadline_latest_act = early.isoformat(), late.isoformat()
    if compare > late:
        res.status = "expired"
        res.explanation = f"The period ran out on {late.isoformat()} even for the latest act, before {compare_label}."
    elif compare > early:
        res.status = "partly-expired"
        res.explanation = (f"The period for the earliest act ran out on {early.isoformat()}, before {compare_label}; "
                           f"for the latest act it runs until {late.isoformat()}.")
    else:
        res.status = "running"
        res.explanation = (f"The period runs until {early.isoformat()} for the earliest act, and the date it is measured "
                           f"against ({compare_label}) falls within it.")
    res.explanation += note
    if rule.constructive_discovery and rule.starts == "discovery" and first and last and res.status == "running":
        soon = add_years(last, years)
        if compare > soon:
            res.explanation += (f" If the queries could reasonably have been discovered when they were made (for "
                                f"example by a routine audit), the period ran from then and ended on {soon.isoformat()} "
                                "for the latest act: when the agency could have found them is a question of fact.")
    return res


def governing(results: list[LimitationResult]) -> LimitationResult | None:
    """§ 803.6(a): where more than one period applies, the one that expires last governs."""
    usable = [r for r in results if r.status not in {"not-applicable"}]
    if not usable:
        return None
    if any(r.status == "unknown" for r in usable):
        return next(r for r in usable if r.status == "unknown")
    return max(usable, key=lambda r: (r.deadline_latest_act, r.deadline_earliest_act))


def pobr(case: CaseFile, rule: PobrRule | None, tolling: list[TimingRule], as_of: dt.date,
         conflicts: list[DateConflict]) -> Pobr:
    """The one-year POBR limit (Gov. Code § 3304(d)) as far as the case's dates and the client's
    role decide it, tolled while a criminal investigation or prosecution is pending (§ 3304(d)(2)(A))."""
    d = case.dates
    role = case.client.role
    cov = rule.coverage.get(role) if rule else None
    covered = cov.covered if cov else "depends"
    out = Pobr(covered=covered, coverage_basis=cov.basis if cov else "The knowledge base states no POBR coverage.",
               status="unknown", tolled=False, expired=False, deadline=None, untolled_deadline=None, tolled_from=None,
               tolled_until=None, basis=["fact:client.role", "kb:pobr"], explanation="")
    toll_rule = next((t for t in tolling if t.applies == "pobr" and t.dates), None)
    if covered == "no":
        out.status = "not-applicable"
        out.explanation = f"The POBR year does not protect the client. {out.coverage_basis}"
        return out
    if clash := conflicting(conflicts, {"agency_discovered", "discipline_notice", "criminal_investigation_opened",
                                        "criminal_investigation_closed", "charges_filed"}):
        out.explanation = f"Not computed: {clash.problem} Correct the dates first."
        out.basis += [f"fact:dates.{k}" for k in clash.dates]
        return out
    if not d.agency_discovered or rule is None:
        out.explanation = "The date the agency discovered the queries is unknown, so the POBR year cannot be computed."
        out.basis.append("fact:dates.agency_discovered")
        return out
    untolled = add_years(d.agency_discovered, rule.years)
    end = d.discipline_notice or as_of
    end_label = (f"the discipline notice is dated {d.discipline_notice.isoformat()}" if d.discipline_notice
                 else f"no discipline notice as of {as_of.isoformat()}")
    out.untolled_deadline = untolled.isoformat()
    out.basis += ["fact:dates.agency_discovered", "fact:dates.discipline_notice" if d.discipline_notice else "as_of"]
    text = f"One year from discovery ({d.agency_discovered.isoformat()}) ends {untolled.isoformat()}"
    authority = toll_rule.authority if toll_rule else "Gov. Code § 3304(d)(2)(A)"
    opened, closed = d.criminal_investigation_opened, d.criminal_investigation_closed
    criminal_case = bool(d.charges_filed) or any(a.status == "charged" for a in case.allegations)
    start: dt.date | None = None
    if opened:
        start = max(opened, d.agency_discovered)
        out.basis.append("fact:dates.criminal_investigation_opened")
        source = f"the criminal investigation opened {opened.isoformat()}"
        if closed and closed <= d.agency_discovered:      # it ended before the year began: nothing to toll
            out.basis.append("fact:dates.criminal_investigation_closed")
            start, source = None, (f"the criminal investigation ({opened.isoformat()} to {closed.isoformat()}) ended "
                                   f"before the discovery, so it tolls nothing ({authority} tolls only while one is "
                                   "pending)")
    elif d.charges_filed and d.charges_filed <= untolled:
        # the prosecution was pending from the charges at the latest; the investigation may have begun earlier
        start = max(d.charges_filed, d.agency_discovered)
        out.basis.append("fact:dates.charges_filed")
        source = (f"a prosecution has been pending since the charges ({d.charges_filed.isoformat()}; the criminal "
                  "investigation's opening date is unknown and may be earlier)")
    if start is not None and start <= untolled:
        out.tolled, out.tolled_from = True, start.isoformat()
        since = "" if start == (opened or d.charges_filed) else f" (counted from the discovery, {start.isoformat()})"
        if closed:
            out.tolled_until = closed.isoformat()
            out.basis.append("fact:dates.criminal_investigation_closed")
            deadline = untolled + (closed - start)
            out.deadline = deadline.isoformat()
            out.expired = end > deadline
            out.status = _pobr_status(out.expired, d.discipline_notice)
            out.explanation = (f"{text}; {source}, and it closed {closed.isoformat()}: the "
                               f"{(closed - start).days} days it was pending{since} do not count ({authority}), so the "
                               f"year ends {deadline.isoformat()}; {end_label}.")
        else:
            out.status = "timely" if d.discipline_notice else "tolled"
            out.explanation = (f"{text}; {source}, and no date it closed is recorded: the year is tolled while it is "
                               f"pending ({authority}), so it has not run; {end_label}.")
        return out
    out.deadline = untolled.isoformat()
    expired = end > untolled
    if start is not None or (opened and closed and closed <= d.agency_discovered):
        # the criminal matter began after the year had run, or ended before it began: nothing to toll
        out.expired, out.status = expired, _pobr_status(expired, d.discipline_notice)
        out.explanation = (f"{text}; {source}" + (", after the year had run, so it tolls nothing" if start else "")
                           + f"; {end_label}.")
        return out
    if expired and criminal_case:
        out.explanation = (f"{text}; {end_label}. The misconduct is charged, so a criminal investigation was pending "
                           f"at some time and tolled the year while it was ({authority}), but when it opened "
                           "(dates.criminal_investigation_opened) is unknown: whether the year has run cannot be "
                           "decided until it is known.")
        out.basis += ["fact:allegations"] + (["fact:dates.charges_filed"] if d.charges_filed else [])
        return out
    out.expired, out.status = expired, _pobr_status(expired, d.discipline_notice)
    out.explanation = (f"{text}; {end_label}. No criminal investigation is recorded (dates.criminal_investigation_opened "
                       f"is empty); if one was pending, it tolled the year while it was ({authority}).")
    return out


def _pobr_status(expired: bool, notice: dt.date | None) -> PobrStatus:
    return "expired" if expired else "timely" if notice else "running"


def training(case: CaseFile) -> Training:
    """Whether CLETS training is missing (the case says there was none), unknown (no date and no
    answer), or came more than six months after assignment (or hire). An unknown training date is
    not missing training."""
    c = case.client
    on_record = case.facts.training_on_record
    missing = c.clets_training_date is None and on_record == "no"
    unknown = c.clets_training_date is None and on_record == "unknown"
    start = c.assignment_date or c.hire_date
    late = bool(c.clets_training_date and start and c.clets_training_date > add_months(start, 6))
    return Training(missing=missing, unknown=unknown, late=late)
