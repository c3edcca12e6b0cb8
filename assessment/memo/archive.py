"""Generated memos, kept with their matter in the database: the .docx (and PDF), encrypted like
every stored file, who generated it and when, the template version, and a hash of everything
that went into it, so a memo can be tied to its inputs later.

A memo belongs to the matter's database key, never to its name: two matters whose ids differ
only in punctuation ("ALICE SECRET/2025", "ALICE_SECRET_2025") share nothing. Every read goes
through the matter's checks (role and ethical wall) and a memo is found only under its own
matter; each download is logged as an export of that matter.

The inputs hash covers the case file, the assessment (which carries the knowledge base's answers
and the evidence files' SHA-256), the attorney's review, the marked events and the firm name.

The services at the end (`keep`, `listing`, `preview_pdf`) open their own transaction for the
Memo page; every check and log row is the one of the function they call."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from assessment.core.casefile import CaseFile
from assessment.core.review import Review
from assessment.firm import blobs, db, journal, matters
from assessment.firm.context import Actor
from assessment.firm.tables import Matter, Memo
from assessment.law.model import Assessment


@dataclass
class MemoRecord:
    id: int
    time: str               # UTC, e.g. 20261201T101500.123456Z
    matter_pk: int
    generated_by: str
    inputs_sha: str
    template_sha: str
    template_version: str   # the template's version time, or "built-in"
    sections: list[str]
    overrides: int
    has_pdf: bool


def _record(m: Memo) -> MemoRecord:
    return MemoRecord(m.id, m.time.strftime("%Y%m%dT%H%M%S.%fZ"), m.matter_id, m.generated_by_name, m.inputs_sha,
                      m.template_sha, m.template_version, json.loads(m.sections or "[]"), m.overrides,
                      m.pdf_sha is not None)


def inputs_sha(case: CaseFile, result: Assessment, review: Review | None, marks: list[dict] | None, firm: str) -> str:
    blob = json.dumps({"case": case.model_dump(mode="json"), "assessment": result.model_dump(mode="json"),
                       "review": (review or Review()).model_dump(mode="json"), "marks": marks or [], "firm": firm},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def store(ctx: matters.Ctx, pk: int, docx: bytes, *, inputs: str, template_sha: str, template_version: str,
          review: Review | None, pdf: bytes | None = None, now: dt.datetime | None = None) -> MemoRecord:
    """Keep a memo just generated for matter `pk` (the user must be listed on it and may generate
    memos); the generation is logged."""
    m = matters.member_matter(ctx, pk, "memo.generate")
    review = review or Review()
    row = Memo(matter_id=m.id, time=now or dt.datetime.now(dt.UTC), generated_by=ctx.user.id,
               generated_by_name=ctx.user.display_name[:120], docx_sha=blobs.put(ctx.s, docx),
               pdf_sha=blobs.put(ctx.s, pdf) if pdf else None, inputs_sha=inputs, template_sha=template_sha,
               template_version=template_version[:40], sections=json.dumps(list(review.sections)),
               overrides=len(review.overrides), review=review.model_dump_json())
    ctx.s.add(row)
    ctx.s.flush()
    ctx.log("memo-generate", m, reason=f"memo {row.id}, inputs {inputs[:16]}")
    return _record(row)


def records(ctx: matters.Ctx, pk: int) -> list[MemoRecord]:
    """The matter's memos, newest first."""
    matters.member_matter(ctx, pk, "matter.read")
    rows = ctx.s.execute(select(Memo).where(Memo.matter_id == pk).order_by(Memo.id.desc())).scalars()
    return [_record(r) for r in rows]


def _memo(ctx: matters.Ctx, pk: int, memo_id: int) -> tuple[Matter, Memo]:
    m = matters.member_matter(ctx, pk, "matter.read")
    row = ctx.s.get(Memo, memo_id)
    if row is None or row.matter_id != m.id:
        raise matters.NotFound(f"no memo {memo_id} in this matter")
    return m, row


def read(ctx: matters.Ctx, pk: int, memo_id: int, kind: str = "docx", *, log: bool = True) -> bytes:
    """A stored memo's .docx or PDF (checked against its SHA-256); the read is logged as an export
    of the matter unless `log` is False (the page's own preview)."""
    m, row = _memo(ctx, pk, memo_id)
    sha = row.docx_sha if kind == "docx" else row.pdf_sha
    if sha is None:
        raise matters.NotFound(f"memo {memo_id} has no {kind}")
    data = blobs.get(ctx.s, sha, f"memo {memo_id}.{kind}")
    if log:
        ctx.log("export", m, reason=f"memo {memo_id} ({kind})")
    return data


def review_of(ctx: matters.Ctx, pk: int, memo_id: int) -> Review:
    """The review a memo was generated with."""
    _, row = _memo(ctx, pk, memo_id)
    return Review.model_validate_json(row.review or "{}")


# ---- services: each in its own transaction, for the Memo page ------------------------------------------
def keep(who: Actor, pk: int, docx: bytes, *, inputs: str, template_sha: str, template_version: str,
         review: Review | None, pdf: bytes | None = None) -> MemoRecord:
    """`store` in its own transaction, for `who`."""
    with db.session() as s:
        return store(matters.Ctx.of(s, who), pk, docx, inputs=inputs, template_sha=template_sha,
                     template_version=template_version, review=review, pdf=pdf)


def listing(who: Actor, pk: int) -> list[MemoRecord]:
    """`records` in its own transaction, for `who`."""
    with db.session() as s:
        return records(matters.Ctx.of(s, who), pk)


def preview_pdf(who: Actor, pk: int, memo_id: int) -> bytes:
    """A stored memo's PDF for the page's own preview (checked as every read is; not logged as an export)."""
    with db.session() as s:
        return read(matters.Ctx.of(s, who), pk, memo_id, "pdf", log=False)


def import_files(s: Session, folder: Path) -> tuple[int, list[str]]:
    """Memos an earlier version of the app kept as files (`memos/<id>/index.jsonl` and the files
    beside it): each record goes to the matter whose id is exactly the one the record names (never
    by the folder's name, which two matters could share), and only if that matter existed when the
    memo was made (an id given again to a later matter does not inherit the memos). Returns how many
    were imported and the records left where they are (no such matter, or a file missing)."""
    n, left = 0, []
    matters_by_ref = {m.ref: m for m in s.execute(select(Matter)).scalars()}
    for index in sorted(folder.glob("*/index.jsonl")):
        for rec in reversed(journal.read(index)):
            label = f"{index.parent.name}/{rec.get('file')}"
            try:
                when = dt.datetime.strptime(rec["time"], "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=dt.UTC)
                m = matters_by_ref.get(rec.get("matter"))
                if m is None or m.created_at > when:
                    left.append(label)
                    continue
                docx = (index.parent / Path(rec["file"]).name).read_bytes()
                pdf = (index.parent / Path(rec["pdf"]).name).read_bytes() if rec.get("pdf") else None
                review_file = index.parent / f"{rec['time']}.review.json"
                review = review_file.read_text(encoding="utf-8") if review_file.exists() else "{}"
            except (OSError, KeyError, ValueError, TypeError):
                left.append(label)
                continue
            s.add(Memo(matter_id=m.id, time=when, generated_by=None, generated_by_name=str(rec.get("generated_by", ""))[:120],
                       docx_sha=blobs.put(s, docx), pdf_sha=blobs.put(s, pdf) if pdf else None,
                       inputs_sha=str(rec.get("inputs_sha", ""))[:64], template_sha=str(rec.get("template_sha", ""))[:64],
                       template_version=str(rec.get("template_version", ""))[:40],
                       sections=json.dumps(rec.get("sections", [])), overrides=int(rec.get("overrides", 0)),
                       review=review))
            n += 1
    s.flush()
    return n, left
