"""Column mappings saved per agency (ORI): once a user has corrected how an agency's export is
read, the next file with the same headers from that agency is read the same way."""
from __future__ import annotations

import datetime as dt
import io
import re
from collections import Counter
from pathlib import Path

from ruamel.yaml import YAML

from . import sniff
from .datadir import data_dir
from .yamlio import write_atomic

ORI_RE = r"^[A-Z]{2}[0-9A-Z]{7}$"


def store_path() -> Path:
    return data_dir() / "column-mappings.yaml"


def _read() -> dict:
    p = store_path()
    if not p.exists():
        return {}
    try:
        return YAML(typ="safe").load(p.read_text(encoding="utf-8")) or {}
    except Exception:  # a damaged store never blocks an import: detection still works
        return {}


def saved(ori: str | None, signature: str) -> dict | None:
    if not ori:
        return None
    return (_read().get(ori.upper()) or {}).get(signature)


def save(ori: str, plan: sniff.FilePlan, who: str = "") -> Path:
    """Remember a file's mapping for an agency (atomic write; other agencies' entries kept)."""
    data = _read()
    data.setdefault(ori.upper(), {})[plan.signature()] = {
        "headers": list(plan.headers), "columns": dict(plan.columns), "formats": dict(plan.formats),
        "saved_on": dt.date.today().isoformat(), "saved_by": who}
    buf = io.StringIO()
    y = YAML()
    y.default_flow_style = False
    y.dump(data, buf)
    p = store_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(p, buf.getvalue())
    return p


def file_ori(s: sniff.Sample) -> str | None:
    """The agency a file comes from: the most common ORI value in its first rows."""
    h = s.plan.columns.get("ori")
    if not h:
        return None
    i = s.plan.headers.index(h)
    vals = [r[i].strip().upper() for r in s.rows if i < len(r) and re.match(ORI_RE, r[i].strip().upper())]
    return Counter(vals).most_common(1)[0][0] if vals else None


def plan_for(path: Path, vocab: dict[str, tuple[str, ...]], ori: str | None = None,
             sample: sniff.Sample | None = None) -> sniff.FilePlan:
    """Detect how to read a file (or take the caller's sample of it); a mapping saved for its
    agency and headers wins."""
    s = sample or sniff.sample(path, vocab)
    agency = ori or file_ori(s)
    got = saved(agency, s.plan.signature())
    if got:
        plan = s.plan.model_copy(deep=True)
        plan.columns = {m: h for m, h in got["columns"].items() if h in plan.headers}
        plan.formats = dict(got.get("formats") or {})
        plan.confidence = {m: 1.0 for m in plan.columns}
        plan.reasons = {m: f"saved for {agency} on {got.get('saved_on', '?')}" for m in plan.columns}
        plan.source = f"saved for {agency}"
        return plan
    return s.plan
