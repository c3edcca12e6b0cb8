"""The Case page's rows and fields turned into the case file's models, with every refusal said as
'where: field: what' (no Streamlit here, so each rule is tested on its own)."""
from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd
from pydantic import ValidationError

from assessment.app import labels
from assessment.core import casefile

PLAIN = {("ori", "string_pattern_mismatch"): "an ORI is two letters and seven letters or digits, such as CA0190000"}


def problems(exc: ValidationError, where: str) -> list[str]:
    """Pydantic's errors as lines a user reads: the field (and row) and what is wrong."""
    out = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        field = " ".join(f"row {p + 1}" if isinstance(p, int) else labels.field(str(p)) for p in loc)
        got = err.get("input")
        shown = f" (got {got!r})" if got is not None and not isinstance(got, (dict, list)) else ""
        msg = PLAIN.get((str(loc[-1]) if loc else "", err["type"]), err["msg"])
        out.append(f"{where}: {field}: {msg}{shown}")
    return out


def ids(text: str) -> list[str]:
    """Operator or terminal ids typed as a list: commas, semicolons or new lines between them;
    each once, in the order typed."""
    return list(dict.fromkeys(x.strip() for x in text.replace(";", ",").replace("\n", ",").split(",") if x.strip()))


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _clean(row: dict) -> dict:
    out = {}
    for key, value in row.items():
        if _blank(value):
            out[key] = None
        elif isinstance(value, str):
            out[key] = value.strip()
        elif hasattr(value, "to_pydatetime"):          # a pandas Timestamp from a date column
            out[key] = value.to_pydatetime().date()
        elif isinstance(value, dt.datetime):
            out[key] = value.date()
        else:
            out[key] = value
    return out


def allegations_from_rows(rows: list[dict], kb) -> tuple[list[casefile.Allegation], list[str]]:
    """The allegations a grid (or the add form) holds; a row left empty is a new row not filled in
    yet and is skipped. Every citation must resolve in the knowledge base."""
    out, bad = [], []
    for i, raw in enumerate(rows, 1):
        row = _clean(raw)
        cite = row.get("citation")
        if cite is None:
            if row.get("counts") not in (None, 1) or row.get("status") not in (None, "alleged"):
                bad.append(f"Allegations: row {i}: choose a citation")
            continue
        resolved = kb.resolve(str(cite))
        if resolved.problem:
            bad.append(f"Allegations: row {i}: {resolved.problem}")
            continue
        counts = row.get("counts")
        try:
            number = 1.0 if counts is None else float(counts)
            if not number.is_integer():
                raise ValueError
        except (TypeError, ValueError):
            bad.append(f"Allegations: row {i}: counts must be a whole number (got {counts!r})")
            continue
        counts = int(number)
        try:
            out.append(casefile.Allegation.model_validate(
                {"citation": str(cite), "status": row.get("status") or "alleged", "counts": counts}))
        except ValidationError as exc:
            bad += problems(exc, f"Allegations: row {i}")
    seen: set[str] = set()
    for a in out:
        if a.citation in seen:
            bad.append(f"Allegations: {a.citation} is listed twice; raise its counts instead")
        seen.add(a.citation)
    return out, bad


SUBJECT_FIELDS = ("name", "relationship", "protective_order", "dob", "plate", "license_number")


def subjects_from_rows(rows: list[dict]) -> tuple[list[casefile.Subject], list[str]]:
    """The subjects a grid (or the add form) holds; a row with nothing in it is skipped, and a row
    with details but no name is refused."""
    out, bad = [], []
    for i, raw in enumerate(rows, 1):
        row = _clean({k: raw.get(k) for k in SUBJECT_FIELDS})
        if row["name"] is None:
            if any(row[f] is not None for f in ("dob", "plate", "license_number")):
                bad.append(f"Subjects: row {i}: a subject needs a name")
            continue
        if isinstance(row["plate"], str):
            row["plate"] = row["plate"].upper()
        row["relationship"] = row["relationship"] or "unknown"
        row["protective_order"] = row["protective_order"] or "none"
        try:
            out.append(casefile.Subject.model_validate(row))
        except ValidationError as exc:
            bad += problems(exc, f"Subjects: row {i}")
    names = [s.name.casefold() for s in out]
    bad += [f"Subjects: {s.name} is listed twice" for j, s in enumerate(out) if s.name.casefold() in names[:j]]
    return out, bad
