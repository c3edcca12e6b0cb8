"""The four verbs of the front door (`from assessment import load_case, ...`: see assessment/__init__.py),
one per step of the one-way flow case file -> evidence result -> assessment -> memo.

    from assessment import load_case, analyse_evidence, assess, render_memo

    case = load_case("demo/off-duty-lookups/case.yaml")
    evidence = analyse_evidence(case, "demo/off-duty-lookups")   # findings with the rows behind them
    result = assess(case, evidence, as_of=datetime.date(2026, 11, 30))
    print(result.to_json())                                        # the clets-assessment/1 object
    Path("memo.docx").write_bytes(render_memo(result, case))

Each verb is a thin door onto its floor (core.casefile, evidence.analyse, law.engine, memo.render);
the app and the command line call the same functions. Nothing here touches the firm's database:
`render_memo` uses the template it is given, else CLETS_MEMO_TEMPLATE, else templates/memo.docx."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from assessment.core import casefile, settings
from assessment.core.casefile import CaseFile
from assessment.evidence import analyse
from assessment.evidence.model import EvidenceResult
from assessment.law import engine, kb
from assessment.law.model import Assessment
from assessment.memo import render, templates


def load_case(path: str | Path) -> CaseFile:
    """Read and validate a case file (`clets-case/1`); AssessmentError names the file, line and field
    of every problem. Citations are checked against the knowledge base (CLETS_KB_DIR or knowledge/)."""
    return casefile.load(path, kb=kb.load())


def analyse_evidence(case: CaseFile, folder: str | Path) -> EvidenceResult | None:
    """Run the audit-log analysis on the evidence files the case names, read inside `folder` (the
    case file's folder). None when the case names no audit log."""
    return analyse.analyse(case, Path(folder))


def assess(case: CaseFile, evidence: EvidenceResult | None, as_of: dt.date | None = None) -> Assessment:
    """The assessment of `case` on the evidence analysed, as of `as_of` (default today)."""
    return engine.assess(case, kb.load(), evidence, as_of or dt.date.today())


def render_memo(result: Assessment, case: CaseFile, template: str | Path | bytes | None = None,
                firm_name: str = "Defense Counsel") -> bytes:
    """The draft memo as .docx bytes, rendered in the template sandbox."""
    chosen = template if template is not None else (settings.MEMO_TEMPLATE.get() or templates.builtin())
    return render.render(result, case, Path(chosen) if isinstance(chosen, str) else chosen, firm_name=firm_name)
