"""Generated memos, kept with their matter: the .docx, who generated it and when, the template
version, and a hash of everything that went into it, so a memo can be tied to its inputs later.

`$CLETS_DATA_DIR/memos/<matter id>/<time>.docx` and `index.jsonl` beside them (one line per memo).
The inputs hash covers the case file, the assessment (which carries the knowledge base's answers
and the evidence files' SHA-256), the attorney's review, the marked events and the firm name."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from . import journal
from .casefile import CaseFile
from .datadir import data_dir
from .review import Review
from .yamlio import write_atomic


@dataclass
class MemoRecord:
    time: str
    matter: str
    file: str              # relative to the matter's folder
    generated_by: str
    inputs_sha: str
    template_sha: str
    template_version: str  # the template's version time, or "built-in"
    sections: list[str]
    overrides: int
    pdf: str | None = None


def folder(matter_id: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", matter_id)[:80] or "matter"
    return data_dir() / "memos" / safe


def inputs_sha(case: CaseFile, result: dict, review: Review | None, marks: list[dict] | None, firm: str) -> str:
    blob = json.dumps({"case": case.model_dump(mode="json"), "assessment": result,
                       "review": (review or Review()).model_dump(mode="json"), "marks": marks or [], "firm": firm},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def store(case: CaseFile, docx: bytes, *, generated_by: str, inputs: str, template_sha: str,
          template_version: str, review: Review | None, pdf: bytes | None = None,
          now: dt.datetime | None = None) -> MemoRecord:
    stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y%m%dT%H%M%S.%fZ")
    base = folder(case.matter.id)
    write_atomic(base / f"{stamp}.docx", docx)
    if pdf:
        write_atomic(base / f"{stamp}.pdf", pdf)
    review = review or Review()
    write_atomic(base / f"{stamp}.review.json", review.model_dump_json(indent=2))
    rec = MemoRecord(time=stamp, matter=case.matter.id, file=f"{stamp}.docx", generated_by=generated_by.strip() or "unknown",
                     inputs_sha=inputs, template_sha=template_sha, template_version=template_version,
                     sections=list(review.sections), overrides=len(review.overrides),
                     pdf=f"{stamp}.pdf" if pdf else None)
    journal.append(base / "index.jsonl", asdict(rec))
    return rec


def records(matter_id: str) -> list[MemoRecord]:
    """The matter's memos, newest first."""
    return [MemoRecord(**r) for r in journal.read(folder(matter_id) / "index.jsonl")]


def read(matter_id: str, name: str) -> bytes:
    return (folder(matter_id) / Path(name).name).read_bytes()

