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
        expect:
          statutes: {"PC 502(c)(7)": {classification: infraction, elements: {access: supported}}}
          defenses: {access-with-permission: strong}
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
from assessment.law import engine

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
    elements: dict[str, str] = Field(default_factory=dict)


class Expect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    statutes: dict[str, StatuteExpect] = Field(default_factory=dict)
    defenses: dict[str, str | list[str]] = Field(default_factory=dict)


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    kind: Literal["positive", "negative"]
    case: dict[str, Any] = Field(default_factory=dict)
    findings: dict[str, int] | None = None
    as_of: dt.date = dt.date(2026, 11, 30)
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
    result = engine.assess(case, kb, ev, sc.as_of)
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
        elements = {e.id: e.status for e in got.elements}
        for eid, status in want.elements.items():
            if elements.get(eid) != status:
                fails.append(f"{cite} element {eid}: expected {status}, got {elements.get(eid, 'no such element')}")
    defenses = {d.id: d.strength for d in result.defenses}
    for did, strengths in sc.expect.defenses.items():
        allowed = [strengths] if isinstance(strengths, str) else strengths
        if defenses.get(did) not in allowed:
            fails.append(f"defense {did}: expected {' or '.join(allowed)}, got {defenses.get(did)}")
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


def coverage(kb, kb_dir: Path) -> list[Problem]:
    """Every statute and every defense needs at least one positive and one negative scenario."""
    kinds: dict[str, set[str]] = {}
    for lf in load(kb_dir):
        kinds.setdefault(lf.subject, set()).update(sc.kind for sc in lf.scenarios)
    problems = []
    for attr, folder in (("statutes", "statutes"), ("defenses", "defenses")):
        for key in getattr(kb, attr):
            missing = {"positive", "negative"} - kinds.get(key, set())
            if missing:
                problems.append(Problem(KB007, f"'{key}' has no {' and no '.join(sorted(missing))} scenario",
                                        file=f"knowledge/{folder}/{key}.scenarios.yaml",
                                        hint="add scenarios: facts in, expected result out"))
    known = set(kb.statutes) | set(kb.defenses)
    for lf in load(kb_dir):
        if lf.subject not in known:
            problems.append(Problem(KB003, f"scenarios for unknown entry '{lf.subject}'", file=lf.file, line=1))
    return problems
