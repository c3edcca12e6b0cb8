"""The assessment engine: case file + knowledge base + audit findings -> `clets-assessment/1`.

Deterministic: the same case, evidence, knowledge base and `as_of` date give byte-identical JSON.
Every conclusion carries its basis (`fact:`, `finding:`, `kb:`), and the rules are the ones
written in knowledge/ (see knowledge/README.md for how defense strength is counted).
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from pathlib import Path

from assessment.evidence import analyse as evidence
from assessment.law import conditions, limitations
from assessment.core.casefile import CaseFile
from assessment.core.citations import parse_citation
from assessment.law.kb import KnowledgeBase, PenaltyTier, Statute, Subdivision

FORMAT = "clets-assessment/1"


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
    return {
        "limitation-expired": ["fact:dates", "kb:statute-of-limitations"],
        "limitation-running": ["fact:dates", "kb:statute-of-limitations"],
        "pobr-year-expired": ["fact:dates.agency_discovered", "fact:dates.discipline_notice"],
        "pobr-tolled": ["fact:allegations", "fact:dates.charges_filed"],
        "training-missing": ["fact:client.clets_training_date", "fact:training_on_record"],
        "training-late": ["fact:client.clets_training_date", "fact:client.assignment_date"],
    }[cond.key]


def _all_hold(ctx: conditions.Context, texts: list[str]) -> tuple[bool, list[str], list[str]]:
    """(all hold, basis, unknown facts waited on)."""
    conds = [conditions.parse(t) for t in texts]
    basis, unknown = [], []
    for c in conds:
        basis += _basis(c)
        if (u := ctx.unknown_fact(c)):
            unknown.append(u)
    return all(ctx.holds(c) for c in conds), basis, unknown


def _dedup(items):
    seen, out = set(), []
    for x in items:
        key = json.dumps(x, sort_keys=True) if not isinstance(x, str) else x
        if key not in seen:
            seen.add(key)
            out.append(x)
    return out


class _Assessor:
    def __init__(self, case: CaseFile, kb: KnowledgeBase, ev: evidence.EvidenceResult | None, as_of: dt.date):
        self.case, self.kb, self.ev, self.as_of = case, kb, ev, as_of
        self.ctx = conditions.Context(case, ev.counts() if ev else None)
        self.questions: list[str] = []
        self.unverified: list[dict] = []
        self.authority_ids: list[str] = []

    def note_unverified(self, kind: str, ident: str, what: str, source: str, note: str | None = None):
        self.unverified.append({"kind": kind, "id": ident, "what": what, "source": source, "note": note or ""})

    # statutes -------------------------------------------------------------------------
    def cited(self) -> list[dict]:
        out = []
        for alg in self.case.allegations:
            res = self.kb.resolve(alg.citation)
            out.append({"citation": str(res.citation), "res": res, "source": alg.status, "counts": alg.counts,
                        "why": []})
        have = {c["citation"] for c in out}
        suggested: dict[str, dict] = {}
        for st in self.kb.statutes.values():
            for sug in st.suggest:
                holds, basis, _ = _all_hold(self.ctx, sug.when)
                cite = str(parse_citation(sug.citation))
                if holds and cite not in have:
                    entry = suggested.setdefault(cite, {"citation": cite, "res": self.kb.resolve(cite),
                                                        "source": "suggested", "counts": None, "why": []})
                    entry["why"].append({"reason": sug.reason, "basis": _dedup(basis)})
        return out + [suggested[k] for k in sorted(suggested)]

    def tiers(self, st: Statute, sub: Subdivision | None) -> list[PenaltyTier]:
        return (sub.penalties if sub and sub.penalties else st.penalties)

    def statute(self, item: dict) -> dict:
        res = item["res"]
        st, sub = res.statute, res.subdivision
        self.authority_ids += st.authorities
        out = {"citation": item["citation"], "statute_id": st.id, "title": st.title,
               "official_heading": st.official_heading, "official_heading_verified": st.heading_verified,
               "source": item["source"]}
        if not st.heading_verified:
            self.note_unverified("heading", st.citation, st.official_heading, st.source,
                                 "The code heading was not read in the official text.")
        if item["counts"]:
            out["counts"] = item["counts"]
        if item["why"]:
            out["why"] = item["why"]
        if sub:
            out["subdivision_summary"] = sub.summary
        questions = []
        elements_src = sub.elements if sub and sub.elements else st.elements
        if st.subdivisions and not sub:
            questions.append(f"{item['citation']} names no subdivision: the elements and penalty depend on the paragraph charged.")
        tiers = self.tiers(st, sub)
        base = next((t for t in tiers if t.base), None)
        if base:
            out["classification"] = base.classification
            out["classification_basis"] = {"tier": base.when, "source": base.source, "verified": base.verified}
            out["max_exposure"] = f"{base.classification.capitalize()}. Custody: {base.custody}. Fine: {base.fine}."
            others = [t for t in tiers if not t.base]
            out["penalty_tiers"] = [{"when": t.when, "classification": t.classification, "custody": t.custody,
                                     "fine": t.fine, "applies": t.base, "source": t.source, "verified": t.verified}
                                    for t in tiers]
            if others or base.decided_by:
                deciders = _dedup([d for t in tiers for d in t.decided_by])
                alternatives = "; ".join(f"{t.when} -> {t.classification}" for t in others)
                questions.append(f"{item['citation']}: the classification above assumes \"{base.when}\". "
                                 f"It changes with: {'; '.join(deciders) or 'facts not in the case file'}"
                                 + (f" ({alternatives})." if alternatives else "."))
            if not base.verified:
                self.note_unverified("penalty", f"{st.id}{sub.id if sub else ''}:{base.id}", base.when, base.source, base.note)
            self.limitation(out, st, base, item["citation"], questions)
        else:
            out["classification"] = None
        out["elements"] = [self.element(st, sub, el) for el in elements_src]
        out["provisions"] = [{"id": p.id, "text": p.text, "bears_on": p.bears_on, "source": p.source,
                              "verified": p.verified} for p in st.provisions]
        out["misdescriptions"] = [{"claim": m.claim, "correction": m.correction} for m in st.misdescriptions]
        out["splits"] = [{"id": sp.id, "question": sp.question, "analysis": sp.analysis,
                          "defense_line": [self.kb.authorities[a].cite for a in sp.defense_line],
                          "prosecution_line": [self.kb.authorities[a].cite for a in sp.prosecution_line]}
                         for sp in st.splits]
        for sp in st.splits:
            self.authority_ids += sp.defense_line + sp.prosecution_line
        out["notes"] = st.notes + ([sub.note] if sub and sub.note else [])
        out["jury_instruction"] = st.jury_instruction
        out["statute_source"] = st.source
        out["verified"] = st.verified and (sub.verified if sub else True)
        if not out["verified"]:
            self.note_unverified("statute", item["citation"], st.title, st.source, st.note)
        out["open_questions"] = questions
        self.questions += questions
        return out

    def limitation(self, out: dict, st: Statute, tier: PenaltyTier, citation: str, questions: list[str]) -> None:
        rules = [r for r in self.kb.limitations.values() if r.applies(st, tier.classification)]
        results = [limitations.compute(r, tier.classification, self.case, self.as_of) for r in rules]
        gov = limitations.governing(results)
        if gov is None:
            if tier.classification not in {"civil", "administrative"}:
                questions.append(f"{citation}: the knowledge base holds no limitation rule for this citation; "
                                 "establish the period before relying on timeliness.")
            return
        out["limitation"] = asdict(gov) | {"candidates": [asdict(r) for r in results]}
        if len([r for r in results if r.status != "not-applicable"]) > 1:
            out["limitation"]["explanation"] += (f" Of {len(results)} periods that apply, the one expiring last "
                                                 "governs (Pen. Code § 803.6(a)).")
        for r in rules:
            questions += [f"{citation}: {q}" for q in r.questions]
            if not r.verified:
                self.note_unverified("limitation", r.id, r.text, r.source, r.note)

    def element(self, st: Statute, sub: Subdivision | None, el) -> dict:
        sup = [t for t in el.supported_by if self.ctx.holds(conditions.parse(t))]
        con = [t for t in el.contested_by if self.ctx.holds(conditions.parse(t))]
        status = "contested" if con else ("supported" if sup else "unknown")
        basis = _dedup([b for t in (con or sup) for b in _basis(conditions.parse(t))]) or [f"kb:{st.id}"]
        waiting = _dedup([u for t in el.supported_by + el.contested_by
                          if (u := self.ctx.unknown_fact(conditions.parse(t)))])
        if not el.verified:
            self.note_unverified("element", f"{st.id}{sub.id if sub else ''}:{el.id}", el.text, el.source, el.note)
        out = {"id": el.id, "text": el.text, "status": status, "basis": basis, "source": el.source,
               "verified": el.verified}
        if con and sup:
            out["also_supported_by"] = _dedup([b for t in sup for b in _basis(conditions.parse(t))])
        if waiting:
            out["waits_on"] = [f"fact:{w}" for w in waiting]
        if el.note:
            out["note"] = el.note
        return out

    # computed values ---------------------------------------------------------------------
    def compute(self, statutes: list[dict]) -> dict:
        lims = [s["limitation"]["status"] for s in statutes if "limitation" in s]
        p = limitations.pobr(self.case, self.as_of)
        t = limitations.training(self.case)
        self.ctx.computed = {
            "limitation-expired": any(x in {"expired", "partly-expired"} for x in lims),
            "limitation-running": bool(lims) and all(x == "running" for x in lims),
            "pobr-year-expired": p["expired"],
            "pobr-tolled": p["tolled"],
            "training-missing": t["missing"],
            "training-late": t["late"],
        }
        return {"pobr": p, "training": t}

    # defenses ---------------------------------------------------------------------------
    def defense(self, d, statutes: list[dict]) -> dict:
        applies = [s["citation"] for s in statutes if "*" in d.applies_to or s["statute_id"] in d.applies_to]
        gate, gate_basis, _ = _all_hold(self.ctx, d.requires)
        basis, waiting = [], []

        def tally(factors) -> list[dict]:
            held = []
            for factor in factors:
                holds, b, unknown = _all_hold(self.ctx, factor.when)
                waiting.extend(unknown)
                if holds:
                    held.append({"reason": factor.reason, "basis": _dedup(b)})
                    basis.extend(b)
            return held
        reasons_for, reasons_against = tally(d.strengthened_by), tally(d.weakened_by)
        s, w = len(reasons_for), len(reasons_against)
        if not gate:
            strength = "not-supported"
            why = d.requires_reason or f"Applies only where {', '.join(d.requires)}; the case does not show that."
            basis = gate_basis
        elif not applies and "*" not in d.applies_to:
            strength = "not-supported"
            why = "It bears on " + ", ".join(self.kb.statutes[x].citation for x in d.applies_to) + ", none of which is cited."
        elif s == 0:
            strength = "not-supported"
            why = "No fact or finding in the case supports it yet" + (f"; {w} against." if w else ".")
        else:
            strength = "strong" if s - w >= 2 else "moderate" if s - w == 1 else "weak"
            why = f"{s} factor{'s' if s != 1 else ''} for, {w} against."
        self.authority_ids += d.authorities_for + d.authorities_against
        questions = list(d.open_questions) + [self.kb.facts[k].question for k in _dedup(waiting) if k in self.kb.facts]
        return {"id": d.id, "name": d.name, "strength": strength, "applies_to": applies,
                "basis": _dedup(basis + [f"kb:{d.id}"]), "summary": why,
                "reasons_for": reasons_for, "reasons_against": reasons_against,
                "authorities_for": [self.kb.authorities[a].cite for a in d.authorities_for],
                "authorities_against": [self.kb.authorities[a].cite for a in d.authorities_against],
                "to_strengthen": d.to_strengthen, "open_questions": _dedup(questions),
                "verified": d.verified}

    def discovery(self) -> list[dict]:
        out = []
        for ctx in self.kb.context.values():
            for item in ctx.discovery:
                holds, basis, _ = _all_hold(self.ctx, item.when)
                if holds:
                    out.append({"id": item.id, "item": item.item, "why": item.why, "source": item.source,
                                "verified": item.verified, "basis": _dedup(basis + [f"kb:clets.discovery.{item.id}"])})
                    if not item.verified:
                        self.note_unverified("discovery", item.id, item.item, item.source, item.note)
        return out

    # everything -------------------------------------------------------------------------
    def run(self) -> dict:
        case = self.case
        statutes = [self.statute(item) for item in self.cited() if item["res"].statute]
        computed = self.compute(statutes)
        order = {"strong": 0, "moderate": 1, "weak": 2, "not-supported": 3}
        defenses = [self.defense(self.kb.defenses[i], statutes) for i in self.kb.defenses]
        ids = list(self.kb.defenses)
        defenses.sort(key=lambda d: (order[d["strength"]], ids.index(d["id"])))
        findings = []
        if self.ev:
            several_logs = len([x for x in self.ev.files if "kind" not in x]) > 1
            for fid in conditions.FINDING_IDS:
                f = self.ev.findings.get(fid)
                if f:
                    entry = {"id": f.id, "count": f.count, "rows": f.rows, "summary": f.summary}
                    if several_logs:
                        entry["rows_by_file"] = f.rows_by_file
                    if f.details:
                        entry["details"] = f.details
                    findings.append(entry)
        else:
            self.questions.append("No audit log is loaded: obtain the full CLETS transaction journal for the client's "
                                  "operator ids and terminals, and load it as evidence.")
        unknown_facts = [k for k in type(case.facts).model_fields if k != "narrative"
                         and getattr(case.facts, k) == "unknown"]
        if case.client.prior_discipline == "unknown":
            unknown_facts.append("prior_discipline")
        fact_questions = [self.kb.facts[k].question for k in unknown_facts if k in self.kb.facts]
        for key, label in (("agency_discovered", "When did the agency (a person authorized to investigate) discover the queries?"),
                           ("first_query", "When was the first query in question?")):
            if getattr(case.dates, key) is None:
                fact_questions.append(label)
        collateral = []
        for fam in self.kb.families.values():
            items = []
            for c in fam.consequences:
                holds, basis, _ = _all_hold(self.ctx, c.applies_when)
                if holds:
                    items.append({"id": c.id, "text": c.text, "source": c.source, "verified": c.verified,
                                  "basis": _dedup(basis + [f"kb:{fam.id}.{c.id}"])} | ({"note": c.note} if c.note else {}))
                    if not c.verified:
                        self.note_unverified("consequence", f"{fam.id}.{c.id}", c.text, c.source, c.note)
            collateral.append({"family": fam.id, "title": fam.title, "consequences": items})
        authorities = []
        for aid in _dedup(self.authority_ids):
            a = self.kb.authorities[aid]
            authorities.append({"id": a.id, "cite": a.cite, "verified": a.verified, "holding_verified": a.holding_verified,
                                "helps": a.helps, "holding": a.holding, "source": a.source} | ({"note": a.note} if a.note else {}))
            if not (a.verified and a.holding_verified):
                what = ("citation and holding" if not a.verified and not a.holding_verified
                        else "citation" if not a.verified else "statement of the holding")
                self.note_unverified("authority", a.id, f"{a.cite}: {what} not verified", a.source, a.note)
        result = {
            "format": FORMAT,
            "as_of": self.as_of.isoformat(),
            "matter": {"id": case.matter.id, "title": case.matter.title, "stage": case.matter.stage},
            "client": {"name": case.client.name, "role": case.client.role, "agency": case.client.agency},
            "statutes": statutes,
            "defenses": defenses,
            "findings": findings,
            "evidence": ({"files": self.ev.files, "client_queries": self.ev.client_queries,
                          "first_subject_query": self.ev.first_subject_query,
                          "last_subject_query": self.ev.last_subject_query,
                          "incidents_loaded": self.ev.incidents_loaded, "warnings": self.ev.warnings}
                         if self.ev else None),
            "computed": computed,
            "open_questions": _dedup(fact_questions + self.questions),
            "collateral": collateral,
            "discovery": self.discovery(),
            "authorities": authorities,
            "unverified": _dedup(self.unverified),
        }
        return result


def assess(case: CaseFile, kb: KnowledgeBase, base_dir: Path | None = None, as_of: dt.date | None = None,
           ev: evidence.EvidenceResult | None = None, narrative_basis: dict[str, dict] | None = None) -> dict:
    """Assess a case. Evidence is analysed from the case's files (relative to base_dir) unless given.
    `narrative_basis` maps a fact the attorney accepted from the narrative to {"sentence", "text"}:
    every conclusion resting on that fact then cites `narrative:<sentence>` beside `fact:<key>`."""
    if ev is None and base_dir is not None:
        ev = evidence.analyse(case, base_dir)
    result = _Assessor(case, kb, ev, as_of or dt.date.today()).run()
    if narrative_basis:
        basis = {k: v for k, v in narrative_basis.items() if getattr(case.facts, k, None) == v.get("value")}
        _cite_narrative(result, basis)
        result["narrative_basis"] = {k: {"sentence": v["sentence"], "text": v["text"]} for k, v in sorted(basis.items())}
    return result


def _cite_narrative(node, basis: dict[str, dict]) -> None:
    """Add narrative:<sentence> after each fact:<key> that an accepted narrative sentence supports."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "basis" and isinstance(v, list):
                out = []
                for b in v:
                    out.append(b)
                    key = b[5:] if isinstance(b, str) and b.startswith("fact:") else None
                    if key in basis and f"narrative:{basis[key]['sentence']}" not in v:
                        out.append(f"narrative:{basis[key]['sentence']}")
                node[k] = out
            else:
                _cite_narrative(v, basis)
    elif isinstance(node, list):
        for v in node:
            _cite_narrative(v, basis)


def to_json(result: dict) -> str:
    return json.dumps(result, indent=2, ensure_ascii=False) + "\n"
