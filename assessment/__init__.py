"""clets-defense's front door: four verbs, one per step of the one-way flow
case file -> evidence result -> assessment -> memo (defined in assessment/verbs.py).

    from assessment import load_case, analyse_evidence, assess, render_memo

The verbs load their floors on first use (PEP 562 `__getattr__`): Python runs this file before any
module of the package, and `import assessment.core.errors` must not pull DuckDB, the memo renderer
and the database in with it. This is the package's one deferred import of its own code."""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assessment.verbs import Assessment, CaseFile, EvidenceResult, analyse_evidence, assess, load_case, render_memo

__all__ = ["Assessment", "CaseFile", "EvidenceResult", "analyse_evidence", "assess", "load_case", "render_memo"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("assessment.verbs"), name)
    raise AttributeError(f"module 'assessment' has no attribute {name!r}")
