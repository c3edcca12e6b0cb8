"""The attorney's review before a memo is generated: every conclusion the memo will state, the
attorney's overrides (a defense's strength, an element's status, each with a reason), notes, and
the sections to include.

An override never erases the engine's answer: the assessment applies a review to a copy of itself
(`Assessment.reviewed`, law/model.py) keeping the engine's answer beside the attorney's, and the
memo prints both ("moderate: the attorney's judgment; the engine's count gives weak"), so a
reader can always tell judgment from computation. This module knows only core: it reads the
conclusions as plain `Conclusion` rows."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assessment.core.errors import CF004, Problem

STRENGTHS = ("strong", "moderate", "weak", "not-supported")
ELEMENT_STATUSES = ("supported", "contested", "unknown")
SECTIONS = {
    "facts": "Facts and their sources",
    "narrative": "The narrative as received",
    "evidence": "Evidence findings, charts and marked events",
    "charges": "Charges, elements and exposure",
    "defenses": "Defenses, ranked",
    "collateral": "Collateral consequences",
    "recommendations": "Recommendations, open questions and discovery",
    "authorities": "Table of authorities",
}
# The caption, question presented, brief answer and the box of unverified items are always printed.


class Override(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["defense", "element"]
    target: str = Field(description="a defense id, or '<citation>#<element id>'")
    value: str
    reason: str = Field(min_length=1)

    @field_validator("reason")
    @classmethod
    def _reason(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("an override needs a reason")
        return v.strip()


class Review(BaseModel):
    model_config = ConfigDict(extra="forbid")
    overrides: list[Override] = Field(default_factory=list)
    notes: str = ""
    sections: list[str] = Field(default_factory=lambda: list(SECTIONS))

    @field_validator("sections")
    @classmethod
    def _sections(cls, v: list[str]) -> list[str]:
        unknown = [s for s in v if s not in SECTIONS]
        if unknown:
            raise ValueError(f"unknown section(s) {', '.join(unknown)}; sections are {', '.join(SECTIONS)}")
        return v

    def override_for(self, kind: str, target: str) -> Override | None:
        return next((o for o in self.overrides if o.kind == kind and o.target == target), None)

    def with_override(self, kind: str, target: str, value: str | None, reason: str = "") -> Review:
        """A copy with the override for `target` set (or removed when value is None)."""
        rest = [o for o in self.overrides if not (o.kind == kind and o.target == target)]
        if value is not None:
            rest.append(Override(kind=kind, target=target, value=value, reason=reason))
        return self.model_copy(update={"overrides": rest})


def element_target(citation: str, element_id: str) -> str:
    return f"{citation}#{element_id}"


@dataclass(frozen=True)
class Conclusion:
    """One conclusion the memo states that the attorney may override: a defense's strength or an
    element's status, with the engine's answer and what it rests on. The assessment lists them
    (law/model.py, `Assessment.conclusions`); the review only reads them, so it needs nothing above core."""
    kind: Literal["defense", "element"]
    target: str
    what: str
    engine: str
    basis: str
    why: str


def from_rows(rows: list[dict], notes: str, sections: list[str]) -> tuple[Review | None, list[str]]:
    """The review the Review page's tables describe, or (None, conclusions lacking a reason).
    Each row: kind, target, conclusion, engine, 'your judgment', reason. A judgment equal to the
    engine's answer, or empty, is no override."""
    overrides, missing = [], []
    for row in rows:
        value, reason = (row.get("your judgment") or "").strip(), (row.get("reason") or "").strip()
        if not value or value == row["engine"]:
            continue
        if not reason:
            missing.append(row["conclusion"])
            continue
        overrides.append(Override(kind=row["kind"], target=row["target"], value=value, reason=reason))
    if missing:
        return None, missing
    return Review(overrides=overrides, notes=notes, sections=sections), []


def check(conclusions: list[Conclusion], review: Review) -> list[Problem]:
    """Overrides that no longer fit the assessment's conclusions (the facts changed since they were made)."""
    targets = {(c.kind, c.target) for c in conclusions}
    problems = []
    for i, o in enumerate(review.overrides):
        allowed = STRENGTHS if o.kind == "defense" else ELEMENT_STATUSES
        if (o.kind, o.target) not in targets:
            problems.append(Problem(CF004, f"the assessment no longer states {o.kind} {o.target!r}; the override "
                                    "cannot be applied", field=f"review.overrides[{i}]",
                                    hint="remove the override, or restore the charge or defense it was made on"))
        elif o.value not in allowed:
            problems.append(Problem(CF004, f"{o.value!r} is not one of {', '.join(allowed)}",
                                    field=f"review.overrides[{i}].value"))
    return problems
