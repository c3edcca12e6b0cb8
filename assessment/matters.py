"""Saved matters: list, search, create, open, save, export, import, soft delete and restore.

Every function takes the signed-in user and checks, on the server, both the role
(`permissions.py`) and the ethical wall (the user is listed on the matter); a refusal is logged
as `denied`. Each save names the version it was made on: a save on a stale copy raises
`Conflict` and writes nothing. Evidence files are kept byte for byte with their SHA-256, which
is checked again whenever a file is read back."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from . import access_log, casefile, uploads
from .errors import AssessmentError, Problem
from .permissions import Forbidden, require
from .review import Review
from .tables import Blob, EvidenceFile, Matter, MatterAccess, User, now
from .yamlio import write_atomic


class Conflict(Exception):
    """Someone saved the matter after this copy was opened; nothing was written."""

    def __init__(self, matter: Matter, by: str):
        super().__init__(f"{by} saved this matter at {matter.updated_at:%Y-%m-%d %H:%M:%S} UTC (version "
                         f"{matter.version}) after you opened it. Your change was not saved: reopen the matter "
                         "to see theirs, then make your change again.")
        self.version, self.by = matter.version, by


class NotFound(LookupError):
    pass


@dataclass
class Row:
    pk: int
    ref: str
    title: str
    stage: str
    updated_at: dt.datetime
    updated_by: str
    deleted_at: dt.datetime | None


@dataclass
class Opened:
    pk: int
    ref: str
    case: casefile.CaseFile
    review: Review
    marks: dict
    version: int
    evidence: dict[str, str] = field(default_factory=dict)    # name -> SHA-256


@dataclass
class Ctx:
    """Who is asking and from where, for the checks and the log."""
    s: Session
    user: User
    source: str = ""
    place: str = ""

    def log(self, event: str, matter: Matter | int | None, outcome: str = "success", reason: str = "",
            object_type: str = "matter", object_id: str | None = None) -> None:
        oid = object_id if object_id is not None else (matter.id if isinstance(matter, Matter) else matter or "")
        access_log.record(self.s, actor=access_log.actor_id(self.user), event=event, object_type=object_type,
                          object_id=oid, outcome=outcome, reason=reason, source=self.source, place=self.place)


def _deny(ctx: Ctx, action: str, pk, why: str):
    ctx.log(action.split(".")[-1], pk, outcome="denied", reason=why)
    ctx.s.commit()              # the refusal is recorded even though the caller's block raises
    raise Forbidden(action, why)


def _require(ctx: Ctx, action: str, pk=None) -> None:
    """The role check, with the refusal logged."""
    try:
        require(ctx.user, action)
    except Forbidden as exc:
        _deny(ctx, action, pk, exc.why)


def is_member(s: Session, user: User, pk: int) -> bool:
    return s.get(MatterAccess, (pk, user.id)) is not None


def _get(ctx: Ctx, pk: int, action: str, *, deleted_ok: bool = False) -> Matter:
    _require(ctx, action, pk)
    m = ctx.s.get(Matter, pk)
    if m is None or not is_member(ctx.s, ctx.user, pk):
        # the same answer for "no such matter" and "behind a wall": ids reveal nothing
        _deny(ctx, action, pk, "not listed on this matter" if m is not None else "no such matter")
    if m.deleted_at is not None and not deleted_ok:
        raise NotFound(f"matter {m.ref} is deleted: restore it first")
    return m


def _name(s: Session, user_id: int | None) -> str:
    u = s.get(User, user_id) if user_id else None
    return u.display_name if u else "-"


def listing(ctx: Ctx, query: str = "", deleted: bool = False, log_search: bool = True) -> list[Row]:
    """The matters the user is listed on, newest change first; `query` searches the reference,
    the title and the case file's text (the search is logged, without its words)."""
    _require(ctx, "matter.read")
    q = (select(Matter).join(MatterAccess, MatterAccess.matter_id == Matter.id)
         .where(MatterAccess.user_id == ctx.user.id)
         .where(Matter.deleted_at.is_not(None) if deleted else Matter.deleted_at.is_(None)))
    if query.strip():
        like = f"%{query.strip()}%"
        q = q.where(or_(Matter.ref.ilike(like), Matter.title.ilike(like), Matter.casefile.ilike(like)))
    rows = ctx.s.execute(q.order_by(Matter.updated_at.desc())).scalars().all()
    if query.strip() and log_search:
        ctx.log("search", None, object_type="matters", object_id="", reason=f"{len(rows)} found")
    return [Row(m.id, m.ref, m.title, _stage(m), m.updated_at, _name(ctx.s, m.updated_by), m.deleted_at) for m in rows]


def _stage(m: Matter) -> str:
    for line in m.casefile.splitlines():
        if line.strip().startswith("stage:"):
            return line.split(":", 1)[1].strip().strip("\"'")
    return ""


def _store_blob(s: Session, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    if s.get(Blob, sha) is None:
        s.add(Blob(sha256=sha, size=len(data), content=data))
        s.flush()
    return sha


def _put_evidence(ctx: Ctx, m: Matter, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        sha = _store_blob(ctx.s, data)
        row = ctx.s.execute(select(EvidenceFile).where(EvidenceFile.matter_id == m.id,
                                                       EvidenceFile.name == name)).scalar_one_or_none()
        if row is not None and row.sha256 == sha:
            continue
        if row is None:
            ctx.s.add(EvidenceFile(matter_id=m.id, name=name, sha256=sha, size=len(data), uploaded_by=ctx.user.id))
        else:
            row.sha256, row.size, row.uploaded_by, row.uploaded_at = sha, len(data), ctx.user.id, now()
        ctx.log("upload", m, object_type="evidence", object_id=f"{m.id}:{sha[:16]}", reason=f"{len(data)} bytes")


def _check_ref(ctx: Ctx, ref: str, pk: int | None = None) -> None:
    other = ctx.s.execute(select(Matter).where(Matter.ref == ref)).scalar_one_or_none()
    if other is not None and other.id != pk:
        hint = "restore it from the deleted matters" if other.deleted_at else "open it, or give this case another id"
        raise AssessmentError([Problem("CF004", f"a matter with id {ref!r} already exists", field="matter.id",
                                       hint=hint)])


def create(ctx: Ctx, case: casefile.CaseFile, evidence: dict[str, bytes] | None = None, *,
           members: list[User] = ()) -> int:
    _require(ctx, "matter.create")
    _check_ref(ctx, case.matter.id)
    m = Matter(ref=case.matter.id, title=case.matter.title, casefile=casefile.dumps(case), review="{}", marks="{}",
               created_by=ctx.user.id, updated_by=ctx.user.id)
    ctx.s.add(m)
    ctx.s.flush()
    for u in {ctx.user.id: ctx.user, **{u.id: u for u in members}}.values():
        ctx.s.add(MatterAccess(matter_id=m.id, user_id=u.id, granted_by=ctx.user.id))
    ctx.log("create", m)
    _put_evidence(ctx, m, evidence or {})
    return m.id


def open_(ctx: Ctx, pk: int, kb=None) -> Opened:
    m = _get(ctx, pk, "matter.read")
    case = casefile.loads(m.casefile, f"matter {m.ref}", kb)
    ev = {e.name: e.sha256 for e in _files(ctx, pk)}
    ctx.log("view", m)
    return Opened(m.id, m.ref, case, Review.model_validate(json.loads(m.review or "{}")), json.loads(m.marks or "{}"),
                  m.version, ev)


def version(ctx: Ctx, pk: int) -> int:
    return _get(ctx, pk, "matter.read").version


def _checked(ctx: Ctx, row: EvidenceFile) -> bytes:
    """A stored evidence file's bytes, after checking them against its SHA-256."""
    data = ctx.s.get(Blob, row.sha256).content
    if hashlib.sha256(data).hexdigest() != row.sha256:
        raise AssessmentError([Problem("EV002", "the stored file no longer matches its SHA-256: it was altered in "
                                       "the database", file=row.name, hint="restore it from a backup")])
    return data


def _files(ctx: Ctx, pk: int):
    return ctx.s.execute(select(EvidenceFile).where(EvidenceFile.matter_id == pk)).scalars().all()


def evidence_bytes(ctx: Ctx, pk: int, name: str) -> bytes:
    _get(ctx, pk, "matter.read")
    row = ctx.s.execute(select(EvidenceFile).where(EvidenceFile.matter_id == pk,
                                                   EvidenceFile.name == name)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no evidence file {name!r} in this matter")
    return _checked(ctx, row)


def materialize(ctx: Ctx, pk: int, folder: Path) -> dict[str, str]:
    """Write the matter's evidence files into `folder` (for the analysis); returns name -> SHA-256."""
    _get(ctx, pk, "matter.read")
    out = {}
    for row in _files(ctx, pk):
        write_atomic(Path(folder) / _safe_rel(row.name), _checked(ctx, row))
        out[row.name] = row.sha256
    return out


def save(ctx: Ctx, pk: int, base_version: int, *, case: casefile.CaseFile | None = None,
         review: Review | None = None, marks: dict | None = None, evidence: dict[str, bytes] | None = None) -> int:
    """Save what changed; returns the new version. Raises Conflict when `base_version` is stale."""
    m = _get(ctx, pk, "matter.write")
    if m.version != base_version:
        conflict = Conflict(m, _name(ctx.s, m.updated_by))
        ctx.log("update", m, outcome="failure", reason=f"conflict: saved on version {base_version}, now {m.version}")
        ctx.s.commit()          # the refused save is recorded though the caller's block raises
        raise conflict
    changed = []
    if case is not None and (text := casefile.dumps(case)) != m.casefile:
        if case.matter.id != m.ref:
            _check_ref(ctx, case.matter.id, pk)
            m.ref = case.matter.id
        m.casefile, m.title = text, case.matter.title
        changed.append("case")
    if review is not None and (text := review.model_dump_json()) != m.review:
        _require(ctx, "review.write", pk)
        m.review = text
        changed.append("review")
    if marks is not None and (text := json.dumps(marks, sort_keys=True)) != m.marks:
        m.marks = text
        changed.append("marks")
    if evidence:
        _put_evidence(ctx, m, evidence)
        changed.append("evidence")
    if changed:
        m.version, m.updated_by, m.updated_at = m.version + 1, ctx.user.id, now()
        ctx.log("update", m, reason=", ".join(changed))
    return m.version


def delete(ctx: Ctx, pk: int) -> None:
    m = _get(ctx, pk, "matter.delete")
    m.deleted_at, m.deleted_by, m.version = now(), ctx.user.id, m.version + 1
    ctx.log("delete", m)


def restore(ctx: Ctx, pk: int) -> None:
    m = _get(ctx, pk, "matter.delete", deleted_ok=True)
    m.deleted_at, m.deleted_by, m.version = None, None, m.version + 1
    ctx.log("restore", m)


# ---- access lists --------------------------------------------------------------------------------
def members(ctx: Ctx, pk: int) -> list[User]:
    _require(ctx, "users.manage")
    return list(ctx.s.execute(select(User).join(MatterAccess, MatterAccess.user_id == User.id)
                              .where(MatterAccess.matter_id == pk).order_by(User.username)).scalars())


def all_matters(ctx: Ctx) -> list[Row]:
    """Every matter by id and title, for an administrator keeping the access lists."""
    _require(ctx, "users.manage")
    ms = ctx.s.execute(select(Matter).order_by(Matter.ref)).scalars().all()
    return [Row(m.id, m.ref, m.title, "", m.updated_at, "", m.deleted_at) for m in ms]


def grant(ctx: Ctx, pk: int, user: User) -> None:
    _require(ctx, "users.manage", pk)
    if ctx.s.get(MatterAccess, (pk, user.id)) is None:
        ctx.s.add(MatterAccess(matter_id=pk, user_id=user.id, granted_by=ctx.user.id))
        ctx.log("access-grant", pk, reason=f"user {user.id}")


def revoke(ctx: Ctx, pk: int, user: User) -> None:
    _require(ctx, "users.manage", pk)
    row = ctx.s.get(MatterAccess, (pk, user.id))
    if row is not None:
        ctx.s.delete(row)
        ctx.log("access-revoke", pk, reason=f"user {user.id}")


# ---- case files in and out -----------------------------------------------------------------------
def export_yaml(ctx: Ctx, pk: int) -> str:
    m = _get(ctx, pk, "matter.read")
    ctx.log("export", m, reason="case file")
    return m.casefile


def export_bundle(ctx: Ctx, pk: int) -> bytes:
    """The case file and its evidence files in one ZIP: `case.yaml` beside the files it names."""
    m = _get(ctx, pk, "matter.read")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("case.yaml", m.casefile)
        for row in _files(ctx, pk):
            zf.writestr(_safe_rel(row.name), _checked(ctx, row))
    ctx.log("export", m, reason="case file with evidence")
    return buf.getvalue()


def _safe_rel(name: str, file: str | None = None) -> str:
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts or not p.parts:
        raise AssessmentError([Problem("CF006", "an evidence path must stay inside the case's folder", file=file,
                                       field=name)])
    return str(p)


def read_upload(data: bytes, name: str, kb=None) -> tuple[casefile.CaseFile, dict[str, bytes]]:
    """A case file as uploaded: YAML alone, or a ZIP of `case.yaml` and the evidence it names.
    Raises AssessmentError with located problems; reads nothing it has not checked."""
    if data.startswith(b"PK\x03\x04"):
        if problems := uploads.check_zip(data, name, "CF001", uploads.BUNDLE, must_have="case.yaml",
                                         kind="case bundle"):
            raise AssessmentError(problems)
        zf = zipfile.ZipFile(io.BytesIO(data))
        case = _parse(zf.read("case.yaml"), f"{name}!case.yaml", kb)
        names = zf.namelist()
        files, missing = {}, []
        for rel in case.evidence.audit_logs + case.evidence.shifts + case.evidence.incidents:
            rel = _safe_rel(rel, f"{name}!case.yaml")
            if rel in names:
                files[rel] = zf.read(rel)
            else:
                missing.append(Problem("CF006", "the case file names an evidence file the bundle does not hold",
                                       file=f"{name}!case.yaml", field=rel))
        if missing:
            raise AssessmentError(missing)
        return case, files
    if problems := uploads.check_text(data, name, "CF001"):
        raise AssessmentError(problems)
    return _parse(data, name, kb), {}


def _parse(data: bytes, name: str, kb) -> casefile.CaseFile:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise AssessmentError([Problem("CF001", f"not UTF-8 text (byte 0x{data[exc.start]:02x})", file=name,
                                       line=line, hint="save the case file as UTF-8")]) from None
    return casefile.loads(text, name, kb)
