"""What the evidence analysis hands on (`Finding`, `EvidenceResult`) and the one register of
findings it may produce.

Each finding is registered here once: its stable id, the label a memo or page shows, what it
needs, whether it is one of the five findings of `clets-assessment/1`, and a line saying what it
counts. The analysis produces findings only under registered ids (a `Finding` with any other id
fails when it is made), the condition language accepts exactly these ids, the assessment lists
findings in this order, and the memo, the Evidence page and the README read their words from
here, so no second list has to be kept in step by hand.
"""
from __future__ import annotations

from dataclasses import dataclass, field

CONCURRENT_MINUTES = 5      # one operator id on two terminals within this many minutes
CAD_WINDOW_MINUTES = 60     # a query this close to a CAD incident about the same subject or plate

# What a finding can need, each with where it comes from. A finding "needs" an input when,
# without it, the analysis does not compute the finding or the finding cannot hold a row.
AUDIT_LOG = "audit log"
SUBJECTS = "case subjects"
SHIFTS = "shift schedule"
TERMINALS = "assigned terminals"
TERMINAL_COLUMN = "terminal column"
CAD = "CAD incidents"
NEEDS: dict[str, str] = {
    AUDIT_LOG: "the CLETS transaction log (evidence: audit_logs), read for the client's operator ids",
    SUBJECTS: "the people and vehicles the case is about (subjects: name, date of birth, plate, license)",
    SHIFTS: "the client's shift schedule, with leave days marked (evidence: shifts)",
    TERMINALS: "the terminals assigned to the client (client: terminal_ids)",
    TERMINAL_COLUMN: "a terminal column in the audit log",
    CAD: "the CAD incident export (evidence: incidents)",
}


@dataclass(frozen=True)
class FindingKind:
    """One registered finding."""

    id: str
    label: str                 # the words a memo or page shows for it
    needs: tuple[str, ...]     # keys of NEEDS
    spec: bool                 # one of the five findings clets-assessment/1 names
    description: str           # what it counts, in one line
    per_query: bool = True     # False: it describes the client's whole history, so single queries are not tagged
    headline: bool = False     # one of the numbers the Evidence page shows at the top


def _register(*kinds: FindingKind) -> dict[str, FindingKind]:
    out: dict[str, FindingKind] = {}
    for k in kinds:
        unknown = [n for n in k.needs if n not in NEEDS]
        if k.id in out or unknown:
            raise ValueError(f"finding '{k.id}' is registered twice or needs something unknown: {unknown}")
        out[k.id] = k
    return out


# The stable ids, the only place they are written: code that names a finding uses these constants
# (tests/evidence/test_findings.py checks that no other module spells an id out), so a renamed id
# changes everywhere at once instead of leaving a lookup that silently finds nothing.
SUBJECT_QUERIES = "subject-queries"
OFF_DUTY_SUBJECT_QUERIES = "off-duty-subject-queries"
SUBJECT_QUERIES_WITHOUT_CASE_NUMBER = "subject-queries-without-case-number"
UNASSIGNED_TERMINAL_QUERIES = "unassigned-terminal-queries"
QUERIES_BEFORE_TRAINING = "queries-before-training"
LEAVE_DAY_QUERIES = "leave-day-queries"
CONCURRENT_TERMINAL_USE = "concurrent-terminal-use"
REPEATED_SUBJECT_QUERIES = "repeated-subject-queries"
CAD_MATCHED_QUERIES = "cad-matched-queries"
CASE_NUMBER_NOT_IN_CAD = "case-number-not-in-cad"

# In the order the assessment lists them.
FINDINGS: dict[str, FindingKind] = _register(
    FindingKind(SUBJECT_QUERIES, "Subject queries", (AUDIT_LOG, SUBJECTS), True,
                "the client's queries matching a case subject by name, date of birth, plate or license number",
                headline=True),
    FindingKind(OFF_DUTY_SUBJECT_QUERIES, "Off duty", (AUDIT_LOG, SUBJECTS, SHIFTS), True,
                "subject queries outside the client's scheduled shifts", headline=True),
    FindingKind(SUBJECT_QUERIES_WITHOUT_CASE_NUMBER, "Without a case number", (AUDIT_LOG, SUBJECTS), True,
                "subject queries that carry no case or incident number"),
    FindingKind(UNASSIGNED_TERMINAL_QUERIES, "Unassigned terminal", (AUDIT_LOG, TERMINALS), True,
                "the client's queries from terminals not assigned to the client", headline=True),
    FindingKind(QUERIES_BEFORE_TRAINING, "Before training", (AUDIT_LOG,), True,
                "the client's queries before the CLETS training date (all of them when no date is on record)",
                per_query=False),
    FindingKind(LEAVE_DAY_QUERIES, "On leave days", (AUDIT_LOG, SHIFTS), False,
                "the client's queries, outside any shift, on days the schedule marks as leave (LEAVE, VACATION, SICK ...)"),
    FindingKind(CONCURRENT_TERMINAL_USE, "Concurrent use", (AUDIT_LOG, TERMINAL_COLUMN), False,
                f"the client's operator id on two terminals within {CONCURRENT_MINUTES} minutes, one not the client's",
                headline=True),
    FindingKind(REPEATED_SUBJECT_QUERIES, "Repeated subjects", (AUDIT_LOG, SUBJECTS), False,
                "subject queries about a subject the client queried more than once"),
    FindingKind(CAD_MATCHED_QUERIES, "Matched to CAD", (AUDIT_LOG, SUBJECTS, CAD), False,
                f"subject queries matching a CAD incident: its number, or the same subject or plate within "
                f"{CAD_WINDOW_MINUTES} minutes", headline=True),
    FindingKind(CASE_NUMBER_NOT_IN_CAD, "Case number not in CAD", (AUDIT_LOG, SUBJECTS, CAD), False,
                "subject queries whose case number matches no CAD incident"),
)
SPEC_FINDINGS: tuple[str, ...] = tuple(fid for fid, k in FINDINGS.items() if k.spec)


class UnknownFinding(LookupError):
    """A finding id that is not registered in FINDINGS."""


def kind(fid: str) -> FindingKind:
    """The registered finding `fid`; UnknownFinding (naming the known ids) if there is none."""
    try:
        return FINDINGS[fid]
    except KeyError:
        raise UnknownFinding(f"unknown finding '{fid}' (known: {', '.join(FINDINGS)})") from None


def label(fid: str) -> str:
    """The words a memo or page shows for a registered finding."""
    return kind(fid).label


@dataclass
class Finding:
    """One finding of one case: how many of the client's queries it holds and which rows they are."""

    id: str
    count: int
    rows: list[int]
    summary: str
    rows_by_file: dict[str, list[int]] = field(default_factory=dict)
    details: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        kind(self.id)


@dataclass
class EvidenceResult:
    """Everything the analysis of one case's evidence found."""

    files: list[dict]
    client_queries: int
    findings: dict[str, Finding]
    warnings: list[str] = field(default_factory=list)
    first_subject_query: str | None = None
    last_subject_query: str | None = None
    incidents_loaded: int | None = None
    events: list[dict] = field(default_factory=list)      # the client's queries (for charts and marks)
    shifts: list[dict] = field(default_factory=list)      # duty intervals and leave days

    def counts(self) -> dict[str, int]:
        return {k: f.count for k, f in self.findings.items()}
