"""The one validator of knowledge/: `clets-assess validate-kb` runs it, and so does the editor on
every proposed edit (law/edit.py), whichever file is edited, so nothing the command would refuse
can be saved. It loads the knowledge base with every cross-reference, runs every scenario and
checks that each statute and defense has them, and loads and compiles the narrative-mining data
(knowledge/nlp/) exactly as the miner runs it."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from assessment.core.errors import AssessmentError, Problem
from assessment.law import kb as kbmod
from assessment.law import nlp, scenarios


@dataclass(frozen=True)
class Validated:
    """A knowledge base that passed, with what was counted on the way."""

    kb: kbmod.KnowledgeBase
    scenarios: int
    entity_patterns: int
    fact_triggers: int


def validate(directory: Path | str | None = None) -> Validated:
    """Check the whole knowledge base in `directory` (default: the one in use); raise
    AssessmentError listing every problem, each with its file and line or field."""
    root = Path(directory) if directory else kbmod.default_dir()
    n_patterns, n_triggers, nlp_problems = nlp.check(root)
    try:
        kb = kbmod.load(root)
    except AssessmentError as exc:
        raise AssessmentError(exc.problems + nlp_problems) from None
    problems: list[Problem]
    try:
        count, problems = scenarios.run_all(kb, root)
        problems += scenarios.coverage(kb, root)
    except AssessmentError as exc:       # a scenario file that does not load
        count, problems = 0, exc.problems
    if problems or nlp_problems:
        raise AssessmentError(problems + nlp_problems)
    return Validated(kb, count, n_patterns, n_triggers)


def files(directory: Path | str) -> list[Path]:
    """Every file the validator reads: the files the editor offers."""
    root = Path(directory)
    return sorted({*kbmod.files(root), *scenarios.files(root), *(p for p in nlp.files(root) if p.exists())})
