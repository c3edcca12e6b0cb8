"""The shared examples (../shared/examples) with their truth.json, and the assessment's JSON
Schema against the fields ../shared/spec/assessment-output.md documents. This is the only test
module that reads ../shared; on a clone without it, every test here skips and says so."""
import datetime as dt
import json
import re

import pytest

from assessment.core import casefile
from assessment.evidence import analyse as evidence
from assessment.evidence.model import SPEC_FINDINGS
from assessment.law import engine, model

from conftest import SHARED_EXAMPLES, spec_counts

ABSENT = "not present (only in the team's workspace and CI)"
EXAMPLES = sorted(p for p in SHARED_EXAMPLES.glob("*") if (p / "truth.json").exists()) if SHARED_EXAMPLES.exists() else []
SPEC = SHARED_EXAMPLES.parent / "spec" / "assessment-output.md"
needs_spec = pytest.mark.skipif(not SPEC.exists(), reason=f"{SPEC} {ABSENT}")


@pytest.mark.skipif(not EXAMPLES, reason=f"{SHARED_EXAMPLES} {ABSENT}")
@pytest.mark.parametrize("folder", EXAMPLES, ids=lambda p: p.name)
def test_findings_equal_truth(folder, kb):
    truth = json.loads((folder / "truth.json").read_text())
    case = casefile.load(folder / "case.yaml", kb)
    result = engine.assess(case, kb, evidence.analyse(case, folder), dt.date(2026, 11, 30))
    counts = {f.id: f.count for f in result.findings if f.id in SPEC_FINDINGS}
    assert result.evidence.files[0].rows == truth["rows_total"]
    assert result.evidence.client_queries == truth["client_queries"]
    assert counts == spec_counts(truth)
    subject = next(f for f in result.findings if f.id == "subject-queries")
    assert sorted(subject.details["by_subject"].values()) == sorted(truth["subject_queries"].values())
    assert result.evidence.first_subject_query == truth["first_subject_query"]
    assert result.evidence.last_subject_query == truth["last_subject_query"]


# ---- the exported JSON Schema and the spec -----------------------------------------------------------------
JSON_TYPES = {str: "string", bool: "boolean", int: "integer", float: "number", list: "array", dict: "object"}


def _spec_example() -> dict:
    """The JSON object the spec shows (its first ```json block)."""
    block = re.search(r"```json\n(.*?)```", SPEC.read_text(encoding="utf-8"), re.S).group(1)
    return json.loads(block.replace("…", "..."))


def _documented(value, path: str = "") -> dict[str, str]:
    """Every field path of the spec's example (`statutes[].elements[].status`) with its JSON type."""
    out = {}
    if isinstance(value, dict):
        for key, inner in value.items():
            out[f"{path}.{key}".lstrip(".")] = JSON_TYPES[type(inner)]
            out |= _documented(inner, f"{path}.{key}".lstrip("."))
    elif isinstance(value, list) and value:
        out |= _documented(value[0], f"{path}[]")
    return out


def _resolve(node: dict, defs: dict) -> dict:
    """A schema node with its $ref followed and an optional (anyOf with null) unwrapped."""
    if "$ref" in node:
        return _resolve(defs[node["$ref"].rsplit("/", 1)[1]], defs)
    if "anyOf" in node:
        (inner,) = [n for n in node["anyOf"] if n.get("type") != "null"]
        return _resolve(inner, defs)
    return node


def _schema_fields(schema: dict) -> dict[str, dict]:
    """Every field path of the schema, as `_documented` writes them, with its (resolved) node."""
    defs, out = schema.get("$defs", {}), {}

    def walk(node: dict, path: str) -> None:
        node = _resolve(node, defs)
        if node.get("type") == "array":
            walk(node["items"], f"{path}[]")
        for key, inner in node.get("properties", {}).items():
            out[f"{path}.{key}".lstrip(".")] = _resolve(inner, defs)
            walk(inner, f"{path}.{key}".lstrip("."))
    walk(schema, "")
    return out


def _spec_values() -> dict[str, set[str]]:
    """The allowed values the spec lists for a field: its bullets '- `field`: `a`, `b` ...'."""
    text = SPEC.read_text(encoding="utf-8")
    out = {}
    for bullet in re.findall(r"^- `([^`]+)`: (.*?)(?=^\S|^- |\Z)", text, re.S | re.M):
        field, words = bullet
        values = set(re.findall(r"`([a-z-]+)`", words))
        if values:
            out[field] = values
    return out


# Fields the schema has beyond the spec's example, object by object ("" is the top level): the spec
# gives the minimum and says "add more"; each addition is named here with why it exists, so a field
# added to the model without being documented here (or in the spec) fails the test below.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "matter": ("stage",),                                # the procedural stage the memo states
    "client": ("agency", "name", "role"),                # whom the memo is about
    # the knowledge base's id and heading for the statute, counts charged, why a statute was
    # suggested, the penalty tiers and the tier the class comes from, the limitation result, the
    # provisions, misdescriptions, unsettled questions and notes the memo quotes, and its open questions
    "statutes[]": ("classification_basis", "counts", "jury_instruction", "limitation", "misdescriptions", "notes",
                   "official_heading", "official_heading_verified", "open_questions", "penalty_tiers", "provisions",
                   "splits", "statute_id", "statute_source", "subdivision_summary", "why"),
    "statutes[].why[]": ("basis", "reason"),             # a reason with what it rests on (traceability)
    "statutes[].classification_basis": ("source", "tier", "verified"),   # where the class comes from
    "statutes[].penalty_tiers[]": ("applies", "classification", "custody", "fine", "source", "verified", "when"),
    # the governing limitation rule (Pen. Code § 803.6(a)) and every rule applied, for the deadline
    # section; the § 804 event the filing date stands for; where § 805(a) leaves the tier open, the
    # result under each tier (`readings`, the spec's "both results") and the question; the tolling the
    # case file cannot show; and, for a suggested statute, whether a charge filed now would be barred
    "statutes[].limitation": ("authority", "basis", "candidates", "commenced_by", "compared_with",
                              "deadline_earliest_act", "deadline_latest_act", "explanation", "if_charged_later",
                              "period", "question", "readings", "rule", "start_date", "status", "text", "tolling",
                              "verified"),
    "statutes[].limitation.candidates[]": ("authority", "basis", "commenced_by", "compared_with", "deadline_earliest_act",
                                           "deadline_latest_act", "explanation", "period", "rule", "start_date",
                                           "status", "text", "verified"),
    "statutes[].limitation.readings[]": ("authority", "classification", "deadline_earliest_act", "deadline_latest_act",
                                         "period", "rule", "status", "tier"),
    # the element's knowledge-base id and source, what else supports or decides it, and the
    # attorney's override with the engine's own answer (reviewed copy only)
    "statutes[].elements[]": ("also_supported_by", "id", "note", "override", "source", "verified", "waits_on"),
    "statutes[].elements[].override": ("engine", "reason"),
    "statutes[].provisions[]": ("bears_on", "id", "source", "text", "verified"),   # related provisions quoted
    "statutes[].misdescriptions[]": ("claim", "correction"),   # common misstatements of the statute, corrected
    "statutes[].splits[]": ("analysis", "defense_line", "id", "prosecution_line", "question"),  # unsettled law
    # the defense's name and summary, the reasons for and against with their basis, the
    # authorities each way, what would strengthen it, and the attorney's override
    "defenses[]": ("authorities_against", "authorities_for", "name", "override", "reasons_against", "reasons_for",
                   "summary", "to_strengthen", "verified"),
    "defenses[].reasons_for[]": ("basis", "reason"),
    "defenses[].reasons_against[]": ("basis", "reason"),
    "defenses[].override": ("engine", "reason"),
    "findings[]": ("details", "rows_by_file"),           # per-subject detail; rows per file when several load
    # what evidence was read: each file with its checksum, mapping and format (chain of custody),
    # and the query counts and dates the memo states
    "evidence": ("client_queries", "files", "first_subject_query", "incidents_loaded", "last_subject_query",
                 "warnings"),
    "evidence.files[]": ("columns", "encoding", "file", "formats", "header_line", "kind", "mapping", "rows", "sha256"),
    # the engine's date arithmetic, shown with its reasons, and the case dates that contradict each other
    "computed": ("date_conflicts", "pobr", "training"),
    "computed.date_conflicts[]": ("dates", "problem"),
    # Gov. Code § 3304(d) one-year limit: whether § 3301 covers the client's role and why, the
    # deadline with and without the tolling of a criminal investigation (§ 3304(d)(2)(A)) and its dates
    "computed.pobr": ("basis", "coverage_basis", "covered", "deadline", "expired", "explanation", "status", "tolled",
                      "tolled_from", "tolled_until", "untolled_deadline"),
    "computed.training": ("late", "missing", "unknown"),
    "collateral[]": ("consequences", "family", "title"),   # consequences beyond the sentence, by family
    "collateral[].consequences[]": ("basis", "id", "note", "source", "text", "title", "verified"),
    "discovery[]": ("basis", "id", "item", "source", "verified", "why"),   # requests, each with why and its basis
    "authorities[]": ("helps", "holding", "holding_verified", "id", "note", "source"),   # holding, whom it helps
    "unverified[]": ("id", "kind", "note", "source", "what"),   # every unverified entry used, so the memo flags it
    # the date the assessment is computed for, the client it is about, the engine's own date
    # arithmetic, collateral consequences, discovery requests, every unverified entry it rests on,
    # the facts the attorney accepted from the narrative (each with its sentence), and the three
    # decision-support fields, whose shape the spec leaves to us
    # decision support: each open question
    # with its rank, the answer that changes most and what it changes, every answer tried, the investigation
    # step, the discovery request and its basis
    "": ("as_of", "chronology", "client", "collateral", "computed", "discovery", "dispositions", "evidence",
         "investigation_priorities", "narrative_basis", "unverified"),
    "investigation_priorities[]": ("answer", "answers", "basis", "changes", "discovery_request", "fact", "impact",
                                   "investigation", "label", "question", "rank", "source", "verified"),
    "investigation_priorities[].changes[]": ("after", "before", "kind", "target", "what"),
    "investigation_priorities[].answers[]": ("changes", "label", "value"),
    "investigation_priorities[].answers[].changes[]": ("after", "before", "kind", "target", "what"),
    # one row per outcome: open or not and why, and a cell per heading with its rule, `verified`, basis and,
    # where it turns on an unknown fact, which
    "dispositions[]": ("availability", "available", "cells", "id", "kind", "label"),
    "dispositions[].cells[]": ("basis", "column", "heading", "rule", "short", "status", "text", "unknown", "verified"),
    # every dated event and computed deadline: its kind, basis, audit file and rows, and for a deadline its rule,
    # whether tolling moved it and whether it has passed
    "chronology[]": ("basis", "date", "file", "id", "kind", "passed", "rows", "rule", "tolled", "what"),
}


def _extension_paths() -> set[str]:
    return {f"{parent}.{name}".lstrip(".") for parent, names in EXTENSIONS.items() for name in names}


@needs_spec
def test_the_schemas_fields_are_the_specs_and_the_named_extensions():
    fields = _schema_fields(model.schema())
    documented = _documented(_spec_example())
    missing = sorted(set(documented) - set(fields))
    assert not missing, f"the spec documents fields the schema lacks: {missing}"
    undocumented = sorted(set(fields) - set(documented) - _extension_paths())
    assert not undocumented, f"schema fields neither in the spec nor in EXTENSIONS (document them): {undocumented}"
    stale = sorted(_extension_paths() - set(fields))
    assert not stale, f"EXTENSIONS names fields the schema no longer has: {stale}"
    clash = sorted(_extension_paths() & set(documented))
    assert not clash, f"EXTENSIONS names fields the spec documents: {clash}"
    wrong = {path: (kind, fields[path].get("type"), fields[path].get("enum"))
             for path, kind in documented.items()
             if fields[path].get("type", "string" if "enum" in fields[path] else None) != kind}
    assert not wrong, f"fields whose type differs from the spec's example: {wrong}"


@needs_spec
def test_the_schemas_allowed_values_are_the_specs():
    fields = _schema_fields(model.schema())
    paths = {"statutes[].source": "statutes[].source", "classification": "statutes[].classification",
             "elements[].status": "statutes[].elements[].status", "defenses[].strength": "defenses[].strength"}
    listed = _spec_values()
    assert set(paths) <= set(listed), f"the spec no longer lists the values of {set(paths) - set(listed)}"
    for spec_name, path in paths.items():
        assert set(fields[path]["enum"]) == listed[spec_name], path


@needs_spec
def test_the_schema_has_the_decision_support_fields():
    fields = _schema_fields(model.schema())
    text = SPEC.read_text(encoding="utf-8").split("## Decision support", 1)[1]
    names = re.findall(r"^- `([a-z_]+)`:", text, re.M)
    assert names and all(n in fields for n in names), [n for n in names if n not in fields]


# ---- the memo of each shared example: clean text and a short body (issue 16) ---------------------------------
@pytest.mark.skipif(not EXAMPLES, reason=f"{SHARED_EXAMPLES} {ABSENT}")
@pytest.mark.parametrize("folder", EXAMPLES, ids=lambda p: p.name)
def test_the_memo_is_clean_and_its_body_fits_in_eight_pages(folder, kb, tmp_path):
    """The memo as the app renders it (built-in template, charts): no defect in its text
    (memo/proofread.py) and, where LibreOffice and pdftotext are installed, a body of 8 pages or fewer."""
    import shutil

    from assessment.evidence import charts
    from assessment.memo import pdfpages, proofread, templates
    from assessment.memo import render as memo
    case = casefile.load(folder / "case.yaml", kb)
    ev = evidence.analyse(case, folder)
    result = engine.assess(case, kb, ev, dt.date(2026, 11, 30))
    data = memo.render(result, case, templates.builtin(), charts=charts.memo_charts(ev))
    found = proofread.defects(data)
    assert found == [], "\n".join(f"{d.kind:<15} {d.place:<30} {d.excerpt}" for d in found)
    pdf = memo.to_pdf(data, tmp_path) if memo.soffice() and shutil.which("pdftotext") else None
    if pdf is not None:
        body = pdfpages.body_pages(pdf.read_bytes())
        assert body <= 8, f"the body runs to {body} pages (of {pdfpages.count(pdf.read_bytes())}); at most 8"
