"""Scenario tests for the knowledge base, in the manner of OpenFisca's YAML tests: facts in,
expected element status, classification, limitation result or defense strength out.

Each statute or defense file `X.yaml` may have `X.scenarios.yaml` beside it:

    subject: pc-502
    scenarios:
      - name: a first personal look-up is an infraction
        kind: positive            # positive: the law applies / the defense holds; negative: it does not
        case: {allegations: [{citation: "PC 502(c)(7)", status: alleged}], facts: {stated_purpose: personal}}
        findings: {subject-queries: 2, unassigned-terminal-queries: 0}   # optional, instead of evidence files
        as_of: 2026-11-30
        rules: [pc-805-a]         # optional: the rules it exercises (limitations.RULES, limitation and timing ids)
        expect:
          statutes: {"PC 502(c)(7)": {classification: infraction, elements: {access: supported}}}
          defenses: {access-with-permission: strong}
          priorities: [fact:credentials_shared]      # the first investigation priorities, in this order
          dispositions: {felony: {post: "shall revoke", available: "yes"}}   # a cell's status or words in it
          chronology: [{kind: deadline, date: 2026-03-04, tolled: true}]     # an entry with these fields
"""
from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assessment.core import casefile, yamlio
from assessment.core.errors import KB001, KB002, KB003, KB006, KB007, AssessmentError, Problem
from assessment.evidence.model import FINDINGS, EvidenceResult, Finding
from assessment.law import engine, limitations

BASE_CASE = {
    "format": "clets-case/1",
    "matter": {"id": "SCENARIO", "title": "Scenario", "stage": "investigation"},
    "client": {"name": "Scenario Client", "role": "peace_officer", "operator_ids": ["OP1"], "terminal_ids": ["T1"]},
}


class StatuteExpect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    present: bool = True
    source: str | None = None
    classification: str | None = None
    limitation: str | None = None
    limitation_rule: str | None = None
    limitation_readings: list[str] | None = None      # the statuses under each tier, base first (§ 805(a))
    if_charged_later: str | None = None               # words the "if charged later" line must contain
    elements: dict[str, str] = Field(default_factory=dict)


class PobrExpect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str | None = None
    covered: str | None = None
    tolled: bool | None = None
    deadline: dt.date | None = None


class EventExpect(BaseModel):
    """A chronology entry that must be there: every field given must match one event."""
    model_config = ConfigDict(extra="forbid")
    kind: str | None = None
    date: dt.date | None = None
    what: str | None = None          # words its description must contain
    tolled: bool | None = None
    passed: bool | None = None


class Expect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    statutes: dict[str, StatuteExpect] = Field(default_factory=dict)
    defenses: dict[str, str | list[str]] = Field(default_factory=dict)
    pobr: PobrExpect | None = None
    open_questions: list[str] = Field(default_factory=list)   # words some open question must contain
    priorities: list[str] = Field(default_factory=list)       # the first investigation priorities, in order (fact:<key>)
    # outcome -> heading -> the cell's status (applies, does-not-apply, unknown, not-available) or words its text
    # must contain; heading `available` -> yes or no
    dispositions: dict[str, dict[str, str]] = Field(default_factory=dict)
    chronology: list[EventExpect] = Field(default_factory=list)


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    kind: Literal["positive", "negative"]
    case: dict[str, Any] = Field(default_factory=dict)
    findings: dict[str, int] | None = None
    as_of: dt.date = dt.date(2026, 11, 30)
    rules: list[str] = Field(default_factory=list)
    expect: Expect

    @field_validator("findings")
    @classmethod
    def _registered(cls, findings: dict[str, int] | None) -> dict[str, int] | None:
        for fid in findings or {}:
            if fid not in FINDINGS:
                raise ValueError(f"unknown finding '{fid}' (known: {', '.join(FINDINGS)})")
        return findings


class ScenarioFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: str
    scenarios: list[Scenario]


@dataclass
class Loaded:
    file: str
    subject: str
    scenarios: list[Scenario]
    lines: list[int | None]


def _merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def files(kb_dir: Path) -> list[Path]:
    return sorted(list((kb_dir / "statutes").glob("*.scenarios.yaml")) + list((kb_dir / "defenses").glob("*.scenarios.yaml")))


def load(kb_dir: Path) -> list[Loaded]:
    out, problems = [], []
    for path in files(kb_dir):
        rel = str(path.relative_to(kb_dir.parent))
        try:
            tree = yamlio.parse(path.read_text(encoding="utf-8"), rel, KB001)
            data = ScenarioFile.model_validate(yamlio.to_plain(tree))
        except AssessmentError as exc:
            problems += exc.problems
            continue
        except ValidationError as exc:
            problems += casefile.problems_from_validation(exc, tree, rel, code=KB002)
            continue
        lines = [yamlio.locate(tree, ["scenarios", i])[0] for i in range(len(data.scenarios))]
        out.append(Loaded(rel, data.subject, data.scenarios, lines))
    if problems:
        raise AssessmentError(problems)
    return out


def run_one(kb, sc: Scenario) -> list[str]:
    """Failures of one scenario, as sentences; empty when it passes."""
    text = yamlio.dump(_merge(BASE_CASE, sc.case))
    try:
        case = casefile.loads(text, "scenario", kb)
    except AssessmentError as exc:
        return [f"the scenario's case does not load: {exc}"]
    ev = None
    if sc.findings is not None:
        ev = EvidenceResult(files=[], client_queries=0, findings={
            fid: Finding(fid, n, [], f"{n} (scenario)") for fid, n in sc.findings.items()})
    result = engine.assess(case, kb, ev, sc.as_of, rank_questions=bool(sc.expect.priorities))
    fails = []
    statutes = {s.citation: s for s in result.statutes}
    for cite, want in sc.expect.statutes.items():
        got = statutes.get(cite)
        if not want.present:
            if got:
                fails.append(f"{cite} should not appear, but it does (source {got.source})")
            continue
        if not got:
            fails.append(f"{cite} should appear; the statutes are {sorted(statutes) or 'none'}")
            continue
        for field in ("source", "classification"):
            if getattr(want, field) and getattr(got, field) != getattr(want, field):
                fails.append(f"{cite} {field}: expected {getattr(want, field)}, got {getattr(got, field)}")
        lim = got.limitation
        if want.limitation and (lim.status if lim else None) != want.limitation:
            fails.append(f"{cite} limitation: expected {want.limitation}, got {lim.status if lim else None}")
        if want.limitation_rule and (lim.rule if lim else None) != want.limitation_rule:
            fails.append(f"{cite} governing limitation rule: expected {want.limitation_rule}, "
                         f"got {lim.rule if lim else None}")
        if want.limitation_readings is not None:
            readings = [r.status for r in (lim.readings or [])] if lim else []
            if readings != want.limitation_readings:
                fails.append(f"{cite} limitation readings: expected {want.limitation_readings}, got {readings}")
        if want.if_charged_later is not None:
            line = lim.if_charged_later if lim else None
            if not line or want.if_charged_later.lower() not in line.lower():
                fails.append(f"{cite} if charged later: expected it to say '{want.if_charged_later}', got {line!r}")
        elements = {e.id: e.status for e in got.elements}
        for eid, status in want.elements.items():
            if elements.get(eid) != status:
                fails.append(f"{cite} element {eid}: expected {status}, got {elements.get(eid, 'no such element')}")
    defenses = {d.id: d.strength for d in result.defenses}
    for did, strengths in sc.expect.defenses.items():
        allowed = [strengths] if isinstance(strengths, str) else strengths
        if defenses.get(did) not in allowed:
            fails.append(f"defense {did}: expected {' or '.join(allowed)}, got {defenses.get(did)}")
    if sc.expect.pobr:
        got_pobr = result.computed.pobr
        for name in ("status", "covered", "tolled", "deadline"):
            want_value = getattr(sc.expect.pobr, name)
            got_value = getattr(got_pobr, name)
            if name == "deadline" and want_value is not None:
                want_value = want_value.isoformat()
            if want_value is not None and got_value != want_value:
                fails.append(f"POBR {name}: expected {want_value}, got {got_value}")
    for words in sc.expect.open_questions:
        if not any(words.lower() in q.lower() for q in result.open_questions):
            fails.append(f"no open question says '{words}'")
    ranked = [p.fact for p in result.investigation_priorities]
    if sc.expect.priorities and ranked[:len(sc.expect.priorities)] != sc.expect.priorities:
        fails.append(f"investigation priorities: expected {sc.expect.priorities} first, got {ranked}")
    return fails + _dispositions_fail(sc, result) + _chronology_fail(sc, result) + _rules_not_applied(kb, sc, result)


_CELL_STATUSES = {"applies", "does-not-apply", "unknown", "not-available"}


def _dispositions_fail(sc: Scenario, result) -> list[str]:
    fails = []
    rows = {d.id: d for d in result.dispositions}
    for oid, want in sc.expect.dispositions.items():
        row = rows.get(oid)
        if row is None:
            fails.append(f"no disposition '{oid}' (there are: {', '.join(rows) or 'none'})")
            continue
        cells = {c.column: c for c in row.cells}
        for col, value in want.items():
            if col == "available":
                if row.available != (value == "yes"):
                    fails.append(f"{oid}: expected available {value}, got {row.available} ({row.availability})")
                continue
            cell = cells.get(col)
            if cell is None:
                fails.append(f"{oid}: no cell under '{col}'")
            elif value in _CELL_STATUSES and cell.status != value:
                fails.append(f"{oid} / {col}: expected {value}, got {cell.status} ({cell.text})")
            elif value not in _CELL_STATUSES and value.lower() not in cell.text.lower():
                fails.append(f"{oid} / {col}: expected it to say '{value}', got {cell.text!r}")
    return fails


def _chronology_fail(sc: Scenario, result) -> list[str]:
    fails = []
    def fits(e, want: EventExpect) -> bool:
        return ((want.kind is None or e.kind == want.kind)
                and (want.date is None or e.date[:10] == want.date.isoformat())
                and (want.what is None or want.what.lower() in e.what.lower())
                and (want.tolled is None or e.tolled == want.tolled)
                and (want.passed is None or e.passed == want.passed))
    for want in sc.expect.chronology:
        if not any(fits(e, want) for e in result.chronology):
            fails.append(f"no chronology entry {want.model_dump(exclude_none=True, mode='json')}; the entries are "
                         + "; ".join(f"{e.date} {e.kind} {e.what}" for e in result.chronology[:30]))
    return fails


def _rules_not_applied(kb, sc: Scenario, result) -> list[str]:
    """A scenario that names a limitation or timing rule in `rules:` must show it applied: the
    limitation rule among some statute's candidates, the timing rule's authority in a commencement
    line, the POBR explanation, or its question among the open questions."""
    lims = [s.limitation for s in result.statutes if s.limitation]
    said = " ".join([lim.commenced_by or "" for lim in lims] + [result.computed.pobr.explanation] + result.open_questions)
    fails = []
    for rule in sc.rules:
        if rule in kb.limitations and not any(c.rule == rule for lim in lims for c in lim.candidates):
            fails.append(f"names rule {rule}, but no statute's limitation applies it")
        if rule in kb.timing:
            t = kb.timing[rule]
            if t.authority not in said and not (t.question and t.question in result.open_questions):
                fails.append(f"names rule {rule}, but the result shows neither {t.authority} nor its question")
    return fails


def run_all(kb, kb_dir: Path) -> tuple[int, list[Problem]]:
    """Run every scenario; (number run, located failures)."""
    loaded = load(kb_dir)
    problems, count = [], 0
    for lf in loaded:
        for sc, line in zip(lf.scenarios, lf.lines, strict=True):
            count += 1
            for fail in run_one(kb, sc):
                problems.append(Problem(KB006, f"scenario '{sc.name}': {fail}", file=lf.file, line=line))
    return count, problems


def rule_ids(kb) -> list[str]:
    """Every rule that needs a scenario: each limitation, timing and POBR rule of the knowledge base
    and each rule the engine applies in code (limitations.RULES)."""
    return [*kb.limitations, *kb.timing, *kb.pobr, *limitations.RULES]


def coverage(kb, kb_dir: Path) -> list[Problem]:
    """Every statute and every defense needs at least one positive and one negative scenario, and
    every rule (rule_ids) at least one scenario naming it."""
    loaded = load(kb_dir)
    kinds: dict[str, set[str]] = {}
    for lf in loaded:
        kinds.setdefault(lf.subject, set()).update(sc.kind for sc in lf.scenarios)
    problems = []
    for attr, folder in (("statutes", "statutes"), ("defenses", "defenses")):
        for key in getattr(kb, attr):
            missing = {"positive", "negative"} - kinds.get(key, set())
            if missing:
                problems.append(Problem(KB007, f"'{key}' has no {' and no '.join(sorted(missing))} scenario",
                                        file=f"knowledge/{folder}/{key}.scenarios.yaml",
                                        hint="add scenarios: facts in, expected result out"))
    loaded = load(kb_dir)
    rules = rule_ids(kb)
    exercised = {r for lf in loaded for sc in lf.scenarios for r in sc.rules}
    for rule in rules:
        if rule not in exercised:
            pobr = rule.startswith(("pobr", "gc-3304"))
            problems.append(Problem(KB007, f"rule '{rule}' has no scenario that names it in `rules:`",
                                    file="knowledge/defenses/" + ("administrative-limitations" if pobr
                                                                  else "statute-of-limitations") + ".scenarios.yaml",
                                    hint="add a scenario (a realistic case) that exercises it, with rules: [" + rule + "]"))
    for lf in loaded:
        for sc in lf.scenarios:
            for r in sc.rules:
                if r not in rules:
                    problems.append(Problem(KB003, f"scenario '{sc.name}' names unknown rule '{r}'", file=lf.file,
                                            hint=", ".join(rules)))
    known = set(kb.statutes) | set(kb.defenses)
    for lf in loaded:
        if lf.subject not in known:
            problems.append(Problem(KB003, f"scenarios for unknown entry '{lf.subject}'", file=lf.file, line=1))
    return problems
