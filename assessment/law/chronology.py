"""The case chronology (`chronology` of clets-assessment/1): one list of everything dated in a case.

- facts: the client's hire, assignment and CLETS training, and the first and last query the case
  file names (basis `fact:client.<key>`, `fact:dates.<key>`);
- findings: the client's subject queries from the audit log, one entry per subject, audit file and
  day, with the rows (basis `finding:subject-queries` and every other finding those rows are in);
- investigation: the agency's discovery, the internal investigation, the criminal investigation
  opened and closed;
- filing: the discipline notice and the charges;
- deadline: every deadline the engine computed: for each statute, the limitation period for the
  earliest and the latest act (under each reading where Pen. Code § 805(a) is contested); the POBR
  year, tolled where the dates show a criminal matter pending, with the untolled date beside it;
  and the six months from assignment (or hire) within which CLETS training is due.

Nothing here decides law: every date is one the case file states, the audit log shows or the
engine computed (limitations.py); the rule named for a deadline is the one the engine applied.
Sorted by date, then kind (the order of `model.EventKind`), then text: the same assessment gives
the same chronology.
"""
from __future__ import annotations

import datetime as dt
from typing import get_args

from assessment.core.casefile import CaseFile
from assessment.evidence.model import FINDINGS, SUBJECT_QUERIES, EvidenceResult
from assessment.law import model
from assessment.law.limitations import add_months

KIND_ORDER = {k: i for i, k in enumerate(get_args(model.EventKind))}
MAX_TIMES = 6            # query times listed in one entry's text

# (key, kind, what) of the case-file dates
CLIENT_DATES = (
    ("hire_date", "fact", "The client is hired"),
    ("assignment_date", "fact", "The client is assigned to the position"),
    ("clets_training_date", "fact", "The client's CLETS training"),
)
CASE_DATES = (
    ("first_query", "fact", "First query in question (case file)"),
    ("last_query", "fact", "Last query in question (case file)"),
    ("agency_discovered", "investigation", "The agency discovers the queries"),
    ("investigation_opened", "investigation", "Internal (administrative) investigation opens"),
    ("criminal_investigation_opened", "investigation", "Criminal investigation opens (or referral to a prosecutor)"),
    ("criminal_investigation_closed", "investigation", "Criminal investigation closes (decision whether to prosecute)"),
    ("discipline_notice", "filing", "Notice of proposed discipline"),
    ("charges_filed", "filing", "Charges filed"),
)
# The rules the engine applies to these two deadlines (knowledge/pobr.yaml `pobr`, timing.yaml
# `gc-3304-d2a`, clets.yaml `training-six-months`); the chronology only names them.
POBR_RULE = "Gov. Code § 3304(d)(1): one year from the agency's discovery"
POBR_TOLLING = "tolled while a criminal investigation or prosecution is pending (Gov. Code § 3304(d)(2)(A))"
POBR_TOLLING_KB = "kb:gc-3304-d2a"
TRAINING_RULE = ("CLETS operators are trained within six months of employment or assignment (CLETS PPP § 1.8, as "
                 "quoted in the DOJ CLETS Operator Workbook)")
TRAINING_KB = "kb:clets.training-six-months"
UNTOLLED = "POBR year without tolling"
NOT_THE_DEADLINE = "untolled date, not the deadline"


def build(case: CaseFile, result: model.Assessment, ev: EvidenceResult | None) -> list[model.Event]:
    """Every dated event and computed deadline of the case, sorted (see the module's docstring)."""
    out = _case_dates(case) + _subject_queries(ev) + _limitations(result) + _pobr(result) + _training(case)
    for e in out:
        if e.kind == "deadline":
            e.passed = dt.date.fromisoformat(e.date) < result.as_of
            e.tolled = bool(e.tolled)
    seen, unique = set(), []
    for e in sorted(out, key=sort_key):
        k = e.id
        if k not in seen:
            seen.add(k)
            unique.append(e)
    return unique


SUGGESTED = "not charged; suggested by the facts"


def suggested(e: model.Event) -> bool:
    """The limitation deadline of a statute the engine only suggests: on the chronology (it says when that risk
    ends), but not a date anything in the matter falls due, so the docket, the calendar file and the memo's
    deadlines ahead leave it out."""
    return e.kind == "deadline" and f"({SUGGESTED})" in e.what


def charged(e: model.Event) -> bool:
    """The limitation deadline of a count already charged: the filing stopped that clock, so nothing falls due
    on the date (the entry stays on the chronology, where it shows whether the charge was timely)."""
    return e.kind == "deadline" and e.id.startswith("limitation:") and "(charged):" in e.what


def due(events: list[model.Event], on_or_after: str | None = None) -> list[model.Event]:
    """The deadlines that fall due in the matter, in date order: not an untolled date that tolling moved
    (`superseded`), a suggested statute's (`suggested`) or a charged count's (`charged`); with `on_or_after`
    (ISO), only those from that day."""
    return [e for e in events if e.kind == "deadline" and not superseded(e) and not suggested(e) and not charged(e)
            and (on_or_after is None or e.date >= on_or_after)]


def superseded(e: model.Event) -> bool:
    """An untolled POBR date that tolling has moved (or is moving): listed for comparison, but not
    a date anything falls due (the docket and the calendar file leave it out)."""
    return e.kind == "deadline" and e.what.startswith(UNTOLLED) and NOT_THE_DEADLINE in e.what


def sort_key(e: model.Event) -> tuple:
    return e.date, KIND_ORDER[e.kind], e.what, e.file or "", e.rows or []


def _case_dates(case: CaseFile) -> list[model.Event]:
    out = []
    for key, kind, what in CLIENT_DATES:
        if (day := getattr(case.client, key)) is not None:
            out.append(model.Event(id=f"client.{key}", date=day.isoformat(), kind=kind, what=what,
                                   basis=[f"fact:client.{key}"]))
    for key, kind, what in CASE_DATES:
        if (day := getattr(case.dates, key)) is not None:
            out.append(model.Event(id=f"dates.{key}", date=day.isoformat(), kind=kind, what=what,
                                   basis=[f"fact:dates.{key}"]))
    return out


def _subject_queries(ev: EvidenceResult | None) -> list[model.Event]:
    """One entry per subject, audit file and day: the times, the rows and the findings they are in."""
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for e in ev.events if ev else []:
        if e.get("subject") and e.get("time"):
            groups.setdefault((e["time"][:10], e["subject"], e["file"]), []).append(e)
    out = []
    for (day, subject, file), items in groups.items():
        items.sort(key=lambda e: (e["time"], e["row"]))
        tags = {f for e in items for f in e.get("findings", [])} | {SUBJECT_QUERIES}
        found = [f for f in FINDINGS if f in tags]
        times = [e["time"][11:16] for e in items]
        shown = ", ".join(times[:MAX_TIMES]) + (f" and {len(times) - MAX_TIMES} more" if len(times) > MAX_TIMES else "")
        others = [FINDINGS[f].label.lower() for f in found if f != SUBJECT_QUERIES]
        n = len(items)
        what = (f"{n} subject quer{'y' if n == 1 else 'ies'} on {subject} at {shown}"
                + (f" ({'; '.join(others)})" if others else ""))
        out.append(model.Event(id=f"queries:{subject}:{day}:{file}", date=day, kind="finding", what=what,
                               basis=[f"finding:{f}" for f in found],
                               file=file, rows=sorted(e["row"] for e in items)))
    return out


def _limitations(result: model.Assessment) -> list[model.Event]:
    """For each statute with a limitation: the deadline for the earliest and for the latest act,
    under each reading where § 805(a) leaves the period open. The text names the entry and not its
    status, which changes with the assessment date (marks and calendar entries are keyed on it)."""
    out = []
    for s in result.statutes:
        lim = s.limitation
        if lim is None:
            continue
        who = {"charged": "charged", "alleged": "alleged", "possible": "possible charge",
               "suggested": SUGGESTED}[s.source]
        if lim.readings:
            periods = [(f", if punishable as {r.classification}", f":{r.classification}", r.rule, r.authority,
                        r.period, r.deadline_earliest_act, r.deadline_latest_act) for r in lim.readings]
        else:
            periods = [("", "", lim.rule, lim.authority, lim.period, lim.deadline_earliest_act,
                        lim.deadline_latest_act)]
        for reading, tier, rule_id, authority, period, earliest, latest in periods:
            ident = f"limitation:{s.citation}{tier}"
            head = f"{s.citation} ({who}): limitation period ends"
            basis = [*lim.basis, f"kb:{rule_id}"]
            rule = f"{authority}: {period}"
            if earliest and earliest == latest:
                out.append(model.Event(id=f"{ident}:earliest", date=earliest, kind="deadline",
                                       what=f"{head} for every act{reading}", basis=basis, rule=rule))
                continue
            for day, which in ((earliest, "the earliest act"), (latest, "the latest act")):
                if day:
                    out.append(model.Event(id=f"{ident}:{which.split()[1]}", date=day, kind="deadline",
                                           what=f"{head} for {which}{reading}", basis=basis, rule=rule))
    return out


def _pobr(result: model.Assessment) -> list[model.Event]:
    """The POBR year: the tolled deadline and the untolled one beside it (marked as such), or the
    untolled date alone where the year is tolled without end yet, or may be tolled."""
    p = result.computed.pobr
    if p.covered == "no":
        return []
    cover = "" if p.covered == "yes" else " (if the POBR protects the client)"
    out = []
    if p.deadline and p.tolled:
        span = f"from {p.tolled_from} to {p.tolled_until}" if p.tolled_until else f"from {p.tolled_from}"
        out.append(model.Event(id="pobr:deadline", date=p.deadline, kind="deadline", basis=[*p.basis, POBR_TOLLING_KB],
                               tolled=True,
                               what=f"POBR year ends for discipline, tolled {span}{cover}",
                               rule=f"{POBR_RULE}, {POBR_TOLLING}"))
    elif p.deadline:
        out.append(model.Event(id="pobr:deadline", date=p.deadline, kind="deadline", basis=list(p.basis), tolled=False,
                               what=f"POBR year ends for discipline{cover}", rule=POBR_RULE))
    if p.untolled_deadline and p.untolled_deadline != p.deadline:
        if p.deadline:
            why = f"{NOT_THE_DEADLINE}: tolling moves it to {p.deadline}"
        elif p.tolled:
            why = (f"{NOT_THE_DEADLINE}: tolled from {p.tolled_from} while the criminal matter is "
                   "pending, so the year ends only after it closes")
        else:
            why = "untolled date; tolling may move it (when a criminal investigation opened is unknown)"
        out.append(model.Event(id="pobr:untolled", date=p.untolled_deadline, kind="deadline", basis=list(p.basis),
                               tolled=False,
                               what=f"{UNTOLLED} ({why}){cover}", rule=POBR_RULE))
    return out


def _training(case: CaseFile) -> list[model.Event]:
    """Six months from assignment (or, without an assignment date, from hire)."""
    c = case.client
    key, start = ("assignment_date", c.assignment_date) if c.assignment_date else ("hire_date", c.hire_date)
    if start is None:
        return []
    due = add_months(start, 6)
    what = f"CLETS training due (six months from {'assignment' if key == 'assignment_date' else 'hire'})"
    basis = [f"fact:client.{key}", TRAINING_KB]
    if c.clets_training_date is not None:
        what += f"; trained {c.clets_training_date.isoformat()}, " + (
            "late" if c.clets_training_date > due else "in time")
        basis.insert(1, "fact:client.clets_training_date")
    return [model.Event(id="training:due", date=due.isoformat(), kind="deadline", what=what, basis=basis,
                        rule=TRAINING_RULE)]
