"""The brief answer: one paragraph and five points that answer the question presented, built from
the assessment alone (the memo opens with it, and so does the Assessment page).

Each point says what it rests on, and how it was chosen is fixed and written here:
- exposure: the most serious charged count (felony > wobbler > misdemeanor > infraction, then the
  engine's order); where nothing is charged, the most serious count the case file names whose period
  has not run (a barred one only where every one is barred); where the case file names none, the
  most serious statute the engine suggests, said as such;
- limitation: where the period stands on each count in the case file;
- defenses: the two the engine ranks first (strongest), each with the factor that decides it;
- collateral risk: the first of COLLATERAL_ORDER that the assessment raises (loss of the POST
  certificate and of eligibility to serve, then the pension, the job, firearms, the Brady list): the
  loss that lasts longest and costs most comes first, whatever its likelihood;
- open questions: the three that matter most, in the order `top_questions` gives: contradictory dates,
  the § 805(a) question of a contested period, then the investigation priorities whose answer changes
  a conclusion (law/priorities.py ranks them by what the answer changes), then the rest."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from assessment.core.casefile import CaseFile
from assessment.core.text import first_sentence, plural, sentence, unend
from assessment.law.model import Assessment, Defense, Reading, Statute
from assessment.memo.words import Words, short_source

SEVERITY = {"felony": 4, "wobbler": 3, "misdemeanor": 2, "infraction": 1}
SOURCE_ORDER = ("charged", "alleged", "possible")
COLLATERAL_ORDER = ("wobbler-reduction-peace-officer", "post-decertification", "pension-forfeiture", "discipline",
                    "firearm-felony", "firearm-protective-order", "brady-impeachment", "clets-access", "dppa")
STATUS_WORDS = {"expired": "barred", "partly-expired": "barred for some acts", "running": "within the period",
                "contested": "contested", "unknown": "unknown", "not-applicable": "no criminal period"}


@dataclass
class Point:
    label: str
    text: str
    source: str = ""


@dataclass
class Brief:
    answer: str
    points: list[Point] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)


def _opening(client: str, counts: list[Statute]) -> str:
    """Who faces what, by the status of the counts: charged, alleged, or only possible."""
    def listed(items: list[Statute]) -> str:
        return ", ".join(f"{s.citation}" + (f" ({plural(s.counts or 1, 'count')})" if (s.counts or 1) > 1 else "")
                         for s in items)
    charged = [s for s in counts if s.source == "charged"]
    alleged = [s for s in counts if s.source == "alleged"]
    possible = [s for s in counts if s.source == "possible"]
    if charged:
        n = sum(s.counts or 1 for s in charged)
        text = f"{client} is charged with {plural(n, 'count')}: {listed(charged)}."
    elif alleged:
        text = (f"No charge has been filed against {client}. The allegation{' is' if len(alleged) == 1 else 's are'} "
                f"{listed(alleged)}.")
    elif possible:
        text = f"No charge has been filed or alleged against {client}; the case file names {listed(possible)} as possible."
    else:
        return f"No count is named in the case file for {client}."
    if charged and alleged:
        text += f" Also alleged: {listed(alleged)}."
    if (charged or alleged) and possible:
        text += f" Possible: {listed(possible)}."
    return text


NOUNS = {"civil": "a civil claim", "administrative": "an administrative matter"}


def article(word: str) -> str:
    return NOUNS.get(word) or ("an " if word[:1].lower() in "aeiou" else "a ") + word


def case_counts(result: Assessment) -> list[Statute]:
    """The counts the case file names (charged, alleged or possible), charged first."""
    return sorted((s for s in result.statutes if s.source in SOURCE_ORDER), key=lambda s: SOURCE_ORDER.index(s.source))


def most_serious(result: Assessment) -> Statute | None:
    named = case_counts(result)
    pool = named or [s for s in result.statutes if s.classification in SEVERITY]
    if not pool:
        return None
    charged = [s for s in pool if s.source == "charged"]
    pool = charged or pool
    order = {id(s): i for i, s in enumerate(pool)}
    return min(pool, key=lambda s: (s.limitation is not None and s.limitation.status == "expired",
                                    -SEVERITY.get(s.classification or "", 0), order[id(s)]))


def _counts(s: Statute) -> str:
    n = s.counts or 1
    return f"{plural(n, 'count')} {s.source}" if s.source != "suggested" else "suggested by the engine, not charged"


def exposure_text(s: Statute) -> str:
    exposure = unend(s.max_exposure or "exposure not stated")
    return f"{s.citation} ({_counts(s)}; {s.title}): {exposure[:1].lower() + exposure[1:]}."


def limitation_line(s: Statute) -> str:
    """Where the period stands for one count, in a line."""
    lim = s.limitation
    if lim is None:
        return f"{s.citation}: no limitation period is stored for this tier"
    filed = s.source == "charged" and (lim.compared_with or "").startswith("charges filed")
    if lim.status == "running":
        return (f"{s.citation}: filed in time under {lim.authority} ({lim.period})" if filed else
                f"{s.citation}: still open; charges must be filed by {lim.deadline_earliest_act} for the earliest act "
                f"and {lim.deadline_latest_act} for the latest ({lim.period}, {lim.authority})")
    if lim.status == "expired":
        return (f"{s.citation}: barred for every act; the period ran out on {lim.deadline_latest_act} "
                f"({lim.period}, {lim.authority})")
    if lim.status == "partly-expired":
        return (f"{s.citation}: barred for the earliest acts (the period for the earliest ran out on "
                f"{lim.deadline_earliest_act}); the latest act is still within it ({lim.authority})")
    if lim.status == "contested":
        return f"{s.citation}: contested under Pen. Code § 805(a): " + "; ".join(_reading(r, i == 0)
                                                                              for i, r in enumerate(lim.readings or []))
    if lim.status == "unknown":
        return f"{s.citation}: cannot be computed yet ({unend(lim.explanation.split('. ')[0])})"
    return f"{s.citation}: {STATUS_WORDS.get(lim.status, lim.status)}"


def _reading(r: Reading, shown: bool) -> str:
    tier = "on the tier the facts show" if shown else "if it is punishable"
    cls = f"as {article(r.classification)}"
    if r.status == "expired":
        return f"barred {tier} ({r.classification}; the period ran out on {r.deadline_latest_act})" if shown \
            else f"barred {tier} {cls}"
    if r.status == "running":
        return (f"open {tier} ({r.classification}) until {r.deadline_latest_act} for the latest act" if shown
                else f"open until {r.deadline_latest_act} for the latest act {tier} {cls}")
    return f"{r.status.replace('-', ' ')} {tier} {cls}"


def limitation_short(s: Statute) -> str:
    """Where the period stands, in a few words for a table cell."""
    lim = s.limitation
    if lim is None:
        return "none stored"
    filed = s.source == "charged" and (lim.compared_with or "").startswith("charges filed")
    if lim.status == "running":
        return "filed in time" if filed else f"open; the earliest act until {lim.deadline_earliest_act}"
    if lim.status == "expired":
        return f"barred since {lim.deadline_latest_act}"
    if lim.status == "partly-expired":
        return f"barred for acts before {lim.deadline_earliest_act}; the latest act open"
    if lim.status == "contested":
        parts = [f"{'barred' if r.status == 'expired' else r.status.replace('-', ' ')} as {r.classification}"
                 for r in lim.readings or []]
        return "contested (§ 805(a)): " + ", ".join(parts)
    return STATUS_WORDS.get(lim.status, lim.status)


def deciding_reason(d: Defense) -> str:
    """The factor that decides a defense's strength: the first reason for it (the engine lists the
    strongest first), else the first against it."""
    if d.override:
        return f"the attorney's judgment (the engine gives {d.override.engine.replace('-', ' ')}): {unend(d.override.reason)}"
    if d.reasons_for:
        return unend(first_sentence(d.reasons_for[0].reason))
    if d.reasons_against:
        return "against it: " + unend(first_sentence(d.reasons_against[0].reason))
    return unend(first_sentence(d.summary))


TIMING = re.compile(r"§§? ?80[0-9]|\blimitation period")          # the criminal periods (not the POBR year)
DATE_QUESTIONS = ("When did the agency (a person authorized to investigate) discover", "When was the first query")


def timing_matters(result: Assessment) -> bool:
    """Whether questions of timing and tolling can change an answer: some count in the case file is
    not plainly within its period (or none is named, so nothing is yet measured)."""
    counts = case_counts(result)
    return not counts or any(s.limitation is None or s.limitation.status != "running" for s in counts)


def is_timing(question: str) -> bool:
    return bool(TIMING.search(question)) and "POBR" not in question and "3304" not in question


def about_suggested(question: str, result: Assessment) -> bool:
    """Whether the question is about a statute the engine only suggests (its place is Appendix A)."""
    return any(question.startswith(s.citation + ":") or f"is {s.citation} " in question
               for s in result.statutes if s.source == "suggested")


def top_questions(result: Assessment, n: int = 3) -> list[str]:
    """The `n` open questions that matter most, by the order in this module's docstring: dates that
    contradict; what decides a contested or unknown limitation on a count in the case file; the
    first question of each of the two leading defenses; the facts still unknown; the leading
    defenses' other questions; the other questions on the counts; then questions of timing and tolling, which matter
    only where a count's period is not plainly running."""
    counts = case_counts(result)
    lead = [d for d in result.defenses if d.strength != "not-supported"][:2]
    unsettled = timing_matters(result)
    deciding: list[str] = []
    for s in counts:
        if s.limitation and s.limitation.status in ("contested", "unknown"):
            if s.limitation.status == "unknown":               # the missing date first: nothing is computed without it
                deciding += [q for q in result.open_questions if q.startswith(DATE_QUESTIONS)]
            if s.limitation.question:
                deciding.append(s.limitation.question)
    firsts = [d.open_questions[0] for d in lead if d.open_questions]
    rest_of_lead = [q for d in lead for q in d.open_questions[1:]]
    cited = [s.citation for s in result.statutes]
    facts = [q for q in result.open_questions if not any(q.startswith(c + ":") or f"is {c} " in q for c in cited)]
    on_counts = [q for s in counts for q in s.open_questions]
    ranked = [p.question for p in result.investigation_priorities if p.changes]    # by what the answer changes
    ordered = ([q for q in result.open_questions if q.startswith("The case dates contradict")] + deciding + ranked
               + [q for q in firsts + facts + rest_of_lead + on_counts if not is_timing(q)]
               + ([q for q in rest_of_lead + facts + on_counts if is_timing(q)] if unsettled else []))
    paragraphs = {m for s in counts for m in re.findall(r"\([a-z]\)\(\d+\)", s.citation)}
    def elsewhere(q: str) -> bool:                   # names only paragraphs the case does not charge
        named = set(re.findall(r"\([a-z]\)\(\d+\)", q))
        return bool(named) and bool(paragraphs) and not named & paragraphs
    out: list[str] = []
    for q in [q for q in ordered if not elsewhere(q)] + [q for q in ordered if elsewhere(q)]:
        if "?" in q and "Analysis:" not in q and q not in out:        # a question, not a statement
            out.append(q)
    return out[:n]


def largest_collateral(result: Assessment) -> tuple[str, str, str] | None:
    """(family title, the consequence's one-line title, its short source) of the first consequence in COLLATERAL_ORDER
    that the assessment raises; None when it raises none."""
    raised = {c.id: (fam.title, c) for fam in result.collateral for c in fam.consequences}
    for cid in COLLATERAL_ORDER:
        if cid in raised:
            title, c = raised[cid]
            return title, c.title, short_source(c.source) + ("" if c.verified else "; UNVERIFIED")
    return None


def brief(result: Assessment, case: CaseFile | None = None) -> Brief:
    """The brief answer for this assessment (with the attorney's overrides already applied by the
    caller); with the case file, its sources give the dates and facts they rest on."""
    words = Words(result, case)
    counts = case_counts(result)
    top = most_serious(result)
    client = result.client.name
    opening = _opening(client, counts)
    points: list[Point] = []
    if top:
        cls = article(top.classification or "count of unstated class")
        serious = (f"{top.citation} is {cls}." if len(counts) == 1 else
                   ("The most serious is " if counts else "The most serious statute the facts suggest is ")
                   + f"{top.citation}, {cls}.")
        graver = [s for s in counts if s is not top and SEVERITY.get(s.classification or "", 0)
                  > SEVERITY.get(top.classification or "", 0)]
        if graver:
            serious += (" (" + ", ".join(f"{s.citation} is {article(s.classification or '')} but only {s.source}"
                                         for s in graver) + ".)")
        unverified = top.classification_basis is not None and not top.classification_basis.verified
        points.append(Point("Most serious exposure", exposure_text(top) + (
            " Unverified: check the penalty in the box at the end before advising on it." if unverified else ""),
            f"Knowledge base: {top.citation}" + ("; UNVERIFIED" if unverified else "")))
    else:
        serious = "The facts suggest no statute the knowledge base holds."
    lim_lines = [limitation_line(s) for s in counts]
    if lim_lines:
        points.append(Point("Limitation", "; ".join(lim_lines) + ".",
                            words(sorted({b for s in counts if s.limitation for b in s.limitation.basis}))))
    lead = [d for d in result.defenses if d.strength != "not-supported"][:2]
    if lead:
        text = " ".join(f"{d.name} ({d.strength.replace('-', ' ')}): {sentence(deciding_reason(d))}" for d in lead)
        deciding = [(d.reasons_for or d.reasons_against)[0] for d in lead if d.reasons_for or d.reasons_against]
        points.append(Point("Strongest defenses", text, words([b for r in deciding for b in r.basis])))
    else:
        points.append(Point("Strongest defenses", "No defense is supported by the facts entered so far.", ""))
    risk = largest_collateral(result)
    if risk:
        title, text, source = risk
        flag = " Unverified: check it in the box at the end before advising on it." if source.endswith("UNVERIFIED") else ""
        points.append(Point("Largest collateral risk", f"{title}: {sentence(text)}{flag}", source))
    questions = top_questions(result)
    answer = f"{opening} {serious}"
    if lead:
        answer += (f" The strongest point for the defense on these facts: {lead[0].name} "
                   f"({lead[0].strength.replace('-', ' ')}).")
    else:
        answer += " No defense is supported yet."
    barred = [s.citation for s in counts if s.limitation and s.limitation.status == "expired"]
    contested = [s.citation for s in counts if s.limitation and s.limitation.status == "contested"]
    if barred:
        answer += f" The limitation period has run on {', '.join(barred)}."
    if contested:
        answer += f" Whether the period has run on {', '.join(contested)} turns on Pen. Code § 805(a)."
    return Brief(answer=answer, points=points, questions=questions)
