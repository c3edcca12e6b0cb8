"""What each way out costs the client (`dispositions` of clets-assessment/1).

The outcomes, the headings and what each outcome costs under each heading are data
(knowledge/dispositions.yaml). For one outcome and one heading, the cells are tried in file order and
the first whose conditions hold is the answer; a cell that waits on a fact the case leaves unknown
makes the answer `unknown`, stated both ways ("if so ... otherwise ..."). Two headings carry the
case's own figures beside the rule: the criminal exposure of each count at the outcome's level (from
the penalty tiers the engine applied), and the DPPA's reach per subject (the audit log's subject
queries).

Whether an outcome is open at all follows from the counts' classes at the tier the facts show (an infraction
needs a count that
can be one; a § 17(b) reduction needs a wobbler; diversion and a misdemeanor plea a count that can
be a misdemeanor) and from the data (a criminal cell with status `does-not-apply`, e.g. diversion
for a charge § 1001.95 excludes). With no count in the case file the statutes the facts suggest are
used, and the matrix says so.
"""
from __future__ import annotations

import re

from assessment.core.text import unend
from assessment.evidence.model import SUBJECT_QUERIES, EvidenceResult
from assessment.law import conditions, model
from assessment.law.kb import DispositionCell, Dispositions, KnowledgeBase

_CRIMINAL = {"civil", "administrative"}
# the classes a count must be able to take for the outcome to be open, and the words for why not
_NEEDS: dict[str, tuple[set[str], str]] = {
    "diversion": ({"misdemeanor", "wobbler"}, "no count can be a misdemeanor"),
    "infraction": ({"infraction"}, "no count can be an infraction"),
    "misdemeanor": ({"misdemeanor", "wobbler"}, "no count can be a misdemeanor"),
    "felony-reduced": ({"wobbler"}, "no count is a wobbler, so there is nothing to reduce under § 17(b)"),
    "felony": ({"felony", "wobbler"}, "no count can be a felony"),
}
_LEVEL = {"infraction": "infraction", "misdemeanor": "misdemeanor", "diversion": "misdemeanor",
          "felony-reduced": "felony", "felony": "felony"}


def counts(result: model.Assessment) -> tuple[list[model.Statute], bool]:
    """(the criminal counts the outcomes are measured on, whether they are only the suggested ones): the
    charged counts where any is charged, else every count the case file names, else what the facts suggest."""
    named = [s for s in result.statutes if s.source != "suggested" and s.classification not in _CRIMINAL]
    if any(s.source == "charged" for s in named):
        return [s for s in named if s.source == "charged"], False
    if named:
        return named, False
    return [s for s in result.statutes if s.classification not in _CRIMINAL], True


def _classes(s: model.Statute) -> set[str]:
    """The class of the tier the facts show (the one the engine applied): a first (c)(7) look-up is an infraction,
    not the wobbler it would be with an injury or a prior violation."""
    return {s.classification} if s.classification else set()


def _part(text: str, level: str) -> str:
    """The felony or misdemeanor sentence of a wobbler's custody or fine text ("Felony: ... Misdemeanor: ...")."""
    m = re.search(rf"{level.capitalize()}:\s*(.*?)(?=\s+(?:Felony|Misdemeanor):|$)", text)
    return m.group(1).rstrip(".") if m else text.rstrip(".")


def exposure(s: model.Statute, level: str) -> str | None:
    """A count's custody and fine at `level` (infraction, misdemeanor, felony), from its penalty tiers: the
    applied tier where it reaches that level, else the first tier that does; None when none does."""
    tiers = sorted(s.penalty_tiers or [], key=lambda t: not t.applies)
    fits = {"infraction": {"infraction"}, "misdemeanor": {"misdemeanor", "wobbler"}, "felony": {"felony", "wobbler"}}
    t = next((t for t in tiers if t.classification in fits[level]), None)
    if t is None:
        return None
    custody, fine = (_part(t.custody, level), _part(t.fine, level)) if t.classification == "wobbler" else (
        t.custody.rstrip("."), t.fine.rstrip("."))
    flag = "" if t.verified else " (UNVERIFIED)"
    parts = [] if custody.strip().lower() in {"none", "", "no custody"} else [custody]
    if fine.strip():
        parts.append("fine " + fine[0].lower() + fine[1:])
    return f"{s.citation}: {'; '.join(parts) or 'no custody or fine stated'} ({t.source}){flag}"


Waiting = list[tuple[DispositionCell, list[str]]]


def _choose(ctx: conditions.Context, cells: list[DispositionCell]) -> tuple[DispositionCell, Waiting]:
    """(the first cell whose conditions hold, the cells before it that wait on unknown facts, each with them)."""
    waiting: Waiting = []
    for cell in cells:
        conds = [conditions.parse(t) for t in cell.when]
        if all(ctx.holds(c) for c in conds):
            return cell, waiting
        unknown = [u for c in conds if (u := ctx.unknown_fact(c))]
        if unknown and all(ctx.holds(c) or ctx.unknown_fact(c) for c in conds):
            waiting.append((cell, unknown))
    raise LookupError("no unconditional cell")      # the loader refuses such a file (kb._cross_check)


def _answer(ctx: conditions.Context, cell: DispositionCell) -> str:
    """The answers a waiting cell needs, in words: "yes", "official", "yes and no" (facts in its `when` the case
    leaves unknown)."""
    values = [c.value for t in cell.when if (c := conditions.parse(t)) and ctx.unknown_fact(c)]
    return " and ".join(str(v) for v in values) or "so"


def _basis(cell: DispositionCell) -> list[str]:
    out = []
    for t in cell.when:
        c = conditions.parse(t)
        out += {"fact": [f"fact:{c.key}"], "finding": [f"finding:{c.key}"], "charge": ["fact:allegations"],
                "date": [f"fact:dates.{c.key}"]}.get(c.kind, [f"fact:client.{c.key}"] if c.kind.startswith("client.")
                                                    else [f"fact:subjects.{c.key}"] if c.kind.startswith("subject.")
                                                    else list(conditions.COMPUTED[c.key].basis) if c.kind == "computed"
                                                    else [])
    out.append(f"kb:dispositions.{cell.id}")
    if cell.consequence:
        out.append(f"kb:{cell.consequence}")
    return list(dict.fromkeys(out))


def _figures(column: str, outcome: str, chosen: list[model.Statute], ev: EvidenceResult | None) -> tuple[str, list[str]]:
    """(the case's own figures under a heading, their basis)."""
    if column == "criminal" and outcome in _LEVEL:
        lines = [x for s in chosen if (x := exposure(s, _LEVEL[outcome]))]
        return (" Counts at this level: " + "; ".join(lines) + "." if lines else ""), ["fact:allegations"]
    if column == "dppa" and ev is not None and (f := ev.findings.get(SUBJECT_QUERIES)) and f.count:
        per = (f.details or {}).get("by_subject") or {}
        listed = "; ".join(f"{name}: {n} quer{'y' if n == 1 else 'ies'}" for name, n in sorted(per.items()))
        return (f" Subject queries in the audit log (rows {', '.join(map(str, f.rows[:12]))}"
                f"{' ...' if len(f.rows) > 12 else ''}): {listed or f.count}."), [f"finding:{SUBJECT_QUERIES}"]
    return "", []


def matrix(kb: KnowledgeBase, ctx: conditions.Context, result: model.Assessment,
           ev: EvidenceResult | None) -> list[model.Disposition]:
    """The disposition matrix of this case (empty when the knowledge base holds none)."""
    data: Dispositions | None = kb.dispositions.get("dispositions")
    if data is None:
        return []
    chosen, only_suggested = counts(result)
    facts = {k: kb.facts[k].label for k in kb.facts}
    out = []
    for outcome in data.outcomes:
        cells = []
        for col in data.columns:
            cell, waiting = _choose(ctx, [c for c in data.cells if outcome.id in c.outcomes and c.column == col.id])
            extra, extra_basis = _figures(col.id, outcome.id, chosen, ev)
            if waiting:
                first, unknown = waiting[0]
                names = list(dict.fromkeys(unknown))
                text = (f"Unknown until {' and '.join(facts.get(k, k).lower() for k in names)} "
                        f"{'is' if len(names) == 1 else 'are'} known. If {_answer(ctx, first)}: {first.text} "
                        f"Otherwise: {cell.text}")
                cells.append(model.Cell(column=col.id, heading=col.heading, status="unknown",
                                        short="Unknown: turns on " + " and ".join(facts.get(k, k).lower()
                                                                                   for k in names),
                                        text=text + extra,
                                        rule=f"{first.source}; {cell.source}" if first.source != cell.source else cell.source,
                                        verified=first.verified and cell.verified,
                                        basis=list(dict.fromkeys(_basis(first) + _basis(cell) + extra_basis)),
                                        unknown=[f"fact:{k}" for k in names]))
            else:
                cells.append(model.Cell(column=col.id, heading=col.heading, status=cell.status, short=cell.short,
                                        text=cell.text + extra,
                                        rule=cell.source, verified=cell.verified,
                                        basis=list(dict.fromkeys(_basis(cell) + extra_basis))))
        available, why = True, "Open in this case."
        if outcome.id in _NEEDS:
            needs, words = _NEEDS[outcome.id]
            unclassed = [s.citation for s in chosen if s.classification is None]
            only_if = [f"{s.citation}: {unend(t.when)}" for s in chosen for t in s.penalty_tiers or []
                       if not t.applies and t.classification in needs]
            if not chosen:
                available, why = False, "No criminal count is charged, alleged or suggested."
            elif any(_classes(s) & needs for s in chosen):
                pass
            elif unclassed:
                why = (f"Open or not depends on the paragraph charged: {', '.join(unclassed)} "
                       f"name{'s' if len(unclassed) == 1 else ''} no subdivision.")
            elif only_if:
                why = f"Open only if the facts reach another penalty tier ({'; '.join(only_if)}); they do not show it yet."
            else:
                available, why = False, (f"Not open: {words} ({', '.join(s.citation for s in chosen)}); a plea to an "
                                         "amended count would need the prosecutor's agreement.")
        crim = next((c for c in cells if c.column == "criminal"), None)
        if available and crim is not None and crim.status == "does-not-apply" and outcome.id == "diversion":
            available, why = False, f"Not open: {crim.text}"
        if available and only_suggested and outcome.kind == "criminal":
            why = ("Measured on the statutes the facts suggest (" + ", ".join(s.citation for s in chosen)
                   + "): nothing is charged or alleged yet.")
        out.append(model.Disposition(id=outcome.id, kind=outcome.kind, label=outcome.label, available=available,
                                     availability=why, cells=cells))
    return out
