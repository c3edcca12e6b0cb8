"""The `clets-case/1` case file (../shared/spec/case-file.md): models, loading with located
errors, and export that reads back the same."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from ruamel.yaml.scalarstring import LiteralScalarString

from assessment.core import safepath, yamlio
from assessment.core.errors import CF001, CF002, CF003, CF004, CF005, CF006, AssessmentError, Code, Problem

FORMAT = "clets-case/1"

TriState = Literal["yes", "no", "unknown"]
Stage = Literal["investigation", "administrative", "charged", "trial", "sentencing", "closed"]
Role = Literal["peace_officer", "dispatcher", "records_staff", "probation_officer",
               "custodial_officer", "civilian_employee", "contractor", "other"]
Relationship = Literal["spouse", "ex_partner", "partner", "family", "friend", "neighbor",
                       "coworker", "acquaintance", "celebrity", "public_figure", "case_subject",
                       "stranger", "unknown"]
AllegationStatus = Literal["charged", "alleged", "possible"]
ProtectiveOrder = Literal["none", "protects_subject", "protects_client"]
Purpose = Literal["official", "personal", "unknown"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _none_to(default: Any):
    def conv(value: Any) -> Any:
        return default() if callable(default) and value is None else (default if value is None else value)
    return conv


class Matter(_Model):
    id: str
    title: str
    stage: Stage
    county: str | None = None
    prepared_by: str | None = None


class Client(_Model):
    name: str
    role: Role
    agency: str | None = None
    ori: str | None = Field(default=None, pattern=r"^[A-Z]{2}[0-9A-Z]{7}$")
    hire_date: dt.date | None = None
    assignment_date: dt.date | None = None
    clets_training_date: dt.date | None = None
    operator_ids: list[str] = Field(default_factory=list)
    terminal_ids: list[str] = Field(default_factory=list)
    prior_discipline: TriState = "unknown"

    _lists = field_validator("operator_ids", "terminal_ids", mode="before")(_none_to(list))
    _tri = field_validator("prior_discipline", mode="before")(_none_to("unknown"))


class Allegation(_Model):
    citation: str
    status: AllegationStatus
    counts: int = Field(default=1, ge=1)

    _counts = field_validator("counts", mode="before")(_none_to(1))


class Subject(_Model):
    name: str
    relationship: Relationship
    protective_order: ProtectiveOrder = "none"
    dob: dt.date | None = None
    plate: str | None = None
    license_number: str | None = None

    _po = field_validator("protective_order", mode="before")(_none_to("none"))


FACT_KEYS = (
    "stated_purpose", "case_number_linked", "supervisor_authorized", "information_disclosed",
    "financial_gain", "harm_to_subject", "identity_used_for_fraud", "impersonation",
    "communications_recorded", "records_altered", "credentials_shared", "compelled_statement",
    "training_on_record",
)


class Facts(_Model):
    narrative: str | None = None
    stated_purpose: Purpose = "unknown"
    case_number_linked: TriState = "unknown"
    supervisor_authorized: TriState = "unknown"
    information_disclosed: TriState = "unknown"
    financial_gain: TriState = "unknown"
    harm_to_subject: TriState = "unknown"
    identity_used_for_fraud: TriState = "unknown"
    impersonation: TriState = "unknown"
    communications_recorded: TriState = "unknown"
    records_altered: TriState = "unknown"
    credentials_shared: TriState = "unknown"
    compelled_statement: TriState = "unknown"
    training_on_record: TriState = "unknown"

    _tri = field_validator(*FACT_KEYS, mode="before")(_none_to("unknown"))


class Dates(_Model):
    first_query: dt.date | None = None
    last_query: dt.date | None = None
    agency_discovered: dt.date | None = None
    investigation_opened: dt.date | None = None           # the agency's internal (administrative) investigation
    criminal_investigation_opened: dt.date | None = None  # referral to a prosecutor, or a criminal investigation began
    criminal_investigation_closed: dt.date | None = None  # final decision whether to prosecute, or the case ended
    discipline_notice: dt.date | None = None
    charges_filed: dt.date | None = None


def _path_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return value


def _inside_folder(name: str) -> str:
    """Evidence paths stay inside the case file's folder (or the matter's own stored files): a
    case file naming `/etc/passwd` or `../other-matter/audit.csv` is refused here, whoever reads it.
    `./audit.csv` and `logs/./audit.csv` are read as `audit.csv` and `logs/audit.csv`."""
    name = safepath.normal(name)
    if why := safepath.relative_problem(name):
        raise PydanticCustomError("evidence_path", "{msg}", {
            "msg": f"an evidence path must name a file inside the case's folder, and {name!r} is not one: {why}"})
    return name


EvidencePath = Annotated[str, AfterValidator(_inside_folder)]


class Evidence(_Model):
    audit_logs: list[EvidencePath] = Field(default_factory=list)
    shifts: list[EvidencePath] = Field(default_factory=list)
    incidents: list[EvidencePath] = Field(default_factory=list)

    _paths = field_validator("audit_logs", "shifts", "incidents", mode="before")(_path_list)

    def names(self) -> list[str]:
        """Every evidence file the case names: audit logs, shift schedules, CAD exports."""
        return self.audit_logs + self.shifts + self.incidents


class CaseFile(_Model):
    format: Literal["clets-case/1"]
    matter: Matter
    client: Client
    allegations: list[Allegation] = Field(default_factory=list)
    subjects: list[Subject] = Field(default_factory=list)
    facts: Facts = Field(default_factory=Facts)
    dates: Dates = Field(default_factory=Dates)
    evidence: Evidence = Field(default_factory=Evidence)

    _lists = field_validator("allegations", "subjects", mode="before")(_none_to(list))
    _facts = field_validator("facts", mode="before")(_none_to(Facts))
    _dates = field_validator("dates", mode="before")(_none_to(Dates))
    _evidence = field_validator("evidence", mode="before")(_none_to(Evidence))


_HINTS = {
    "extra_forbidden": "remove it or check its spelling against the clets-case/1 format",
    "missing": "add it; see the clets-case/1 format",
    "literal_error": None,
    "date_from_datetime_parsing": "write dates as YYYY-MM-DD",
    "date_parsing": "write dates as YYYY-MM-DD",
    "date_from_datetime_inexact": "write dates as YYYY-MM-DD",
    "string_type": "quote the value so it is read as text",
    "evidence_path": "name each file by its path relative to the case file, such as audit.csv or logs/audit.csv",
}


def problems_from_validation(exc: ValidationError, tree: Any, filename: str,
                             code: Code | None = None) -> list[Problem]:
    """Turn pydantic errors into located problems (file, line, column, key path): each under `code`
    when given (KB002 for the knowledge base), else under the case file's code for its kind."""
    out = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        line, col = yamlio.locate(tree, loc)
        kind = err["type"]
        kind_code = code or {"extra_forbidden": CF002, "missing": CF003, "evidence_path": CF006}.get(kind, CF004)
        msg = err["msg"]
        if kind == "extra_forbidden":
            msg = f"unknown key '{loc[-1]}'"
        elif kind == "missing":
            msg = f"required key '{loc[-1]}' is missing"
        elif "input" in err and not isinstance(err["input"], (dict, list)) and kind != "evidence_path":
            msg = f"{msg} (got {err['input']!r})"
        hint = _HINTS.get(kind)
        if code is not None and hint and "clets-case/1" in hint:   # a knowledge-base file, not a case file
            hint = hint.replace("the clets-case/1 format", "knowledge/README.md")
        if kind in {"bool_type", "literal_error"} and isinstance(err.get("input"), bool):
            hint = "write yes, no or unknown as text, not true/false"
        out.append(Problem(kind_code, msg, file=filename, line=line, column=col,
                           field=yamlio.key_path(loc), hint=hint))
    return out


def loads(text: str, filename: str = "<case file>", kb=None) -> CaseFile:
    """Parse and validate a case file. With a knowledge base, citations must resolve."""
    tree = yamlio.parse(text, filename, CF001)
    if not isinstance(tree, dict):
        raise AssessmentError([Problem(CF004, "the case file must be a YAML mapping", file=filename,
                                       line=1, hint="start with 'format: clets-case/1'")])
    try:
        case = CaseFile.model_validate(yamlio.to_plain(tree))
    except ValidationError as exc:
        raise AssessmentError(problems_from_validation(exc, tree, filename)) from None
    if kb is not None:
        problems = []
        for i, alg in enumerate(case.allegations):
            resolved = kb.resolve(alg.citation)
            if resolved.problem:
                line, col = yamlio.locate(tree, ["allegations", i, "citation"])
                problems.append(Problem(CF005, resolved.problem, file=filename, line=line, column=col,
                                        field=f"allegations[{i}].citation",
                                        hint="use a short form such as 'PC 502(c)(7)' or 'VC 1808.45'; "
                                             "`clets-assess kb` lists what the knowledge base holds"))
        if problems:
            raise AssessmentError(problems)
    return case


def loads_saved(text: str, filename: str, kb=None) -> tuple[CaseFile, list[str]]:
    """A case file as an earlier version saved it: evidence names no longer allowed (a path out of
    the folder, a backslash, a colon) are left out, and returned, so the matter still opens;
    anything else wrong is an error as with `loads`."""
    try:
        return loads(text, filename, kb), []
    except AssessmentError as exc:
        if not all(p.code == CF006 and (p.field or "").startswith("evidence.") for p in exc.problems):
            raise
    tree = yamlio.to_plain(yamlio.parse(text, filename, CF001))
    evidence, dropped = dict(tree.get("evidence") or {}), []
    for key in ("audit_logs", "shifts", "incidents"):
        names = _path_list(evidence.get(key))
        evidence[key] = [n for n in names if isinstance(n, str) and not safepath.relative_problem(safepath.normal(n))]
        dropped += [str(n) for n in names if n not in evidence[key]]
    return loads(yamlio.dump({**tree, "evidence": evidence}), filename, kb), dropped


def load(path: str | Path, kb=None) -> CaseFile:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise AssessmentError([Problem(CF006, "file not found", file=str(path))]) from None
    except UnicodeDecodeError as exc:
        raise AssessmentError([Problem(CF001, f"not UTF-8 text (byte {exc.start})", file=str(path),
                                       hint="save the case file as UTF-8")]) from None
    return loads(text, str(path), kb)


def _plain(case: CaseFile) -> dict:
    """Spec key order; absent optional values left out; dates stay date objects."""
    def clean(obj: Any) -> Any:
        if isinstance(obj, dict):
            return {k: clean(v) for k, v in obj.items() if v is not None and v != []}
        if isinstance(obj, list):
            return [clean(v) for v in obj]
        return obj
    data = clean(case.model_dump(mode="python"))
    for key in ("allegations", "subjects"):
        data.setdefault(key, [])
    return data


def dumps(case: CaseFile) -> str:
    data = _plain(case)  # dates stay YAML dates; text that looks like one stays text
    if data.get("facts", {}).get("narrative"):
        data["facts"]["narrative"] = LiteralScalarString(data["facts"]["narrative"])
    return yamlio.dump(data)


def save(case: CaseFile, path: str | Path) -> None:
    yamlio.write_atomic(Path(path), dumps(case))
