"""The narrative-mining data in knowledge/nlp/: its schemas (entity patterns, fact rules, annotated
sets), loading with located errors, and the regular expressions compiled exactly as the miner runs
them. The miner (narrative/) reads this data only through here, so what validates here is what it
runs; `check` is the part of the single validator (law/validation.py) that covers the folder."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assessment.core import yamlio
from assessment.core.casefile import FACT_KEYS, problems_from_validation
from assessment.core.errors import KB001, KB002, KB003, AssessmentError, Problem
from assessment.law import kb as kbmod

ENTITIES, RULES, GOLD = "entities.yaml", "facts.yaml", "gold*.yaml"
REGEX_HINT = "write \\s for a space and \\# for a literal #"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EntityPattern(_Model):
    label: Literal["STATUTE", "DATE", "MONEY", "PLATE", "CASE_NUMBER", "OPERATOR_ID", "TERMINAL", "ORI", "PERSON"]
    name: str
    normalize: Literal["statute", "date", "money", "ident", "person"]
    regex: str


class PatternFile(_Model):
    """knowledge/nlp/entities.yaml"""

    patterns: list[EntityPattern]


class FactRule(_Model):
    actor: Literal["client", "not_other", "any"] = "client"   # not_other: the client, or no one named
    yes: list[str] = Field(default_factory=list)
    no: list[str] = Field(default_factory=list)
    values: dict[str, list[str]] = Field(default_factory=dict)
    unless: list[str] = Field(default_factory=list)    # words near the trigger, in its clause, that cancel it
    client_acts: list[str] = Field(default_factory=list)   # `yes` triggers that count only as the client's act


class ModelUse(_Model):
    """How the suggester uses the trained sentence classifier (assessment/narrative/model.py)."""

    use: bool = True
    veto_below: float = Field(0.003, ge=0, le=1)   # a trigger's suggestion scored below this is marked low
    add_at: float = Field(0.5, ge=0, le=1)        # a sentence scored at least this suggests a fact no trigger found


class Rules(_Model):
    """knowledge/nlp/facts.yaml: the words that suggest case-file facts, and who acts."""

    client_refs: list[str]
    first_person: list[str]
    pronouns: list[str]
    institutions: list[str]
    other_actors: list[str]
    negations: list[str]
    hedges: list[str]
    sentence_hedges: list[str]
    reporting_verbs: list[str]
    contradictions: list[str] = Field(default_factory=list)
    query_verbs: list[str] = Field(default_factory=list)
    clause_breaks: list[str]
    relationships: dict[str, list[str]]
    facts: dict[str, FactRule]
    model: ModelUse = Field(default_factory=ModelUse)

    @field_validator("facts")
    @classmethod
    def _known_keys(cls, v: dict) -> dict:
        unknown = [k for k in v if k not in FACT_KEYS]
        if unknown:
            raise ValueError(f"not a case-file fact: {', '.join(unknown)} (facts are {', '.join(FACT_KEYS)})")
        return v

    def relationship_patterns(self) -> list[tuple[str, str]]:
        return [(rel, "(?:" + "|".join(words) + ")") for rel, words in self.relationships.items()]


class GoldNarrative(_Model):
    id: str
    style: str
    client: list[str] = Field(default_factory=list)
    text: str
    entities: list[tuple[str, str]] = Field(default_factory=list)
    facts: dict[str, str] = Field(default_factory=dict)
    # the words of the sentence (or bullet) that state each fact: where a suggestion must point
    support: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _support_quotes_the_text(self) -> GoldNarrative:
        flat = " ".join(self.text.split())
        for key, quote in self.support.items():
            if key not in self.facts:
                raise ValueError(f"{self.id}: support for {key}, which is not one of its facts")
            if " ".join(quote.split()) not in flat:
                raise ValueError(f"{self.id}: the support for {key} is not a quote from the text: {quote!r}")
        return self


class GoldSet(_Model):
    """knowledge/nlp/gold*.yaml: annotated narratives that `clets-assess eval-nlp` scores against."""

    narratives: list[GoldNarrative]


def nlp_dir(kb_dir: Path | str | None = None) -> Path:
    return Path(kb_dir or kbmod.default_dir()) / "nlp"


def files(kb_dir: Path) -> list[Path]:
    """The files of knowledge/nlp/ that `check` reads."""
    d = nlp_dir(kb_dir)
    return [d / ENTITIES, d / RULES, *sorted(d.glob(GOLD))]


@dataclass
class DataFile:
    """A loaded data file: its name as problems give it, its parsed tree (for line numbers), and
    the problems found while compiling its patterns."""

    name: str
    tree: Any
    problems: list[Problem] = field(default_factory=list)

    def regex(self, rx: str, loc: list, flags: int = 0) -> re.Pattern:
        """`rx` compiled as the miner runs it (verbose). One that does not compile is noted as a
        located problem (`raise_problems` raises them all at once) and stands in as a pattern
        that never matches."""
        try:
            return re.compile(rx, re.VERBOSE | flags)
        except re.error as exc:
            line, col = yamlio.locate(self.tree, loc)
            self.problems.append(Problem(KB002, f"the regular expression does not compile: {exc}", file=self.name,
                                         line=line, column=col, field=yamlio.key_path(loc), hint=REGEX_HINT))
            return re.compile(r"(?!)")

    def raise_problems(self) -> None:
        if self.problems:
            raise AssessmentError(list(self.problems))


M = TypeVar("M", bound=BaseModel)


def _name(path: Path) -> str:
    """How problems name a file of knowledge/nlp/: from the knowledge folder on ("knowledge/nlp/facts.yaml")."""
    return str(Path(*path.parts[-3:])) if path.parent.name == "nlp" else str(path)


def load(path: Path, model: type[M]) -> tuple[M, DataFile]:
    """Parse and validate one data file; errors carry file, line and field."""
    name = _name(Path(path))
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise AssessmentError([Problem(KB001, "the file is not UTF-8 text", file=name)]) from None
    except OSError as exc:
        raise AssessmentError([Problem(KB003, f"cannot read the file: {exc.strerror}", file=name)]) from None
    tree = yamlio.parse(text, name, KB001)
    try:
        return model.model_validate(yamlio.to_plain(tree)), DataFile(name, tree)
    except ValidationError as exc:
        raise AssessmentError(problems_from_validation(exc, tree, name, code=KB002)) from None


def entity_patterns(directory: Path | str) -> list[tuple[EntityPattern, re.Pattern]]:
    """Each entity pattern of `directory`/entities.yaml with its compiled regular expression."""
    data, source = load(Path(directory) / ENTITIES, PatternFile)
    out = [(p, source.regex(p.regex, ["patterns", i, "regex"])) for i, p in enumerate(data.patterns)]
    source.raise_problems()
    return out


class CompiledRules:
    """The fact rules with every regular expression compiled once, as the suggester runs them."""

    def __init__(self, r: Rules, source: DataFile):
        i = re.IGNORECASE

        def alt(words: list[str], loc: list, flags: int = i) -> re.Pattern:
            return source.regex(r"\b(?:" + "|".join(f"(?:{w})" for w in words) + r")(?![\w-])", loc, flags)
        self.rules = r
        self.client = alt(r.client_refs, ["client_refs"])
        self.first = alt(r.first_person, ["first_person"], 0)
        self.pronoun = alt(r.pronouns, ["pronouns"])
        self.other = alt(r.other_actors, ["other_actors"])
        self.org = alt(r.institutions, ["institutions"])
        self.neg = alt(r.negations, ["negations"])
        self.hedge = alt(r.hedges, ["hedges"])
        self.sentence_hedge = alt(r.sentence_hedges, ["sentence_hedges"])
        self.reporting = alt(r.reporting_verbs, ["reporting_verbs"])
        self.contradiction = alt(r.contradictions, ["contradictions"]) if r.contradictions else None
        self.looked_up = source.regex(r"\b(?:" + "|".join(f"(?:{w})" for w in r.query_verbs) +
                                      r")\s+(?:[\w'’-]+[,\s]+){0,4}$", ["query_verbs"], i) if r.query_verbs else None
        self.breaks = source.regex("|".join(f"(?:{b})" for b in r.clause_breaks), ["clause_breaks"], i)
        self.triggers: list[tuple[str, str, str, re.Pattern]] = []   # key, value, kind, regex
        self.unless = {key: alt(rule.unless, ["facts", key, "unless"]) for key, rule in r.facts.items() if rule.unless}
        for key, rule in r.facts.items():
            for kind, name, items in (("yes", "yes", rule.yes), ("no", "no", rule.no),
                                      ("client_act", "client_acts", rule.client_acts)):
                for n, rx in enumerate(items):
                    self.triggers.append((key, kind, kind, source.regex(rf"\b(?:{rx})", ["facts", key, name, n], i)))
            for value, items in rule.values.items():
                for n, rx in enumerate(items):
                    self.triggers.append((key, value, "value",
                                          source.regex(rf"\b(?:{rx})", ["facts", key, "values", value, n], i)))


C = TypeVar("C", bound=CompiledRules)


def compile_rules(directory: Path | str, kind: type[C] = CompiledRules) -> C:  # type: ignore[assignment]
    """The fact rules of `directory`/facts.yaml compiled (as `kind`, a CompiledRules that may add
    to them); a located AssessmentError names every pattern that does not compile."""
    rules, source = load(Path(directory) / RULES, Rules)
    compiled = kind(rules, source)
    source.raise_problems()
    return compiled


def check(kb_dir: Path) -> tuple[int, int, list[Problem]]:
    """(entity patterns, fact triggers, problems) for knowledge/nlp/: the entity patterns and the
    fact rules loaded and compiled as the miner runs them, and every annotated set parsed."""
    d = nlp_dir(kb_dir)
    problems: list[Problem] = []
    n_patterns = n_triggers = 0
    try:
        n_patterns = len(entity_patterns(d))
    except AssessmentError as exc:
        problems += exc.problems
    try:
        n_triggers = len(compile_rules(d).triggers)
    except AssessmentError as exc:
        problems += exc.problems
    for gold in sorted(d.glob(GOLD)):
        try:
            load(gold, GoldSet)
        except AssessmentError as exc:
            problems += exc.problems
    return n_patterns, n_triggers, problems
