"""What to investigate first (`investigation_priorities` of clets-assessment/1).

Every fact the case file leaves `unknown`, and every date a rule needs that it leaves empty (the dates
knowledge/facts.yaml asks about), is an open question. For each, the engine is run again with each
possible answer (`yes` and `no`; `official` and `personal`; a date as early and as late as the other
dates allow; an answer the other dates rule out, such as a criminal investigation closing when none is known to have
opened, is not tried) and the new assessment is compared with the present one: which defense moves from what
strength to what, which statute's classification or limitation result changes, which statute the
facts raise or stop raising, whether the POBR year's result or its deadline changes, which collateral consequence
appears or disappears, which element changes status.

How they are ranked (deterministic, no weights, no count of factors first): each answer is measured
by, in this order,
  1. the largest move of a defense that reaches or leaves `strong`, in bands (not supported, weak,
     moderate, strong): a defense that would decide the case, or stop deciding it;
  2. the gravest change to the counts: 3 for a limitation or POBR result that becomes or stops being
     `expired` and for a felony or wobbler the facts raise, drop or reclassify; 2 for a misdemeanor;
     1 for anything else on the counts (an infraction, a civil or administrative statute, another
     limitation result);
  3. the largest move of any other defense, in bands;
  4. how many collateral consequences appear or disappear;
  5. how many results on the counts change;
  6. how many elements change status;
and a question ranks by its answer that measures highest, compared item by item; ties keep the order
the case file lists its facts, then prior discipline, then the dates. A question no answer changes is
still listed, last, saying so. The answer that measures highest is `answer`, with its changes.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import get_args

from assessment.core import casefile
from assessment.core.casefile import CaseFile
from assessment.law import limitations, model
from assessment.law.kb import FactQuestion, KnowledgeBase

Run = Callable[[CaseFile], model.Assessment]
_BAND = {"not-supported": 0, "weak": 1, "moderate": 2, "strong": 3}


def _fact_answers(case: CaseFile) -> list[tuple[str, list[str]]]:
    """(key, the answers to try) for every tri-state fact (and prior discipline) left unknown."""
    out = []
    for key in casefile.FACT_KEYS:
        if getattr(case.facts, key) == "unknown":
            values = [v for v in get_args(casefile.Facts.model_fields[key].annotation) if v != "unknown"]
            out.append((key, values))
    if case.client.prior_discipline == "unknown":
        out.append(("prior_discipline", ["yes", "no"]))
    return out


def _date_of(case: CaseFile, ref: str) -> dt.date | None:
    part, _, key = ref.partition(".")
    return getattr(case.dates if part == "dates" else case.client, key, None)


def date_bounds(case: CaseFile, key: str, after: list[str], as_of: dt.date,
                before: list[str] | None = None) -> tuple[dt.date | None, dt.date]:
    """(earliest, latest) a missing date can be, given the dates the case file holds: not before any date
    it must follow (knowledge/facts.yaml `after`, and the order the engine checks, limitations.DATE_ORDER),
    not after any date it must precede (`before`, and that order), nor after the assessment date."""
    name = key.partition(".")[2]
    follows = list(after)
    precedes: list[str] = list(before or [])
    if key.startswith("dates."):
        follows += [f"dates.{a}" for a, b, _ in limitations.DATE_ORDER if b == name]
        precedes += [f"dates.{b}" for a, b, _ in limitations.DATE_ORDER if a == name]
    lows = [d for r in follows if (d := _date_of(case, r))]
    highs = [d for r in precedes if (d := _date_of(case, r))] + [as_of]
    return (max(lows) if lows else None), min(highs)


def _with(case: CaseFile, key: str, value: str) -> CaseFile:
    """The case with one fact or date answered."""
    if key == "prior_discipline":
        return case.model_copy(update={"client": case.client.model_copy(update={key: value})})
    if key.startswith("dates."):
        day = dt.date.fromisoformat(value)
        return case.model_copy(update={"dates": case.dates.model_copy(update={key[6:]: day})})
    if key.startswith("client."):
        day = dt.date.fromisoformat(value)
        return case.model_copy(update={"client": case.client.model_copy(update={key[7:]: day})})
    return case.model_copy(update={"facts": case.facts.model_copy(update={key: value})})


def changes(before: model.Assessment, after: model.Assessment) -> list[model.Change]:
    """What `after` concludes differently from `before`, in a fixed order: defenses, the counts, the
    POBR year, collateral consequences, elements."""
    out: list[model.Change] = []
    old = {d.id: d for d in before.defenses}
    for d in after.defenses:
        if d.id in old and old[d.id].strength != d.strength:
            out.append(model.Change(kind="defense", target=d.id, what=d.name, before=old[d.id].strength,
                                    after=d.strength))
    was = {s.citation: s for s in before.statutes}
    now = {s.citation: s for s in after.statutes}
    for cite, s in now.items():
        if cite not in was:
            out.append(model.Change(kind="statute", target=cite, what=f"{cite}: {s.title}", before="not raised",
                                    after="raised by the facts"))
            continue
        p = was[cite]
        if p.classification != s.classification:
            out.append(model.Change(kind="classification", target=cite, what=f"{cite} classification",
                                    before=str(p.classification), after=str(s.classification)))
        a = p.limitation.status if p.limitation else "none"
        b = s.limitation.status if s.limitation else "none"
        if a != b:
            out.append(model.Change(kind="limitation", target=cite, what=f"{cite} limitation period", before=a, after=b))
    for cite, p in was.items():
        if cite not in now:
            out.append(model.Change(kind="statute", target=cite, what=f"{cite}: {p.title}", before="raised by the facts",
                                    after="not raised"))
    was_pobr, now_pobr = before.computed.pobr, after.computed.pobr
    if was_pobr.status != now_pobr.status:
        out.append(model.Change(kind="pobr", target="pobr", what="POBR one-year limit (Gov. Code § 3304(d))",
                                before=was_pobr.status, after=now_pobr.status))
    elif was_pobr.deadline != now_pobr.deadline:        # the same result, but the year ends on another day
        out.append(model.Change(kind="pobr", target="pobr", what="POBR year's deadline (Gov. Code § 3304(d))",
                                before=was_pobr.deadline or "none computed", after=now_pobr.deadline or "none computed"))
    had = {f"{f.family}.{c.id}": c for f in before.collateral for c in f.consequences}
    has = {f"{f.family}.{c.id}": c for f in after.collateral for c in f.consequences}
    for cid in [c for c in has if c not in had] + [c for c in had if c not in has]:
        out.append(model.Change(kind="collateral", target=cid, what=(has.get(cid) or had[cid]).title,
                                before="applies" if cid in had else "does not apply",
                                after="applies" if cid in has else "does not apply"))
    els = {(s.citation, e.id): e.status for s in before.statutes for e in s.elements}
    for s in after.statutes:
        for e in s.elements:
            if (s.citation, e.id) in els and els[(s.citation, e.id)] != e.status:
                out.append(model.Change(kind="element", target=f"{s.citation} {e.id}",
                                        what=f"{s.citation} element \u201c{e.id.replace('-', ' ')}\u201d",
                                        before=els[(s.citation, e.id)], after=e.status))
    return out


_GRAVITY = {"felony": 3, "wobbler": 3, "misdemeanor": 2}
_ON_COUNTS = ("limitation", "classification", "statute", "pobr")


def gravity(c: model.Change, classes: Mapping[str, str | None]) -> int:
    """How grave a change to the counts is (the module docstring, item 2); 0 for other changes."""
    if c.kind not in _ON_COUNTS:
        return 0
    if c.kind in ("limitation", "pobr"):
        return 3 if "expired" in (c.before, c.after) else 1
    if c.kind == "classification":
        return max(_GRAVITY.get(c.before, 1), _GRAVITY.get(c.after, 1))
    return _GRAVITY.get(classes.get(c.target) or "", 1)


def measure(found: list[model.Change], classes: Mapping[str, str | None] | None = None) -> tuple[int, ...]:
    """An answer's measure, compared item by item (the module docstring, "How they are ranked");
    `classes` gives each statute's classification, for a statute raised or dropped."""
    moves = [(abs(_BAND[c.after] - _BAND[c.before]), "strong" in (c.before, c.after)) for c in found if c.kind == "defense"]
    return (max((m for m, strong in moves if strong), default=0),
            max((gravity(c, classes or {}) for c in found), default=0),
            max((m for m, strong in moves if not strong), default=0),
            sum(c.kind == "collateral" for c in found),
            sum(c.kind in _ON_COUNTS for c in found),
            sum(c.kind == "element" for c in found))


_ARTICLE = {"felony": "a felony", "wobbler": "a wobbler", "misdemeanor": "a misdemeanor", "infraction": "an infraction",
            "civil": "civil", "administrative": "administrative"}


def _phrase(c: model.Change, classes: Mapping[str, str | None]) -> str:
    if c.kind == "defense":
        return f"{c.what}: {c.before} to {c.after}".replace("not-supported", "not supported")
    if c.kind == "statute":
        cls = _ARTICLE.get(classes.get(c.target) or "")
        return f"{'raises' if c.after != 'not raised' else 'drops'} {c.target}" + (f" ({cls})" if cls else "")
    if c.kind == "collateral":
        return f"{'adds' if c.after == 'applies' else 'removes'} the consequence \u201c{c.what}\u201d"
    return f"{c.what}: {c.before} to {c.after}".replace("-", " ")


def _order(c: model.Change, classes: Mapping[str, str | None]) -> tuple[int, int]:
    """Gravest first, for the impact sentence: strong-defense moves, the counts by gravity, other defense
    moves, collateral consequences, elements."""
    if c.kind == "defense":
        return (0 if "strong" in (c.before, c.after) else 2, -abs(_BAND[c.after] - _BAND[c.before]))
    if c.kind in _ON_COUNTS:
        return (1, -gravity(c, classes))
    return (3 if c.kind == "collateral" else 4, 0)


def impact(label: str, found: list[model.Change], classes: Mapping[str, str | None] | None = None, shown: int = 3) -> str:
    """The answer's effect in one sentence: its `shown` gravest changes and how many more."""
    if not found:
        return "No answer changes a conclusion of this assessment."
    classes = classes or {}
    ranked = sorted(found, key=lambda c: _order(c, classes))
    firsts = "; ".join(_phrase(c, classes) for c in ranked[:shown])
    more = len(found) - shown
    return f"If {label}: {firsts}" + (f"; and {more} more change{'s' if more > 1 else ''}." if more > 0 else ".")


NOT_TRIED = "No answer was tried: the dates the case file holds leave no room for this one; check those dates."


def _not_tried(kb: KnowledgeBase, waits: list[str]) -> str:
    """Why a date was not tried: the other dates leave it no room, or every answer waits on a date not yet known."""
    if not waits:
        return NOT_TRIED
    names = [kb.facts[w].label.lower() if w in kb.facts else w for w in waits]
    return f"Not tried until the {' and the '.join(names)} {'is' if len(names) == 1 else 'are'} known."


def rank(case: CaseFile, kb: KnowledgeBase, base: model.Assessment, run: Run,
         as_of: dt.date) -> list[model.Priority]:
    """The open questions of `case`, most important first; `run` assesses a variant of the case exactly as
    `base` was assessed (same knowledge base, evidence and date). A date the other dates leave no room for is
    still listed, last among equals, saying so (`NOT_TRIED`)."""
    asked: list[tuple[str, list[tuple[str, str]]]] = []
    for key, values in _fact_answers(case):
        asked.append((key, [(v, v) for v in values]))
    for key, entry in kb.facts.items():
        if not key.startswith(("dates.", "client.")) or _date_of(case, key) is not None:
            continue
        low, high = date_bounds(case, key, entry.after, as_of, entry.before)
        tries = [] if low is not None and low > high else (
            ([(low.isoformat(), f"as early as {low.isoformat()}")] if low else [])
            + ([(high.isoformat(), f"as late as {high.isoformat()}")] if high != low else []))
        asked.append((key, tries))
    scored = []
    for order, (key, tries) in enumerate(asked):
        answers: list[model.Answer] = []
        best: tuple[tuple[int, ...], model.Answer, dict] | None = None
        waits: list[str] = []
        for value, label in tries:
            answered = _with(case, key, value)
            new = [c for c in limitations.date_conflicts(answered) if c not in limitations.date_conflicts(case)]
            if new:                                     # an answer the case's other dates rule out is not tried
                waits += [f"dates.{d}" for c in new for d in c.dates if f"dates.{d}" != key]
                continue
            variant = run(answered)
            found = changes(base, variant)
            classes = {x.citation: x.classification for x in base.statutes + variant.statutes}
            answers.append(model.Answer(value=value, label=label, changes=found))
            score = measure(found, classes)
            if best is None or score > best[0]:         # the first of equals
                best = (score, answers[-1], classes)
        score = best[0] if best else (0,) * 6
        scored.append((tuple(-x for x in score), order, key, best, answers, list(dict.fromkeys(waits))))
    scored.sort(key=lambda x: (x[0], x[1]))
    out = []
    for i, (_, _, key, best, answers, waits) in enumerate(scored, 1):
        fq: FactQuestion | None = kb.facts.get(key)
        ref = f"fact:{key}"
        found = best[1].changes if best else []
        out.append(model.Priority(
            rank=i, fact=ref, label=fq.label if fq else key, question=fq.question if fq else f"What is {key}?",
            answer=best[1].value if best and found else None, changes=found,
            impact=impact(best[1].label, found, best[2]) if best else _not_tried(kb, waits),
            answers=answers, investigation=fq.investigate if fq else "", discovery_request=fq.request if fq else "",
            source=fq.source if fq else "", verified=fq.verified if fq else False,
            basis=[ref, f"kb:facts.{key}"]))
    return out
