"""The small condition language the knowledge base uses to tie law to facts and findings.

A condition is one string:

  fact:<case-file fact key>=<value>     fact:stated_purpose=personal
  finding:<finding id>                  the finding has at least one row (ids: evidence/model.py)
  finding:<finding id>=0                the evidence was analysed and the finding is empty
  finding:<finding id>>=<n>             at least n rows
  client.role=<role>                    client.role=peace_officer
  client.prior_discipline=<yes|no|unknown>
  subject.relationship=<value>          any subject has this relationship
  subject.protective_order=<value>      any subject has this protective-order value
  charge:<citation>                     an allegation cites this, or a paragraph under it (charge:PC 502(c)(7))
  computed:<name>                       a value the engine computes from the dates (see COMPUTED)
  date:<dates key>                      that date is known

Every condition is checked against the case-file schema when the knowledge base loads, so a
typo is an error with its file and line, never a rule that silently never fires.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import get_args

from pydantic import BaseModel

from assessment.core import casefile
from assessment.core.citations import parse_citation
from assessment.evidence import model as evidence_model


@dataclass(frozen=True)
class Computed:
    """A value the engine computes, which `computed:<name>` tests."""

    description: str
    basis: tuple[str, ...]   # what a conclusion resting on it names as its basis


_COUNTS = ("fact:dates", "fact:allegations", "kb:statute-of-limitations")   # the counts' limitation results

# The one list of computed values: the conditions accept these names, the engine must give exactly
# these (`computed_values`), and a conclusion resting on one cites its basis from here.
COMPUTED: dict[str, Computed] = {
    "limitation-barred-every-count": Computed(
        "the limitation period has run for every act of every count the case file names (the charged ones where "
        "any is charged), on every reading", _COUNTS),
    "limitation-barred-some-counts": Computed(
        "the period has run for every act of some of those counts but not of others",
        _COUNTS),
    "limitation-barred-contested": Computed(
        "for at least one of those counts the period has run on one reading of Pen. Code § 805(a) and not on the other",
        _COUNTS),
    "limitation-barred-some-acts": Computed(
        "for at least one of those counts the period has run for the earliest acts only",
        _COUNTS),
    "limitation-running-every-count": Computed(
        "the period of every one of those counts is still running for every act",
        _COUNTS),
    "felony-exposure": Computed("a statute the assessment raises (cited or suggested) is a felony or a wobbler at the "
                                "tier the facts show", ("fact:allegations",)),
    "pobr-covered": Computed("the client's role is a public safety officer under Gov. Code § 3301",
                             ("fact:client.role", "kb:pobr")),
    "pobr-may-apply": Computed("the client's role is, or may be, a public safety officer under Gov. Code § 3301",
                               ("fact:client.role", "kb:pobr")),
    "pobr-coverage-depends": Computed("whether the client's role is covered by Gov. Code § 3301 depends on facts "
                                      "not in the case file", ("fact:client.role", "kb:pobr")),
    "pobr-year-expired": Computed("the POBR year, with any tolling the dates show, ran before the discipline notice "
                                  "(or the assessment date)",
                                  ("fact:dates.agency_discovered", "fact:dates.discipline_notice",
                                   "fact:dates.criminal_investigation_opened", "fact:dates.criminal_investigation_closed")),
    "pobr-expired-unless-tolled": Computed("the POBR year ran counting from discovery, but a criminal investigation "
                                           "whose dates are unknown may have tolled it",
                                           ("fact:dates.agency_discovered", "fact:allegations",
                                            "fact:dates.criminal_investigation_opened")),
    "pobr-tolled": Computed("a criminal investigation or prosecution tolled (or still tolls) the POBR year",
                            ("fact:dates.criminal_investigation_opened", "fact:dates.criminal_investigation_closed",
                             "fact:dates.charges_filed")),
    "training-missing": Computed("the case says no CLETS training is on record (training_on_record is no)",
                                 ("fact:client.clets_training_date", "fact:training_on_record")),
    "training-late": Computed("CLETS training came more than six months after assignment (or hire)",
                              ("fact:client.clets_training_date", "fact:client.assignment_date")),
}


def computed_values(values: dict[str, bool]) -> dict[str, bool]:
    """`values` for a Context, refused unless it gives exactly the names in COMPUTED."""
    if set(values) != set(COMPUTED):
        raise ValueError(f"the computed values must be exactly {sorted(COMPUTED)}, not {sorted(values)}")
    return values


_FORM = re.compile(r"^(?P<kind>fact|finding|client\.role|client\.prior_discipline|subject\.relationship|"
                   r"subject\.protective_order|"
                   r"charge|computed|date)(?P<sep>:|=)(?P<body>.+)$")


def _fact_values(key: str) -> tuple[str, ...]:
    ann = casefile.Facts.model_fields[key].annotation
    return get_args(ann)


_ATTRS: dict[str, tuple[type[BaseModel], str]] = {
    "client.role": (casefile.Client, "role"),
    "client.prior_discipline": (casefile.Client, "prior_discipline"),
    "subject.relationship": (casefile.Subject, "relationship"),
    "subject.protective_order": (casefile.Subject, "protective_order"),
}


@dataclass(frozen=True)
class Condition:
    kind: str
    key: str
    op: str = ""  # "", "=", ">="
    value: str = ""

    @property
    def text(self) -> str:
        if self.kind in _ATTRS:
            return f"{self.kind}={self.value}"
        return f"{self.kind}:{self.key}{self.op}{self.value}"


@cache
def parse(text: str) -> Condition:
    """Parse one condition; raises ValueError with a message that says what is wrong."""
    m = _FORM.match(text.strip())
    if not m:
        raise ValueError(f"'{text}' is not a condition: it must start with fact:, finding:, client.role=, "
                         "subject.relationship=, subject.protective_order=, charge:, computed: or date:")
    kind, sep, body = m.group("kind"), m.group("sep"), m.group("body").strip()
    if kind == "fact":
        key, _, value = body.partition("=")
        if key not in casefile.FACT_KEYS:
            raise LookupError(f"unknown fact key '{key}' (known: {', '.join(casefile.FACT_KEYS)})")
        allowed = _fact_values(key)
        if value not in allowed:
            raise LookupError(f"fact '{key}' takes {', '.join(allowed)}, not '{value}'")
        return Condition("fact", key, "=", value)
    if kind == "finding":
        fm = re.match(r"^([a-z-]+)(?:(=|>=)(\d+))?$", body)
        if not fm:
            raise ValueError(f"'{text}': write finding:<id>, finding:<id>=0 or finding:<id>>=<n>")
        evidence_model.kind(fm.group(1))   # UnknownFinding, a LookupError naming the registered ids
        return Condition("finding", fm.group(1), fm.group(2) or ">=", fm.group(3) or "1")
    if kind in _ATTRS:
        if sep != "=":
            raise ValueError(f"'{text}': write {kind}=<value>")
        model, attr = _ATTRS[kind]
        allowed = get_args(model.model_fields[attr].annotation)
        if body not in allowed:
            raise LookupError(f"{kind} takes {', '.join(allowed)}, not '{body}'")
        return Condition(kind, attr, "=", body)
    if kind == "charge":
        cite = parse_citation(body)
        if cite is None:
            raise ValueError(f"'{body}' is not a citation such as 'PC 502(c)(7)'")
        return Condition("charge", str(cite))
    if kind == "computed":
        if body not in COMPUTED:
            raise LookupError(f"unknown computed value '{body}' (known: {', '.join(COMPUTED)})")
        return Condition("computed", body)
    if body not in casefile.Dates.model_fields:
        raise LookupError(f"unknown date '{body}' (known: {', '.join(casefile.Dates.model_fields)})")
    return Condition("date", body)


@dataclass
class Context:
    """What conditions are evaluated against."""

    case: casefile.CaseFile
    findings: dict[str, int] | None = None  # None: no audit evidence analysed
    computed: dict[str, bool] = field(default_factory=dict)

    def holds(self, cond: Condition) -> bool:
        case = self.case
        if cond.kind == "fact":
            return getattr(case.facts, cond.key) == cond.value
        if cond.kind == "finding":
            if self.findings is None or cond.key not in self.findings:
                return False
            count = self.findings[cond.key]
            return count == int(cond.value) if cond.op == "=" else count >= int(cond.value)
        if cond.kind.startswith("client."):
            return getattr(case.client, cond.key) == cond.value
        if cond.kind in {"subject.relationship", "subject.protective_order"}:
            return any(getattr(s, cond.key) == cond.value for s in case.subjects)
        if cond.kind == "charge":
            # a charge under a lower paragraph is a charge under the paragraph: 1030(a)(2)(C) under 1030(a)(2)
            return any((c := str(parse_citation(a.citation))) == cond.key or c.startswith(cond.key + "(")
                       for a in case.allegations)
        if cond.kind == "computed":
            return bool(self.computed.get(cond.key))
        return getattr(case.dates, cond.key) is not None

    def unknown_fact(self, cond: Condition) -> str | None:
        """The fact key this condition waits on, if the case leaves it unknown."""
        if cond.kind == "fact" and getattr(self.case.facts, cond.key) == "unknown":
            return cond.key
        if cond.kind == "client.prior_discipline" and self.case.client.prior_discipline == "unknown":
            return "prior_discipline"
        return None
