"""The assessment engine: case file + knowledge base + audit findings -> `clets-assessment/1`
(an `Assessment`, law/model.py).

The engine computes and does nothing else: the evidence is analysed by the caller
(evidence/analyse.py) and handed in, so the engine never reads a file or opens DuckDB.
Deterministic: the same case, evidence result, knowledge base and `as_of` date give byte-identical
JSON. Every conclusion carries its basis (`fact:`, `finding:`, `kb:`), and the rules are the ones
written in knowledge/ (see knowledge/README.md for how defense strength is decided: by the legal
effect of the strongest factor, never a count).
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import BaseModel

from assessment.core.casefile import CaseFile
from assessment.core.citations import parse_citation
from assessment.core.text import clause, unend
from assessment.evidence.model import FINDINGS, EvidenceResult
from assessment.law import chronology, conditions, dispositions, limitations, model, priorities
from assessment.law.kb import Classification, Factor, KnowledgeBase, PenaltyTier, Resolution, Statute, Subdivision
from assessment.law.kb import Defense as KbDefense
from assessment.law.kb import Element as KbElement

T = TypeVar("T")
# How heavy a classification is, for Pen. Code § 805(a) (the period follows the maximum punishment).
_RANK = {"infraction": 1, "misdemeanor": 2, "wobbler": 3, "felony": 4}


def _if_charged_later(lim: model.Limitation) -> str | None:
    """For a statute the engine only suggests: whether a charge filed now would already be barred."""
    if lim.status == "expired":
        return (f"If charged later, already barred: the period ran out on {lim.deadline_latest_act} even for the latest "
                "act.")
    if lim.status == "partly-expired":
        return (f"If charged later, already barred for the earliest queries: the period for the earliest act ran out "
                f"on {lim.deadline_earliest_act}; for the latest act it runs until {lim.deadline_latest_act}.")
    if lim.status == "contested":
        return ("If charged later, barred for every act on one reading of Pen. Code § 805(a) and not on the other "
                "(see the readings)." if "expired" in {r.status for r in lim.readings or []} else
                "If charged later, the result differs between the readings of Pen. Code § 805(a) (see the readings).")
    if lim.status == "running":
        return f"If charged later, still timely: the period for the earliest act runs until {lim.deadline_earliest_act}."
    return None


def _basis(cond: conditions.Condition) -> list[str]:
    """Map a condition to the case-file keys or findings it rests on."""
    if cond.kind == "fact":
        return [f"fact:{cond.key}"]
    if cond.kind == "finding":
        return [f"finding:{cond.key}"]
    if cond.kind.startswith("client."):
        return [f"fact:client.{cond.key}"]
    if cond.kind.startswith("subject."):
        return [f"fact:subjects.{cond.key}"]
    if cond.kind == "charge":
        return ["fact:allegations"]
    if cond.kind == "date":
        return [f"fact:dates.{cond.key}"]
    return list(conditions.COMPUTED[cond.key].basis)


_BANDS: tuple[model.Strength, ...] = ("weak", "moderate", "strong")
_WEIGHT = {"dispositive": 3, "substantial": 2, "supporting": 1}
_SCOPE_WORDS = {"every-count": "on every count", "some-counts": "on some counts only", "some-acts": "on some acts only"}


def effect(factor: Factor) -> int:
    """A factor's legal effect, 1 (weak) to 3 (strong): its weight, limited by its scope (a bar on
    some counts is at most moderate, on some acts at most weak), one band lower when the effect
    rests on a contested reading of the law."""
    level = _WEIGHT[factor.weight]
    if factor.scope == "some-counts":
        level = min(level, 2)
    elif factor.scope == "some-acts":
        level = 1
    if factor.contested:
        level = max(1, level - 1)
    return level


def _describe(factor: Factor) -> str:
    return (f"{factor.weight}" + (f", {_SCOPE_WORDS[factor.scope]}" if factor.scope != "every-count" else "")
            + (", on a contested reading" if factor.contested else ""))


def strength_of(held_for: list[Factor], held_against: list[Factor]) -> tuple[model.Strength, str]:
    """A defense's strength from the legal effect of the factors that hold, never their number:
    the strongest factor for sets the band (knowledge/README.md, "Defense strength"); the strongest
    factor against lowers it one band when it is at least as strong, a dispositive factor against
    (on every count) caps it at weak, and one two bands stronger than the best factor for (a
    dispositive factor against supporting ones) leaves it not supported. With no factor for, the
    defense is not supported."""
    if not held_for:
        top = max(held_against, key=effect, default=None)
        return "not-supported", "No fact or finding in the case supports it yet" + (
            f"; against it: {top.reason.rstrip('.')}." if top else ".")
    best = max(held_for, key=effect)
    level = effect(best)
    why = f"{best.reason.rstrip('.')} ({_describe(best)})"
    worst = max(held_against, key=effect, default=None)
    if worst is not None:
        against = effect(worst)
        why += f"; against it: {worst.reason.rstrip('.')} ({_describe(worst)})"
        if against - level >= 2:        # a dispositive factor against, and only supporting ones for
            return "not-supported", f"Not supported, outweighed: {why}."
        if against == 3:
            level = 1
        elif against >= level:
            level = max(1, level - 1)
    band = _BANDS[level - 1]
    return band, f"{band.capitalize()}: {why}."


def _all_hold(ctx: conditions.Context, texts: list[str]) -> tuple[bool, list[str], list[str]]:
    """(all hold, basis, unknown facts waited on)."""
    conds = [conditions.parse(t) for t in texts]
    basis, unknown = [], []
    for c in conds:
        basis += _basis(c)
        if (u := ctx.unknown_fact(c)):
            unknown.append(u)
    return all(ctx.holds(c) for c in conds), basis, unknown


def _dedup(items: Iterable[T]) -> list[T]:
    """The items in their first order, each once (models compared by their content)."""
    seen, out = set(), []
    for x in items:
        key = x.model_dump_json() if isinstance(x, BaseModel) else x
        if key not in seen:
            seen.add(key)
            out.append(x)
    return out


class _Assessor:
    def __init__(self, case: CaseFile, kb: KnowledgeBase, ev: EvidenceResult | None, as_of: dt.date):
        self.case, self.kb, self.ev, self.as_of = case, kb, ev, as_of
        self.ctx = conditions.Context(case, ev.counts() if ev else None)
        self.conflicts = limitations.date_conflicts(case)
        self.questions: list[str] = []
        self.first_questions = [f"The case dates contradict each other: {c.problem} Which is right? Nothing that "
                                "rests on these dates is computed until they are corrected." for c in self.conflicts]
        self.unverified: list[model.Unverified] = []
        self.authority_ids: list[str] = []

    def note_unverified(self, kind: str, ident: str, what: str, source: str, note: str | None = None) -> None:
        self.unverified.append(model.Unverified(kind=kind, id=ident, what=what, source=source, note=note or ""))

    # statutes -------------------------------------------------------------------------
    def cited(self) -> list[_Cited]:
        """The citations to assess: the case file's, then those the facts suggest, by citation."""
        out = []
        for alg in self.case.allegations:
            res = self.kb.resolve(alg.citation)
            out.append(_Cited(str(res.citation), res, alg.status, alg.counts))
        have = {c.citation for c in out}
        suggested: dict[str, _Cited] = {}
        for st in self.kb.statutes.values():
            for sug in st.suggest:
                holds, basis, _ = _all_hold(self.ctx, sug.when)
                cite = str(parse_citation(sug.citation))
                if holds and cite not in have:
                    entry = suggested.setdefault(cite, _Cited(cite, self.kb.resolve(cite), "suggested", None))
                    entry.why.append(model.Reason(reason=sug.reason, basis=_dedup(basis)))
        return out + [suggested[k] for k in sorted(suggested)]

    def tiers(self, st: Statute, sub: Subdivision | None) -> list[PenaltyTier]:
        return (sub.penalties if sub and sub.penalties else st.penalties)

    def statute(self, item: _Cited, st: Statute) -> model.Statute:
        """The assessment of one citation that resolves to `st` (and perhaps one of its subdivisions)."""
        sub = item.res.subdivision
        self.authority_ids += st.authorities
        if not st.heading_verified:
            self.note_unverified("heading", st.citation, st.official_heading, st.source,
                                 "The code heading was not read in the official text.")
        questions = []
        elements_src = sub.elements if sub and sub.elements else st.elements
        if st.subdivisions and not sub:
            questions.append(f"{item.citation} names no subdivision: the elements and penalty depend on the paragraph charged.")
        tiers = self.tiers(st, sub)
        base = next((t for t in tiers if t.base), None)
        exposure: dict = {"classification": None}
        if base:
            exposure = {
                "classification": base.classification,
                "classification_basis": model.TierBasis(tier=base.when, source=base.source, verified=base.verified),
                "max_exposure": (f"{base.classification.capitalize()}. Custody: {clause(base.custody)}. "
                                 f"Fine: {clause(base.fine)}."),
                "penalty_tiers": [model.Tier(when=t.when, classification=t.classification, custody=t.custody,
                                             fine=t.fine, applies=t.base, source=t.source, verified=t.verified)
                                  for t in tiers]}
            others = [t for t in tiers if not t.base]
            if others or base.decided_by:
                deciders = _dedup([d for t in tiers for d in t.decided_by])
                alternatives = "; ".join(f"{unend(t.when)}: {t.classification}" for t in others)
                questions.append(f"{item.citation}: the classification above assumes \"{base.when}\". "
                                 f"It changes with: {'; '.join(deciders) or 'facts not in the case file'}"
                                 + (f" ({alternatives})." if alternatives else "."))
            if not base.verified:
                self.note_unverified("penalty", f"{st.id}{sub.id if sub else ''}:{base.id}", base.when, base.source, base.note)
            exposure["limitation"] = self.limitation(st, base, tiers, item, questions)
        elements = [self.element(st, sub, el) for el in elements_src]
        for sp in st.splits:
            self.authority_ids += sp.defense_line + sp.prosecution_line
        verified = st.verified and (sub.verified if sub else True)
        if not verified:
            self.note_unverified("statute", item.citation, st.title, st.source, st.note)
        self.questions += questions
        return model.Statute(
            citation=item.citation, statute_id=st.id, title=st.title, official_heading=st.official_heading,
            official_heading_verified=st.heading_verified, source=item.source, counts=item.counts or None,
            why=item.why or None, subdivision_summary=sub.summary if sub else None, **exposure,
            elements=elements,
            provisions=[model.Provision(id=p.id, text=p.text, bears_on=p.bears_on, source=p.source, verified=p.verified)
                        for p in st.provisions],
            misdescriptions=[model.Misdescription(claim=m.claim, correction=m.correction) for m in st.misdescriptions],
            splits=[model.Split(id=sp.id, question=sp.question, analysis=sp.analysis,
                                defense_line=[self.kb.authorities[a].cite for a in sp.defense_line],
                                prosecution_line=[self.kb.authorities[a].cite for a in sp.prosecution_line])
                    for sp in st.splits],
            notes=st.notes + ([sub.note] if sub and sub.note else []), jury_instruction=st.jury_instruction,
            statute_source=st.source, verified=verified, open_questions=questions)

    def _governing(self, st: Statute, classification: Classification,
                   suggested: bool) -> tuple[list, list, model.LimitationResult | None]:
        """(rules, results, governing result) of one classification of a statute; a suggested one
        is measured as if charged on the assessment date."""
        rules = [r for r in self.kb.limitations.values() if r.applies(st, classification)]
        commenced = limitations.commencement(list(self.kb.timing.values()), classification, st.code, self.case)
        results = [limitations.compute(r, classification, self.case, self.as_of,
                                       earlier=self.kb.limitations.get(r.earlier_if_unbarred_under or ""),
                                       conflicts=self.conflicts, commenced_by=commenced, if_charged_now=suggested)
                   for r in rules]
        return rules, results, limitations.governing(results)

    def limitation(self, st: Statute, tier: PenaltyTier, tiers: list[PenaltyTier], item: _Cited,
                   questions: list[str]) -> model.Limitation | None:
        """The governing limitation of the base tier with every candidate, or None (and a question)
        where the knowledge base holds no rule for it. Where another tier of the same paragraph gives
        a different result, Pen. Code § 805(a) (the period follows the maximum punishment the statute
        prescribes) leaves open which tier decides: both results are kept and the status is
        `contested`. A statute the engine only suggests says whether it would already be barred."""
        citation = item.citation
        suggested = item.source == "suggested"
        # a count not (yet) charged is measured as if charged today, never against the date other counts were filed
        not_charged = item.source != "charged"
        rules, results, gov = self._governing(st, tier.classification, not_charged)
        if gov is None:
            if tier.classification not in {"civil", "administrative"}:
                questions.append(f"{citation}: the knowledge base holds no limitation rule for this citation; "
                                 "establish the period before relying on timeliness.")
            return None
        out = model.Limitation(**gov.model_dump(), candidates=[r.model_copy() for r in results])
        if len([r for r in results if r.status != "not-applicable"]) > 1:
            n = NUMBERS.get(len(results), str(len(results)))
            out.explanation += (f" Of the {n} periods that apply, the one expiring last "
                                "governs (Pen. Code § 803.6(a)).")
        readings = [model.Reading(tier=tier.when, classification=tier.classification, rule=gov.rule,
                                  authority=gov.authority, period=gov.period, status=gov.status,
                                  deadline_earliest_act=gov.deadline_earliest_act,
                                  deadline_latest_act=gov.deadline_latest_act)]
        for other in tiers:
            if _RANK.get(other.classification, 0) <= _RANK.get(tier.classification, 0) \
                    or other.classification in {r.classification for r in readings}:
                continue
            more_rules, _, alt = self._governing(st, other.classification, not_charged)
            if alt is None or any((r.rule, r.period, r.status, r.deadline_earliest_act, r.deadline_latest_act)
                                  == (alt.rule, alt.period, alt.status, alt.deadline_earliest_act,
                                      alt.deadline_latest_act) for r in readings):
                continue          # a tier with the same result as one already shown adds nothing
            rules += [r for r in more_rules if r not in rules]
            readings.append(model.Reading(tier=other.when, classification=other.classification, rule=alt.rule,
                                          authority=alt.authority, period=alt.period, status=alt.status,
                                          deadline_earliest_act=alt.deadline_earliest_act,
                                          deadline_latest_act=alt.deadline_latest_act))
        if len({(r.period, r.status, r.deadline_latest_act) for r in readings}) > 1:
            out.readings = readings
            statuses = {r.status for r in readings}
            heavier = readings[1:]
            alt_text = "; ".join(f"if it is punishable as {r.classification} (\"{r.tier}\"): {r.period} "
                                 f"({r.authority}), {r.status.replace('-', ' ')}"
                                 + (f", until {r.deadline_latest_act} for the latest act" if r.deadline_latest_act
                                    and r.status != "expired" else "") for r in heavier)
            out.question = (f"Pen. Code § 805(a): is {citation} \"punishable\" by the tier the facts show "
                            f"(\"{tier.when}\", {tier.classification}) or by the maximum the statute prescribes for "
                            "the paragraph? The period differs: " + alt_text + ".")
            if len(statuses) > 1 and "unknown" not in statuses:
                out.status = "contested"
                out.explanation = (f"Contested. On the tier the facts show ({tier.classification}), "
                                   f"{out.explanation[:1].lower()}{out.explanation[1:]} "
                                   f"On the higher tier{'s' if len(heavier) > 1 else ''}: {alt_text}. "
                                   "Which applies is the § 805(a) question.")
            questions.append(out.question)
        if out.status in {"expired", "partly-expired", "contested"} and not suggested:
            asks = [t.question for t in self.kb.timing.values()
                    if t.kind == "tolling" and t.applies == "criminal" and st.code in t.codes and not t.dates and t.question]
            out.tolling = asks or None
            questions += asks
        if out.commenced_by and tier.classification in {"felony", "wobbler"}:
            felony_rule = next((t for t in self.kb.timing.values() if t.kind == "commencement"
                                and tier.classification in t.classes and st.code in t.codes and t.question), None)
            if felony_rule and felony_rule.question:
                questions.append(felony_rule.question)
        if not_charged:
            out.if_charged_later = _if_charged_later(out)
        for r in rules:
            questions += [f"{citation}: {q}" for q in r.questions]
            if not r.verified:
                self.note_unverified("limitation", r.id, r.text, r.source, r.note)
        return out

    def element(self, st: Statute, sub: Subdivision | None, el: KbElement) -> model.Element:
        sup = [t for t in el.supported_by if self.ctx.holds(conditions.parse(t))]
        con = [t for t in el.contested_by if self.ctx.holds(conditions.parse(t))]
        status = "contested" if con else ("supported" if sup else "unknown")
        basis = _dedup([b for t in (con or sup) for b in _basis(conditions.parse(t))]) or [f"kb:{st.id}"]
        waiting = _dedup([u for t in el.supported_by + el.contested_by
                          if (u := self.ctx.unknown_fact(conditions.parse(t)))])
        if not el.verified:
            self.note_unverified("element", f"{st.id}{sub.id if sub else ''}:{el.id}", el.text, el.source, el.note)
        return model.Element(
            id=el.id, text=el.text, status=status, basis=basis, source=el.source, verified=el.verified,
            also_supported_by=_dedup([b for t in sup for b in _basis(conditions.parse(t))]) if con and sup else None,
            waits_on=[f"fact:{w}" for w in waiting] or None, note=el.note or None)

    # computed values ---------------------------------------------------------------------
    def compute(self, statutes: list[model.Statute]) -> model.Computed:
        """The values the knowledge base tests with `computed:` (conditions.COMPUTED). The limitation
        values look only at the counts the case file names (the charged ones where any is charged):
        a statute the engine merely suggests never makes or breaks a limitations defense."""
        counts = [s for s in statutes if s.source != "suggested" and s.classification not in {"civil", "administrative"}]
        if any(s.source == "charged" for s in counts):
            counts = [s for s in counts if s.source == "charged"]
        lims = [s.limitation.status for s in counts if s.limitation]
        every = bool(lims) and len(lims) == len(counts)     # a count with no period computed decides nothing
        p = limitations.pobr(self.case, self.kb.pobr.get("pobr"), list(self.kb.timing.values()), self.as_of,
                             self.conflicts)
        t = limitations.training(self.case)
        barred = [x == "expired" for x in lims]
        self.ctx.computed = conditions.computed_values({
            "limitation-barred-every-count": every and all(barred),
            "limitation-barred-some-counts": any(barred) and not (every and all(barred)),
            "limitation-barred-contested": "contested" in lims,
            "limitation-barred-some-acts": "partly-expired" in lims,
            "limitation-running-every-count": every and all(x == "running" for x in lims),
            "felony-exposure": any(s.classification in {"felony", "wobbler"} for s in statutes),
            "pobr-covered": p.covered == "yes",
            "pobr-may-apply": p.covered != "no",
            "pobr-coverage-depends": p.covered == "depends",
            "pobr-year-expired": p.status == "expired",
            "pobr-expired-unless-tolled": p.status == "unknown" and p.untolled_deadline is not None
            and (self.case.dates.discipline_notice or self.as_of) > dt.date.fromisoformat(p.untolled_deadline),
            "pobr-tolled": p.tolled,
            "training-missing": t.missing,
            "training-late": t.late,
        })
        if t.unknown:
            self.questions.append("Is CLETS operator training on record for the client, and when was it completed? "
                                  "An unknown training date is not treated as missing training.")
        if p.covered == "depends":
            self.questions.append(f"Is the client a public safety officer under Gov. Code § 3301? {p.coverage_basis}")
        if p.covered != "no" and p.status in {"expired", "unknown"}:
            # the tolling the dates could show but do not, and the tolling the case file cannot show
            self.questions += [x.question for x in self.kb.timing.values() if x.applies == "pobr" and x.question
                               and not (x.dates and all(getattr(self.case.dates, k) for k in x.dates))]
        return model.Computed(pobr=p, training=t, date_conflicts=self.conflicts)

    # defenses ---------------------------------------------------------------------------
    def defense(self, d: KbDefense, statutes: list[model.Statute]) -> model.Defense:
        applies = [s.citation for s in statutes if ("*" in d.applies_to or s.statute_id in d.applies_to)
                   and not (d.counts_only and s.source == "suggested")]
        gate, gate_basis, _ = _all_hold(self.ctx, d.requires)
        basis: list[str] = []
        waiting: list[str] = []

        def tally(factors: list[Factor]) -> list[tuple[Factor, model.Reason]]:
            held = []
            for factor in factors:
                holds, b, unknown = _all_hold(self.ctx, factor.when)
                waiting.extend(unknown)
                if holds:
                    held.append((factor, model.Reason(reason=factor.reason, basis=_dedup(b))))
                    basis.extend(b)
            return held
        held_for, held_against = tally(d.strengthened_by), tally(d.weakened_by)
        if not gate:
            strength: model.Strength = "not-supported"
            why = d.requires_reason or f"Applies only where {', '.join(d.requires)}; the case does not show that."
            basis = gate_basis
        elif not applies and "*" not in d.applies_to:
            strength = "not-supported"
            why = "It bears on " + ", ".join(self.kb.statutes[x].citation for x in d.applies_to) + ", none of which is cited."
        else:
            strength, why = strength_of([f for f, _ in held_for], [f for f, _ in held_against])
        self.authority_ids += d.authorities_for + d.authorities_against
        questions = list(d.open_questions) + [self.kb.facts[k].question for k in _dedup(waiting) if k in self.kb.facts]
        return model.Defense(
            id=d.id, name=d.name, strength=strength, applies_to=applies, basis=_dedup(basis + [f"kb:{d.id}"]),
            summary=why, reasons_for=[r for _, r in held_for], reasons_against=[r for _, r in held_against],
            authorities_for=[self.kb.authorities[a].cite for a in d.authorities_for],
            authorities_against=[self.kb.authorities[a].cite for a in d.authorities_against],
            to_strengthen=d.to_strengthen, open_questions=_dedup(questions), verified=d.verified)

    def discovery(self) -> list[model.Discovery]:
        out = []
        for ctx in self.kb.context.values():
            for item in ctx.discovery:
                holds, basis, _ = _all_hold(self.ctx, item.when)
                if holds:
                    out.append(model.Discovery(id=item.id, item=item.item, why=item.why, source=item.source,
                                               verified=item.verified,
                                               basis=_dedup(basis + [f"kb:clets.discovery.{item.id}"])))
                    if not item.verified:
                        self.note_unverified("discovery", item.id, item.item, item.source, item.note)
        return out

    def findings(self, ev: EvidenceResult) -> list[model.Finding]:
        """The findings that hold rows, in the registered order; rows per file where several logs are loaded."""
        several_logs = len([x for x in ev.files if "kind" not in x]) > 1
        return [model.Finding(id=f.id, count=f.count, rows=f.rows, summary=f.summary,
                              rows_by_file=f.rows_by_file if several_logs else None, details=f.details or None)
                for fid in FINDINGS if (f := ev.findings.get(fid))]

    # everything -------------------------------------------------------------------------
    def run(self) -> model.Assessment:
        case = self.case
        statutes = [self.statute(item, st) for item in self.cited() if (st := item.res.statute)]
        computed = self.compute(statutes)
        order = {"strong": 0, "moderate": 1, "weak": 2, "not-supported": 3}
        defenses = [self.defense(self.kb.defenses[i], statutes) for i in self.kb.defenses]
        ids = list(self.kb.defenses)
        defenses.sort(key=lambda d: (order[d.strength], ids.index(d.id)))
        findings = self.findings(self.ev) if self.ev else []
        if not self.ev:
            self.questions.append("No audit log is loaded: obtain the full CLETS transaction journal for the client's "
                                  "operator ids and terminals, and load it as evidence.")
        unknown_facts = [k for k in type(case.facts).model_fields if k != "narrative"
                         and getattr(case.facts, k) == "unknown"]
        if case.client.prior_discipline == "unknown":
            unknown_facts.append("prior_discipline")
        fact_questions = [self.kb.facts[k].question for k in unknown_facts if k in self.kb.facts]
        for key, label in (("agency_discovered",
                            "When did the agency (a person authorized to investigate) discover the queries?"),
                           ("first_query", "When was the first query in question?")):
            if getattr(case.dates, key) is None:      # the knowledge base's wording where it has one
                fq = self.kb.facts.get(f"dates.{key}")
                fact_questions.append(fq.question if fq else label)
        collateral = []
        for fam in self.kb.families.values():
            items = []
            for c in fam.consequences:
                holds, basis, _ = _all_hold(self.ctx, c.applies_when)
                if holds:
                    items.append(model.Consequence(id=c.id, title=c.title, text=c.text, source=c.source, verified=c.verified,
                                                   basis=_dedup(basis + [f"kb:{fam.id}.{c.id}"]), note=c.note or None))
                    if not c.verified:
                        self.note_unverified("consequence", f"{fam.id}.{c.id}", c.text, c.source, c.note)
            collateral.append(model.Collateral(family=fam.id, title=fam.title, consequences=items))
        discovery = self.discovery()
        texts = [c.text + " " + c.source for fam in collateral for c in fam.consequences]
        texts += [d.item + " " + d.why + " " + d.source for d in discovery]
        for aid, a in self.kb.authorities.items():      # a case a consequence or a discovery item cites is listed too
            name = re.split(r" \((?:\d{4}|[^()]*Cir\.)", a.cite)[0]          # up to the court and year
            if " v. " in name and any(name in t for t in texts):
                self.authority_ids.append(aid)
        authorities = []
        for aid in _dedup(self.authority_ids):
            a = self.kb.authorities[aid]
            authorities.append(model.Authority(id=a.id, cite=a.cite, verified=a.verified,
                                               holding_verified=a.holding_verified, helps=a.helps, holding=a.holding,
                                               source=a.source, note=a.note or None))
            if not (a.verified and a.holding_verified):
                what = ("citation and holding" if not a.verified and not a.holding_verified
                        else "citation" if not a.verified else "statement of the holding")
                self.note_unverified("authority", a.id, f"{a.cite}: {what} not verified", a.source, a.note)
        return model.Assessment(
            as_of=self.as_of,
            matter=model.MatterRef(id=case.matter.id, title=case.matter.title, stage=case.matter.stage),
            client=model.ClientRef(name=case.client.name, role=case.client.role, agency=case.client.agency),
            statutes=statutes,
            defenses=defenses,
            findings=findings,
            evidence=(model.Evidence(files=[model.EvidenceFile(**f) for f in self.ev.files],
                                     client_queries=self.ev.client_queries,
                                     first_subject_query=self.ev.first_subject_query,
                                     last_subject_query=self.ev.last_subject_query,
                                     incidents_loaded=self.ev.incidents_loaded, warnings=self.ev.warnings)
                      if self.ev else None),
            computed=computed,
            open_questions=_dedup(self.first_questions + fact_questions + self.questions),
            collateral=collateral,
            discovery=discovery,
            authorities=authorities,
            unverified=_dedup(self.unverified),
        )


NUMBERS = {2: "two", 3: "three", 4: "four", 5: "five"}


@dataclass
class _Cited:
    """A citation to assess: as the case file names it (or as the engine suggests it), resolved."""
    citation: str
    res: Resolution
    source: model.Source
    counts: int | None
    why: list[model.Reason] = field(default_factory=list)


def assess(case: CaseFile, kb: KnowledgeBase, ev: EvidenceResult | None, as_of: dt.date, *,
           narrative_basis: dict[str, dict] | None = None, rank_questions: bool = True) -> model.Assessment:
    """Assess a case as of `as_of` on the evidence the caller analysed (evidence.analyse.analyse;
    None: no audit log is loaded, and the assessment says so).

    `narrative_basis` maps a fact the attorney accepted from the narrative to {"value",
    "sentence", "text"}: every conclusion resting on that fact, while the case file still holds
    that value, then cites `narrative:<sentence>` beside `fact:<key>`.

    The investigation priorities assess the case again for every answer to every open question
    (law/priorities.py, some 30 runs); `rank_questions=False` leaves them empty, for a caller that does
    not read them (the knowledge-base scenarios that test something else)."""
    assessor = _Assessor(case, kb, ev, as_of)
    result = assessor.run()
    if rank_questions:
        result.investigation_priorities = priorities.rank(case, kb, result, lambda c: _Assessor(c, kb, ev, as_of).run(),
                                                          as_of)
    result.dispositions = dispositions.matrix(kb, assessor.ctx, result, ev)
    if narrative_basis:
        basis = {k: v for k, v in narrative_basis.items() if getattr(case.facts, k, None) == v.get("value")}
        _cite_narrative(result, {k: v["sentence"] for k, v in basis.items()})
        result.narrative_basis = {k: model.NarrativeSource(sentence=v["sentence"], text=v["text"])
                                  for k, v in sorted(basis.items())}
    result.chronology = chronology.build(case, result, ev)
    return result


def _cite_narrative(node: object, sentences: dict[str, int]) -> None:
    """Add narrative:<sentence> after each fact:<key> that an accepted narrative sentence supports,
    in every `basis` list of the assessment."""
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            value = getattr(node, name)
            if name == "basis" and isinstance(value, list):
                out = []
                for b in value:
                    out.append(b)
                    key = b[5:] if isinstance(b, str) and b.startswith("fact:") else None
                    if key in sentences and f"narrative:{sentences[key]}" not in value:
                        out.append(f"narrative:{sentences[key]}")
                setattr(node, name, out)
            else:
                _cite_narrative(value, sentences)
    elif isinstance(node, dict):
        for value in node.values():
            _cite_narrative(value, sentences)
    elif isinstance(node, list):
        for value in node:
            _cite_narrative(value, sentences)
