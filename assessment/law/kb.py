"""The knowledge base: pydantic models for the YAML in knowledge/, loading with located errors,
cross-reference checks, and citation resolution; and the one registry of caches that read
knowledge/ (`knowledge_cache`), emptied by `clear_knowledge_caches` after every saved edit. The
narrative-mining data (knowledge/nlp/) has its schemas beside this, in law/nlp.py."""
from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assessment.core import settings, yamlio
from assessment.core.casefile import problems_from_validation
from assessment.core.citations import Citation, parse_citation
from assessment.core.errors import KB001, KB002, KB003, KB004, KB005, AssessmentError, Code, Problem
from assessment.law import conditions

DEFENSE_IDS = (
    "lack-of-intent", "authorized-use", "access-with-permission", "mistaken-identity", "no-harm",
    "lack-of-training", "constitutional", "statute-of-limitations", "administrative-limitations",
    "mitigation",
)
Classification = Literal["felony", "wobbler", "misdemeanor", "infraction", "civil", "administrative"]
LawCode = Literal["PC", "VC", "GC", "18 USC"]
STATE_CODES: tuple[LawCode, ...] = ("PC", "VC", "GC")


def default_dir() -> Path:
    return settings.KB_DIR.get()


T = TypeVar("T")
_KNOWLEDGE_CACHES: list[functools._lru_cache_wrapper] = []


def knowledge_cache(maxsize: int | None = 4) -> Callable[[Callable[..., T]], functools._lru_cache_wrapper[T]]:
    """`functools.lru_cache` for a function whose result depends on files in knowledge/, registered
    so that a saved edit empties it: every cache that reads the knowledge base is made with this
    (tests/law/test_kb.py checks that none is made otherwise), so an edit takes effect on the next
    call in the same process, without a restart."""
    def wrap(fn: Callable[..., T]) -> functools._lru_cache_wrapper[T]:
        cached = functools.lru_cache(maxsize=maxsize)(fn)
        _KNOWLEDGE_CACHES.append(cached)
        return cached
    return wrap


def knowledge_caches() -> tuple[functools._lru_cache_wrapper, ...]:
    """Every registered cache (those of the modules imported so far)."""
    return tuple(_KNOWLEDGE_CACHES)


_GENERATION = [0]
_GENERATION_LOCK = threading.Lock()


def clear_knowledge_caches() -> None:
    """Empty every cache that reads knowledge/ (after a saved edit or revert), and count one more
    generation, so that what a browser session derived from the old knowledge base and keeps for
    itself (its assessment) can tell that it is stale."""
    with _GENERATION_LOCK:
        for cached in _KNOWLEDGE_CACHES:
            cached.cache_clear()
        _GENERATION[0] += 1


def knowledge_generation() -> int:
    """How many times the knowledge caches have been emptied in this process: anything computed
    from the knowledge base under a smaller number used an older knowledge base."""
    return _GENERATION[0]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Sourced(_Model):
    """Every fact carries where it comes from and whether it was verified, and when."""

    source: str
    verified: bool
    verified_on: dt.date | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _dated(self):
        if self.verified and self.verified_on is None:
            raise ValueError("a verified entry needs verified_on (the date it was checked)")
        return self


def _conds(value: Any) -> Any:
    if value is None:
        return []
    return [value] if isinstance(value, str) else value


class Element(Sourced):
    id: str
    text: str
    supported_by: list[str] = Field(default_factory=list)
    contested_by: list[str] = Field(default_factory=list)


class LimitationRule(Sourced):
    """A limitation period (Pen. Code §§ 799-805). General rules apply by classification; special
    rules name the statutes they govern. Where several apply, the latest-expiring governs (§ 803.6(a))."""

    id: str
    authority: str
    text: str
    codes: list[Literal["PC", "VC", "GC", "18 USC"]]  # the codes whose offenses the rule governs
    classes: list[Classification] = Field(default_factory=list)  # empty: any classification
    statutes: list[str] = Field(default_factory=list)  # empty: a general rule
    years: int | None = Field(default=None, ge=0)
    years_by_class: dict[Classification, int] = Field(default_factory=dict)
    starts: Literal["commission", "discovery", "later_of_discovery_or_completion"]
    cap_years: int | None = None  # absolute cap counted from commission
    committed_on_or_after: dt.date | None = None
    # Earlier offenses the rule also reaches: those whose period under `earlier_rule` (the rule that
    # governed them before `committed_on_or_after`) had not run by that date (Pen. Code § 801.7(b)).
    earlier_if_unbarred_under: str | None = None
    # The period also starts when the offense could reasonably have been discovered (§ 801.7(a)).
    constructive_discovery: bool = False
    questions: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _length(self):
        if (self.years is None) == (not self.years_by_class):
            raise ValueError("give either years or years_by_class")
        return self

    def period_for(self, classification: Classification) -> int | None:
        return self.years if self.years is not None else self.years_by_class.get(classification)

    def applies(self, statute: Statute, classification: Classification) -> bool:
        statute_id = statute.id
        return (statute.code in self.codes and (not self.classes or classification in self.classes)
                and (not self.statutes or statute_id in self.statutes)
                and self.period_for(classification) is not None)


class TimingRule(Sourced):
    """A rule on when a period is counted rather than how long it is: when prosecution is
    "commenced" (Pen. Code § 804), or time that does not count (tolling, § 803(b), (d); Gov. Code
    § 3304(d)(2)). `dates` are the case-file dates it reads; with none, the case file cannot show
    it and the engine asks `question`."""

    id: str
    kind: Literal["commencement", "tolling"]
    applies: Literal["criminal", "pobr"]
    codes: list[LawCode] = Field(default_factory=lambda: list(STATE_CODES))   # whose offenses it governs
    authority: str
    text: str
    classes: list[Classification] = Field(default_factory=list)  # commencement: the classes it governs
    dates: list[str] = Field(default_factory=list)
    question: str | None = None


Covered = Literal["yes", "no", "depends"]


class RoleCoverage(_Model):
    covered: Covered
    basis: str


class PobrRule(Sourced):
    """The one-year limit on discipline (Gov. Code § 3304(d)) and whom it protects (§ 3301), by the
    case file's client roles."""

    id: Literal["pobr"]
    authority: str
    text: str
    years: int = Field(ge=1)
    coverage: dict[str, RoleCoverage]


class PenaltyTier(Sourced):
    id: str
    when: str
    base: bool = False
    decided_by: list[str] = Field(default_factory=list)
    classification: Classification
    custody: str
    fine: str


class Subdivision(Sourced):
    id: str  # "(c)(2)"
    summary: str
    elements: list[Element] = Field(default_factory=list)
    penalties: list[PenaltyTier] = Field(default_factory=list)


class Misdescription(Sourced):
    claim: str
    correction: str


class Provision(Sourced):
    id: str
    text: str
    bears_on: list[str] = Field(default_factory=list)


class Split(_Model):
    """A question on which the authorities divide; the memo presents both lines."""

    id: str
    question: str
    defense_line: list[str]
    prosecution_line: list[str]
    analysis: str


class Suggestion(_Model):
    citation: str
    when: list[str]
    reason: str

    _w = field_validator("when", mode="before")(_conds)


class Statute(Sourced):
    id: str
    code: Literal["PC", "VC", "GC", "18 USC"]
    section: str
    also_resolves: list[str] = Field(default_factory=list)  # neighbouring sections this entry explains
    title: str
    official_heading: str
    heading_verified: bool = True
    history: str | None = None
    text_as_of: dt.date | None = None
    jury_instruction: str | None = None
    elements: list[Element] = Field(default_factory=list)
    penalties: list[PenaltyTier] = Field(default_factory=list)
    subdivisions: list[Subdivision] = Field(default_factory=list)
    provisions: list[Provision] = Field(default_factory=list)
    misdescriptions: list[Misdescription] = Field(default_factory=list)
    suggest: list[Suggestion] = Field(default_factory=list)
    authorities: list[str] = Field(default_factory=list)
    splits: list[Split] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @property
    def citation(self) -> str:
        return f"{self.code} {self.section}"

    def subdivision(self, sub: str) -> Subdivision | None:
        return next((s for s in self.subdivisions if s.id == sub), None)


Weight = Literal["dispositive", "substantial", "supporting"]
Scope = Literal["every-count", "some-counts", "some-acts"]


class Factor(_Model):
    """A fact or finding that bears on a defense, with its legal effect as data: `weight` says what it
    does if it holds (dispositive: defeats the charge or the discipline by itself as a matter of law;
    substantial: goes to an element or makes reasonable doubt likely; supporting: corroborates or
    mitigates), `scope` how much of the case it reaches, `contested` whether that effect rests on a
    reading of the law that courts or the parties dispute. The engine turns these into a strength
    (engine.strength_of); it never counts factors."""
    when: list[str]
    reason: str
    weight: Weight
    scope: Scope = "every-count"
    contested: bool = False

    _w = field_validator("when", mode="before")(_conds)


class Defense(Sourced):
    id: str
    name: str
    covers: str
    applies_to: list[str]  # statute ids, or ["*"] for every cited statute
    counts_only: bool = False  # bears only on the counts the case file names, never on a suggested statute
    requires: list[str] = Field(default_factory=list)
    requires_reason: str | None = None
    strengthened_by: list[Factor] = Field(default_factory=list)
    weakened_by: list[Factor] = Field(default_factory=list)
    authorities_for: list[str] = Field(default_factory=list)
    authorities_against: list[str] = Field(default_factory=list)
    to_strengthen: list[str] = Field(default_factory=list)
    open_questions: list[str] = Field(default_factory=list)

    _r = field_validator("requires", mode="before")(_conds)


class Authority(Sourced):
    id: str
    name: str
    cite: str
    court: str
    year: int
    holding: str
    holding_verified: bool
    helps: Literal["defense", "prosecution", "both", "context"]
    kind: Literal["case", "statute", "regulation", "secondary"] = "case"


class Consequence(Sourced):
    id: str
    title: str = Field(min_length=10, max_length=125)   # the line the memo's body prints; `text` is in its appendix
    text: str
    applies_when: list[str] = Field(default_factory=list)
    authority: str | None = None

    _w = field_validator("applies_when", mode="before")(_conds)


class PenaltyFamily(_Model):
    id: Literal["criminal", "employment", "administrative", "civil"]
    title: str
    consequences: list[Consequence]


class Database(Sourced):
    id: str
    name: str
    returns: str
    protected_by: list[str] = Field(default_factory=list)


class MessageKey(Sourced):
    key: str
    meaning: str


class ContextRule(Sourced):
    id: str
    text: str


class DiscoveryItem(Sourced):
    id: str
    item: str
    why: str
    when: list[str] = Field(default_factory=list)

    _w = field_validator("when", mode="before")(_conds)


class CletsContext(_Model):
    """What CLETS is made of, which statute protects each part, and what to demand in discovery."""

    id: Literal["clets"]
    databases: list[Database]
    message_keys: list[MessageKey]
    rules: list[ContextRule]
    discovery: list[DiscoveryItem]


class FactQuestion(Sourced):
    """The question the memo asks when a case-file fact (`key`) or date (`dates.<key>`,
    `client.<date key>`) is unknown, the investigation step that answers it and the discovery request
    to serve, with the law the step and the request rely on (`source`, `verified`). For a date, `after` names
    the dates it cannot precede and `before` those it cannot follow: the investigation priorities try it as
    early as the latest of the first and as late as the earliest of the second (or the assessment date)."""
    key: str
    label: str
    question: str
    investigate: str = ""
    request: str = ""
    after: list[str] = Field(default_factory=list)
    before: list[str] = Field(default_factory=list)


OUTCOME_IDS = ("dismissal", "diversion", "infraction", "misdemeanor", "felony-reduced", "felony",
               "no-discipline", "suspension", "termination")
COLUMN_IDS = ("criminal", "employment", "post", "pension", "firearms", "disclosure", "dppa")


class Outcome(_Model):
    id: Literal["dismissal", "diversion", "infraction", "misdemeanor", "felony-reduced", "felony",
                "no-discipline", "suspension", "termination"]
    kind: Literal["criminal", "administrative"]
    label: str
    description: str


class Column(_Model):
    id: Literal["criminal", "employment", "post", "pension", "firearms", "disclosure", "dppa"]
    heading: str


class DispositionCell(Sourced):
    """What the `outcomes` cost under one `column` when every `when` condition holds. For one outcome
    and column the first cell (in file order) whose conditions hold is the answer; a cell whose
    conditions wait on an unknown fact makes the answer `unknown`, stated both ways. Every outcome
    needs, under every column, a last cell with no condition, so the matrix is never blank."""
    id: str
    column: Literal["criminal", "employment", "post", "pension", "firearms", "disclosure", "dppa"]
    outcomes: list[str]
    when: list[str] = Field(default_factory=list)
    status: Literal["applies", "does-not-apply"] = "applies"
    short: str | None = Field(None, max_length=48)   # the effect in a few words, for the memo body's table
    text: str
    consequence: str | None = None     # "<family>.<id>" in penalty-families.yaml, for the full text

    _w = field_validator("when", mode="before")(_conds)


class Dispositions(_Model):
    """The disposition matrix: the ways a case can end, the headings of what each costs, and the cells."""
    id: Literal["dispositions"]
    outcomes: list[Outcome]
    columns: list[Column]
    cells: list[DispositionCell]


@dataclass
class Resolution:
    citation: Citation | None = None
    statute: Statute | None = None
    subdivision: Subdivision | None = None
    problem: str | None = None


@dataclass
class KnowledgeBase:
    statutes: dict[str, Statute] = field(default_factory=dict)
    defenses: dict[str, Defense] = field(default_factory=dict)
    authorities: dict[str, Authority] = field(default_factory=dict)
    families: dict[str, PenaltyFamily] = field(default_factory=dict)
    facts: dict[str, FactQuestion] = field(default_factory=dict)
    limitations: dict[str, LimitationRule] = field(default_factory=dict)
    context: dict[str, CletsContext] = field(default_factory=dict)
    timing: dict[str, TimingRule] = field(default_factory=dict)
    pobr: dict[str, PobrRule] = field(default_factory=dict)
    dispositions: dict[str, Dispositions] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # entry id -> file it came from

    @cached_property
    def by_section(self) -> dict[str, Statute]:
        out = {}
        for s in self.statutes.values():
            out[s.citation] = s
            for sec in s.also_resolves:
                out[f"{s.code} {sec}"] = s
        return out

    def resolve(self, text: str) -> Resolution:
        cite = parse_citation(text)
        if cite is None:
            return Resolution(problem=f"'{text}' is not a citation the tool can read")
        statute = self.by_section.get(cite.section_key)
        if statute is None:
            known = ", ".join(sorted(self.by_section))
            return Resolution(cite, problem=f"'{text}' is not in the knowledge base (it holds {known})")
        if not cite.subdivision or cite.section != statute.section:
            return Resolution(cite, statute)
        sub = statute.subdivision(cite.subdivision)
        if sub is None:
            known = ", ".join(s.id for s in statute.subdivisions) or "none"
            return Resolution(cite, statute, problem=(
                f"'{text}': the knowledge base has no subdivision {cite.subdivision} of "
                f"{statute.citation} (it holds: {known})"))
        return Resolution(cite, statute, sub)


def iter_sourced(kb: KnowledgeBase):
    """(kind, label, entry) for every sourced entry: what `verified` counts cover."""
    def parts(label, elements, penalties):
        for e in elements:
            yield "element", f"{label} {e.id}", e
        for t in penalties:
            yield "penalty", f"{label} {t.id}", t

    def statute_parts(st):
        yield from parts(st.citation, st.elements, st.penalties)
        for p in st.provisions:
            yield "provision", f"{st.citation} {p.id}", p
        for m in st.misdescriptions:
            yield "misdescription", st.citation, m
        for sub in st.subdivisions:
            yield "subdivision", f"{st.citation}{sub.id}", sub
            yield from parts(f"{st.citation}{sub.id}", sub.elements, sub.penalties)
    for st in kb.statutes.values():
        yield "statute", st.citation, st
        yield from statute_parts(st)
    for d in kb.defenses.values():
        yield "defense", d.id, d
    for a in kb.authorities.values():
        yield "authority", a.cite, a
    for r in kb.limitations.values():
        yield "limitation", r.authority, r
    for t in kb.timing.values():
        yield "timing", t.authority, t
    for p in kb.pobr.values():
        yield "pobr", p.authority, p
    for f in kb.families.values():
        for c in f.consequences:
            yield "consequence", f"{f.id}.{c.id}", c
    for ctx in kb.context.values():
        for group in (ctx.databases, ctx.message_keys, ctx.rules, ctx.discovery):
            for item in group:
                yield "context", item.key if isinstance(item, MessageKey) else item.id, item
    for dd in kb.dispositions.values():
        for cell in dd.cells:
            yield "disposition", cell.id, cell


_FILES = {
    "statutes": ("statutes", Statute),
    "defenses": ("defenses", Defense),
    "authorities": ("authorities.yaml", Authority),
    "families": ("penalty-families.yaml", PenaltyFamily),
    "facts": ("facts.yaml", FactQuestion),
    "limitations": ("limitations.yaml", LimitationRule),
    "context": ("clets.yaml", CletsContext),
    "timing": ("timing.yaml", TimingRule),
    "pobr": ("pobr.yaml", PobrRule),
    "dispositions": ("dispositions.yaml", Dispositions),
}


def _load_file(path: Path, model, problems: list[Problem], rel: str):
    """Yield (entry, tree, loc) for each entry in a file: a mapping, or a list of mappings."""
    try:
        tree = yamlio.parse(path.read_text(encoding="utf-8"), rel, KB001)
    except AssessmentError as exc:
        problems.extend(exc.problems)
        return
    items = tree if isinstance(tree, list) else [tree]
    for i, item in enumerate(items):
        loc = [i] if isinstance(tree, list) else []
        try:
            entry = model.model_validate(yamlio.to_plain(item))
        except ValidationError as exc:
            for p in problems_from_validation(exc, item, rel, code=KB002):
                if isinstance(tree, list):
                    p.field = f"[{i}]" + ("." + p.field if p.field else "")
                problems.append(p)
            continue
        yield entry, tree, loc


def _paths(target: Path) -> list[Path]:
    """The files of one part of the knowledge base: a file, or a folder's entries (not its scenarios)."""
    if target.is_dir():
        return sorted(p for p in target.glob("*.yaml") if not p.name.endswith(".scenarios.yaml"))
    return [target] if target.exists() else []


def files(root: Path) -> list[Path]:
    """Every file `load` reads."""
    return [p for name, _ in _FILES.values() for p in _paths(Path(root) / name)]


def load(directory: str | Path | None = None) -> KnowledgeBase:
    """Load and validate the whole knowledge base; raise AssessmentError listing every problem."""
    root = Path(directory) if directory else default_dir()
    kb = KnowledgeBase()
    problems: list[Problem] = []
    trees: dict[str, tuple[Any, list]] = {}
    for attr, (name, model) in _FILES.items():
        target = root / name
        paths = _paths(target)
        if not paths:
            problems.append(Problem(KB003, f"no {name} found", file=str(target)))
        for path in paths:
            rel = str(path.relative_to(root.parent)) if root.parent in path.parents else str(path)
            for entry, tree, loc in _load_file(path, model, problems, rel):
                key = getattr(entry, "id", None) or entry.key
                store = getattr(kb, attr)
                if key in store:
                    line, col = yamlio.locate(tree, loc)
                    problems.append(Problem(KB004, f"id '{key}' is already used in {kb.files[attr + ':' + key]}",
                                            file=rel, line=line, column=col, field="id"))
                    continue
                store[key] = entry
                kb.files[attr + ":" + key] = rel
                trees[attr + ":" + key] = (tree, loc)
    if not problems:
        problems.extend(_cross_check(kb, trees))
    if problems:
        raise AssessmentError(problems)
    return kb


def _cross_check(kb: KnowledgeBase, trees: dict[str, tuple[Any, list]]) -> list[Problem]:
    problems: list[Problem] = []

    def problem(code: Code, attr, key, path, message, hint=None):
        tree, loc = trees[attr + ":" + key]
        line, col = yamlio.locate(tree, loc + path)
        problems.append(Problem(code, message, file=kb.files[attr + ":" + key], line=line, column=col,
                                field=yamlio.key_path(path), hint=hint))

    def check_conds(attr, key, path, conds):
        for j, text in enumerate(conds):
            try:
                cond = conditions.parse(text)
            except ValueError as exc:
                problem(KB005, attr, key, path + [j], str(exc))
                continue
            except LookupError as exc:
                problem(KB003, attr, key, path + [j], str(exc))
                continue
            if cond.kind == "charge" and kb.resolve(cond.key).problem:
                problem(KB003, attr, key, path + [j], kb.resolve(cond.key).problem)

    def check_auth(attr, key, path, ids):
        for j, aid in enumerate(ids):
            if aid not in kb.authorities:
                problem(KB003, attr, key, path + [j], f"unknown authority '{aid}'",
                        "add it to knowledge/authorities.yaml or fix the id")

    def check_tiers(sid, path, tiers):
        if tiers and sum(t.base for t in tiers) != 1:
            problem(KB002, "statutes", sid, path, "exactly one penalty tier must be marked base: true")

    def check_elements(sid, path, elements):
        for j, el in enumerate(elements):
            check_conds("statutes", sid, path + [j, "supported_by"], el.supported_by)
            check_conds("statutes", sid, path + [j, "contested_by"], el.contested_by)

    for sid, st in kb.statutes.items():
        check_elements(sid, ["elements"], st.elements)
        check_tiers(sid, ["penalties"], st.penalties)
        for i, sub in enumerate(st.subdivisions):
            check_elements(sid, ["subdivisions", i, "elements"], sub.elements)
            check_tiers(sid, ["subdivisions", i, "penalties"], sub.penalties)
        for i, sug in enumerate(st.suggest):
            res = kb.resolve(sug.citation)
            if res.problem:
                problem(KB003, "statutes", sid, ["suggest", i, "citation"], res.problem)
            check_conds("statutes", sid, ["suggest", i, "when"], sug.when)
        for i, prov in enumerate(st.provisions):
            for j, did in enumerate(prov.bears_on):
                if did not in DEFENSE_IDS:
                    problem(KB003, "statutes", sid, ["provisions", i, "bears_on", j], f"unknown defense '{did}'")
        check_auth("statutes", sid, ["authorities"], st.authorities)
        for i, sp in enumerate(st.splits):
            check_auth("statutes", sid, ["splits", i, "defense_line"], sp.defense_line)
            check_auth("statutes", sid, ["splits", i, "prosecution_line"], sp.prosecution_line)

    for did, d in kb.defenses.items():
        if did not in DEFENSE_IDS:
            problem(KB003, "defenses", did, ["id"], f"'{did}' is not one of the ten stable defense ids",
                    ", ".join(DEFENSE_IDS))
        for j, sid in enumerate(d.applies_to):
            if sid != "*" and sid not in kb.statutes:
                problem(KB003, "defenses", did, ["applies_to", j], f"unknown statute '{sid}'",
                        f"known: {', '.join(sorted(kb.statutes))}")
        check_conds("defenses", did, ["requires"], d.requires)
        for name in ("strengthened_by", "weakened_by"):
            for i, factor in enumerate(getattr(d, name)):
                check_conds("defenses", did, [name, i, "when"], factor.when)
        check_auth("defenses", did, ["authorities_for"], d.authorities_for)
        check_auth("defenses", did, ["authorities_against"], d.authorities_against)
    for fid, fam in kb.families.items():
        for i, c in enumerate(fam.consequences):
            check_conds("families", fid, ["consequences", i, "applies_when"], c.applies_when)
            if c.authority:
                check_auth("families", fid, ["consequences", i], [c.authority])
    askable = conditions.casefile.FACT_KEYS + ("prior_discipline",)
    dates = [f"dates.{k}" for k in conditions.casefile.Dates.model_fields] + [
        f"client.{k}" for k in ("hire_date", "assignment_date", "clets_training_date")]
    for key, fq in kb.facts.items():
        if key not in askable and key not in dates:
            problem(KB003, "facts", key, ["key"], f"'{key}' is not a case-file fact key or date",
                    "a fact key, dates.<key> or client.<date key>")
        for name in ("after", "before"):
            for j, ref in enumerate(getattr(fq, name)):
                if ref not in dates:
                    problem(KB003, "facts", key, [name, j], f"'{ref}' is not a case-file date")
            if getattr(fq, name) and key not in dates:
                problem(KB002, "facts", key, [name], "only a date has dates it cannot precede or follow")
    for did, dd in kb.dispositions.items():
        for i, cell in enumerate(dd.cells):
            check_conds("dispositions", did, ["cells", i, "when"], cell.when)
            for j, oid in enumerate(cell.outcomes):
                if oid not in {o.id for o in dd.outcomes}:
                    problem(KB003, "dispositions", did, ["cells", i, "outcomes", j], f"unknown outcome '{oid}'",
                            ", ".join(o.id for o in dd.outcomes))
            if cell.consequence:
                family, _, cid = cell.consequence.partition(".")
                if family not in kb.families or cid not in {x.id for x in kb.families[family].consequences}:
                    problem(KB003, "dispositions", did, ["cells", i, "consequence"],
                            f"unknown consequence '{cell.consequence}'", "<family>.<id> in penalty-families.yaml")
        if missing_outcomes := [o for o in OUTCOME_IDS if o not in {x.id for x in dd.outcomes}]:
            problem(KB003, "dispositions", did, ["outcomes"], f"missing outcomes: {', '.join(missing_outcomes)}")
        if missing_columns := [c for c in COLUMN_IDS if c not in {x.id for x in dd.columns}]:
            problem(KB003, "dispositions", did, ["columns"], f"missing columns: {', '.join(missing_columns)}")
        for col in dd.columns:
            bare = [o.id for o in dd.outcomes
                    if not any(o.id in cell.outcomes and cell.column == col.id and not cell.when for cell in dd.cells)]
            if bare:
                problem(KB003, "dispositions", did, ["cells"],
                        f"no unconditional cell under '{col.id}' for: {', '.join(bare)}",
                        "end each outcome's cells under each column with one that has no `when`, so the "
                        "matrix is never blank")
    missing_facts = [k for k in askable if k not in kb.facts]
    if missing_facts and kb.facts:
        first = next(iter(kb.facts))
        problem(KB003, "facts", first, [], f"no question for fact keys: {', '.join(missing_facts)}")
    for rid, rule in kb.limitations.items():
        for j, sid in enumerate(rule.statutes):
            if sid not in kb.statutes:
                problem(KB003, "limitations", rid, ["statutes", j], f"unknown statute '{sid}'")
        if rule.earlier_if_unbarred_under and rule.earlier_if_unbarred_under not in kb.limitations:
            problem(KB003, "limitations", rid, ["earlier_if_unbarred_under"],
                    f"unknown limitation rule '{rule.earlier_if_unbarred_under}'")
        if rule.earlier_if_unbarred_under and not rule.committed_on_or_after:
            problem(KB002, "limitations", rid, ["earlier_if_unbarred_under"],
                    "earlier_if_unbarred_under needs committed_on_or_after (the date the rule took effect)")
    for tid, t in kb.timing.items():
        for j, key in enumerate(t.dates):
            if key not in conditions.casefile.Dates.model_fields:
                problem(KB003, "timing", tid, ["dates", j], f"'{key}' is not a case-file date",
                        ", ".join(conditions.casefile.Dates.model_fields))
        if not t.dates and not t.question:
            problem(KB002, "timing", tid, ["question"], "a rule the case file cannot show needs a question to ask")
    roles = get_args(conditions.casefile.Client.model_fields["role"].annotation)
    for pid, p in kb.pobr.items():
        for role in p.coverage:
            if role not in roles:
                problem(KB003, "pobr", pid, ["coverage", role], f"'{role}' is not a client role", ", ".join(roles))
        if missing_roles := [r for r in roles if r not in p.coverage]:
            problem(KB003, "pobr", pid, ["coverage"], f"no coverage stated for client roles: {', '.join(missing_roles)}")
    for cid, ctx in kb.context.items():
        for i, db in enumerate(ctx.databases):
            for j, sid in enumerate(db.protected_by):
                if sid not in kb.statutes:
                    problem(KB003, "context", cid, ["databases", i, "protected_by", j], f"unknown statute '{sid}'")
        for i, item in enumerate(ctx.discovery):
            check_conds("context", cid, ["discovery", i, "when"], item.when)
    missing = [d for d in DEFENSE_IDS if d not in kb.defenses]
    if missing:
        problems.append(Problem(KB003, f"missing defenses: {', '.join(missing)}", file="knowledge/defenses"))
    return problems
