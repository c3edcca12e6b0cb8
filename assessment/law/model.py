"""The assessment, `clets-assessment/1`, as typed models: what the engine returns and what the
memo, the pages, the CLI and the review read.

The JSON (`Assessment.to_json`) is the published format (see ../shared/spec/assessment-output.md):
fields are declared in the order they are printed, and a field made with `omitted()` is left out
of the JSON when the engine has nothing to say there (a statute without a subdivision has no
`subdivision_summary` key; a null `classification` is printed, because every statute has one).
Its JSON Schema (`schema()`) is written to docs/assessment.schema.json by
`python tools/assessment_schema.py`; tests/law/test_model.py keeps the file equal to the model.

The attorney's review (core/review.py) is applied by `Assessment.reviewed`, which keeps the
engine's answer beside the attorney's (`override`); the engine itself never sets `override`.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any, Final, Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from assessment.core import review as reviewmod
from assessment.core.errors import AssessmentError
from assessment.law.kb import Classification

FORMAT: Final = "clets-assessment/1"

Source = Literal["charged", "alleged", "possible", "suggested"]
Strength = Literal["strong", "moderate", "weak", "not-supported"]
ElementStatus = Literal["supported", "contested", "unknown"]
LimitationStatus = Literal["expired", "partly-expired", "running", "contested", "unknown", "not-applicable"]
# expired: the year ran before the notice (or the assessment date); timely: the notice came within it;
# running: no notice yet and the year has not run; tolled: no notice yet and a criminal matter is pending
PobrStatus = Literal["expired", "timely", "running", "tolled", "unknown", "not-applicable"]


def _absent(value: object) -> bool:
    return value is None


def omitted(description: str = "") -> Any:
    """A field the JSON leaves out, key and all, while it is None."""
    return Field(None, exclude_if=_absent, description=description or None)


class Part(BaseModel):
    """A piece of the assessment: no field beyond those declared, so a misspelt one fails loudly."""
    model_config = ConfigDict(extra="forbid")


class MatterRef(Part):
    id: str
    title: str
    stage: str


class ClientRef(Part):
    name: str
    role: str
    agency: str | None


class Reason(Part):
    """A reason that holds, with the facts and findings it rests on."""
    reason: str
    basis: list[str]


class TierBasis(Part):
    tier: str
    source: str
    verified: bool


class Tier(Part):
    when: str
    classification: Classification
    custody: str
    fine: str
    applies: bool
    source: str
    verified: bool


class LimitationResult(Part):
    """One limitation rule applied to the case's dates (limitations.compute)."""
    rule: str
    status: LimitationStatus
    period: str
    authority: str
    text: str
    start_date: str | None = None
    deadline_earliest_act: str | None = None
    deadline_latest_act: str | None = None
    compared_with: str | None = None
    commenced_by: str | None = omitted("the Pen. Code § 804 event the compared date stands for")
    basis: list[str] = Field(default_factory=list)
    explanation: str = ""
    verified: bool = True


class Reading(Part):
    """The period under one penalty tier, where Pen. Code § 805(a) leaves open which tier decides it."""
    tier: str
    classification: Classification
    rule: str
    authority: str
    period: str
    status: LimitationStatus
    deadline_earliest_act: str | None
    deadline_latest_act: str | None


class Limitation(LimitationResult):
    """The governing result (Pen. Code § 803.6(a)) and every rule that was applied; where the tier
    that decides the period is contested (§ 805(a)), the result under each tier (`readings`) and
    status `contested` when they differ."""
    candidates: list[LimitationResult]
    readings: list[Reading] | None = omitted("the result under each penalty tier, where § 805(a) is in question")
    question: str | None = omitted("the § 805(a) question, where the readings differ")
    tolling: list[str] | None = omitted("tolling the case file cannot show, asked where the period has run")
    if_charged_later: str | None = omitted("for a statute the engine only suggests: whether it is already barred")


class Judgment(Part):
    """The attorney's override of a conclusion, with the engine's own answer (set by the review only)."""
    reason: str
    engine: str


class Element(Part):
    id: str
    text: str
    status: ElementStatus
    basis: list[str]
    source: str
    verified: bool
    also_supported_by: list[str] | None = omitted("basis of the support, where the element is also contested")
    waits_on: list[str] | None = omitted("unknown facts that would decide it")
    note: str | None = omitted()
    override: Judgment | None = omitted("the attorney's judgment (reviewed copy only)")


class Provision(Part):
    id: str
    text: str
    bears_on: list[str]
    source: str
    verified: bool


class Misdescription(Part):
    claim: str
    correction: str


class Split(Part):
    id: str
    question: str
    analysis: str
    defense_line: list[str]
    prosecution_line: list[str]


class Statute(Part):
    citation: str
    statute_id: str
    title: str
    official_heading: str
    official_heading_verified: bool
    source: Source
    counts: int | None = omitted("counts charged, from the case file")
    why: list[Reason] | None = omitted("why the engine suggested it (source 'suggested')")
    subdivision_summary: str | None = omitted()
    classification: Classification | None
    classification_basis: TierBasis | None = omitted()
    max_exposure: str | None = omitted()
    penalty_tiers: list[Tier] | None = omitted()
    limitation: Limitation | None = omitted()
    elements: list[Element]
    provisions: list[Provision]
    misdescriptions: list[Misdescription]
    splits: list[Split]
    notes: list[str]
    jury_instruction: str | None
    statute_source: str
    verified: bool
    open_questions: list[str]


class Defense(Part):
    id: str
    name: str
    strength: Strength
    applies_to: list[str]
    basis: list[str]
    summary: str
    reasons_for: list[Reason]
    reasons_against: list[Reason]
    authorities_for: list[str]
    authorities_against: list[str]
    to_strengthen: list[str]
    open_questions: list[str]
    verified: bool
    override: Judgment | None = omitted("the attorney's judgment (reviewed copy only)")


class Finding(Part):
    id: str
    count: int
    rows: list[int]
    summary: str
    rows_by_file: dict[str, list[int]] | None = omitted("rows per audit file, where several are loaded")
    details: dict[str, Any] | None = omitted()


class EvidenceFile(Part):
    file: str
    sha256: str
    rows: int
    columns: dict[str, str]
    formats: dict[str, str]
    encoding: str
    header_line: int
    mapping: str
    kind: str | None = omitted("shifts or cad; absent for an audit log")


class Evidence(Part):
    files: list[EvidenceFile]
    client_queries: int
    first_subject_query: str | None
    last_subject_query: str | None
    incidents_loaded: int | None
    warnings: list[str]


class Pobr(Part):
    """The one-year POBR limit (Gov. Code § 3304(d)) on the case's dates."""
    covered: Literal["yes", "no", "depends"]
    coverage_basis: str
    status: PobrStatus
    tolled: bool
    expired: bool
    deadline: str | None
    untolled_deadline: str | None
    tolled_from: str | None
    tolled_until: str | None
    basis: list[str]
    explanation: str


class Training(Part):
    """`missing`: the case shows no CLETS training (training_on_record is no); `unknown`: neither a
    training date nor the training fact is known, so nothing is concluded either way."""
    missing: bool
    unknown: bool
    late: bool


class DateConflict(Part):
    """Two case-file dates that cannot both be right; what rests on them is left unknown."""
    dates: list[str]
    problem: str


class Computed(Part):
    pobr: Pobr
    training: Training
    date_conflicts: list[DateConflict]


class Consequence(Part):
    id: str
    title: str
    text: str
    source: str
    verified: bool
    basis: list[str]
    note: str | None = omitted()


class Collateral(Part):
    family: str
    title: str
    consequences: list[Consequence]


class Discovery(Part):
    id: str
    item: str
    why: str
    source: str
    verified: bool
    basis: list[str]


class Authority(Part):
    id: str
    cite: str
    verified: bool
    holding_verified: bool
    helps: str
    holding: str
    source: str
    note: str | None = omitted()


class Unverified(Part):
    kind: str
    id: str
    what: str
    source: str
    note: str


class NarrativeSource(Part):
    sentence: int
    text: str


# ---- decision support (investigation priorities, dispositions, chronology) ------------------------------------
ChangeKind = Literal["defense", "limitation", "classification", "statute", "collateral", "pobr", "element"]


class Change(Part):
    """One conclusion that an answer to an open question changes: `target` is the defense id, the
    statute citation, the consequence id (`family.id`) or `pobr`; `before` and `after` are the
    engine's answers (a strength, a limitation status, a classification, `listed` / `not listed`)."""
    kind: ChangeKind
    target: str
    what: str
    before: str
    after: str


class Answer(Part):
    """One possible answer to an open question and what the assessment would then say."""
    value: str
    label: str
    changes: list[Change]


class Priority(Part):
    """An open question (an unknown fact or a missing date a rule needs) ranked by what its answer
    changes (law/priorities.py, "How they are ranked"); `answer` is the one that changes the most."""
    rank: int
    fact: str
    label: str
    question: str
    answer: str | None
    changes: list[Change]
    impact: str
    answers: list[Answer]
    investigation: str
    discovery_request: str
    source: str
    verified: bool
    basis: list[str]


OutcomeKind = Literal["criminal", "administrative"]
CellColumn = Literal["criminal", "employment", "post", "pension", "firearms", "disclosure", "dppa"]
CellStatus = Literal["applies", "does-not-apply", "unknown", "not-available"]


class Cell(Part):
    """What one outcome costs the client under one heading, with its rule and `verified`; an
    `unknown` cell says what is unknown (`unknown`) and what follows either way."""
    column: CellColumn
    heading: str
    status: CellStatus
    short: str | None = omitted("a few words for a table: the cell's effect")
    text: str
    rule: str
    verified: bool
    basis: list[str]
    unknown: list[str] | None = omitted("what the case file does not say that this cell turns on")


class Disposition(Part):
    """One way the case can end, for this client's role, and what it costs under each heading."""
    id: str
    kind: OutcomeKind
    label: str
    available: bool
    availability: str
    cells: list[Cell]


EventKind = Literal["fact", "finding", "investigation", "filing", "deadline"]


class Event(Part):
    """One dated entry of the case chronology: a case-file date, an audit-log query (file and rows),
    an investigation step, a filing, or a deadline the engine computed (with its rule and tolling).
    `id` names the entry and stays the same when its date or wording changes with the case (a charge
    filed, a date corrected): the attorney's marks and the calendar file's entries are keyed on it."""
    id: str
    date: str
    kind: EventKind
    what: str
    basis: list[str]
    file: str | None = omitted("the audit file of a finding's queries")
    rows: list[int] | None = omitted("1-based data rows of the audit file")
    rule: str | None = omitted("for a deadline: the rule that sets it")
    tolled: bool | None = omitted("for a deadline: whether tolling the dates show moved it")
    passed: bool | None = omitted("for a deadline: whether it fell before the assessment date")


class Assessment(Part):
    """The whole assessment of one case as of one date."""
    format: Literal["clets-assessment/1"] = FORMAT
    as_of: dt.date
    matter: MatterRef
    client: ClientRef
    statutes: list[Statute]
    defenses: list[Defense]
    findings: list[Finding]
    evidence: Evidence | None
    computed: Computed
    open_questions: list[str]
    collateral: list[Collateral]
    discovery: list[Discovery]
    authorities: list[Authority]
    unverified: list[Unverified]
    investigation_priorities: list[Priority] = Field(default_factory=list)
    dispositions: list[Disposition] = Field(default_factory=list)
    chronology: list[Event] = Field(default_factory=list)
    narrative_basis: dict[str, NarrativeSource] | None = omitted(
        "facts the attorney accepted from the narrative, with the sentence each came from")

    def to_json(self) -> str:
        """The published JSON: two-space indent, UTF-8 text as is, a final newline."""
        return json.dumps(self.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"

    def finding_counts(self) -> dict[str, int]:
        return {f.id: f.count for f in self.findings}

    def conclusions(self) -> list[reviewmod.Conclusion]:
        """Every conclusion the memo states that the attorney may override, with the engine's answer."""
        rows = [reviewmod.Conclusion(kind="defense", target=d.id, what=f"Defense: {d.name}",
                                     engine=d.override.engine if d.override else d.strength,
                                     basis=", ".join(d.basis), why=d.summary) for d in self.defenses]
        for s in self.statutes:
            rows += [reviewmod.Conclusion(kind="element", target=reviewmod.element_target(s.citation, e.id),
                                          what=f"{s.citation} element: {e.text}",
                                          engine=e.override.engine if e.override else e.status,
                                          basis=", ".join(e.basis), why="") for e in s.elements]
        return rows

    def reviewed(self, review: reviewmod.Review | None) -> Assessment:
        """A copy with the attorney's overrides in place, the engine's answers kept beside them
        (`override`), defenses re-ranked by the strength the memo will state. Raises
        AssessmentError for an override that no longer fits the assessment."""
        out = self.model_copy(deep=True)
        if review is None or not review.overrides:
            return out
        problems = reviewmod.check(self.conclusions(), review)
        if problems:
            raise AssessmentError(problems)
        for d in out.defenses:
            o = review.override_for("defense", d.id)
            if o and o.value != d.strength:
                d.override = Judgment(reason=o.reason, engine=d.strength)
                d.strength = cast(Strength, o.value)          # one of them: checked above
        order = {s: i for i, s in enumerate(reviewmod.STRENGTHS)}
        engine_rank = {d.id: i for i, d in enumerate(out.defenses)}
        out.defenses.sort(key=lambda d: (order[d.strength], engine_rank[d.id]))
        for s in out.statutes:
            for e in s.elements:
                o = review.override_for("element", reviewmod.element_target(s.citation, e.id))
                if o and o.value != e.status:
                    e.override = Judgment(reason=o.reason, engine=e.status)
                    e.status = cast(ElementStatus, o.value)
        return out


def schema() -> dict:
    """The JSON Schema of `clets-assessment/1` (what docs/assessment.schema.json holds)."""
    return Assessment.model_json_schema() | {"title": FORMAT}


def schema_json() -> str:
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"
