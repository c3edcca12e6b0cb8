"""Saved matters: list, search, create, open, save, export, import, soft delete, restore and purge.

Every function takes the signed-in user and checks, on the server, both the role
(`permissions.py`) and the ethical wall (the user is listed on the matter); a refusal is logged
as `denied`. Each save names the version it was made on: a save on a stale copy raises
`Conflict` and writes nothing. Evidence files are kept byte for byte with their SHA-256, which
is checked again whenever a file is read back.

A deleted matter keeps its id until an administrator listed on it purges it (`purge`): its case
file, review, marks, evidence files, memos and column mappings are erased and its id is free for a
new matter; the row stays as a tombstone without content, so its key is never given to another
matter (the access log's rows, and any session that still holds it, keep pointing at it)."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import secrets
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from sqlalchemy import delete as sql_delete
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from assessment.core import casefile, safepath
from assessment.core.errors import CF001, CF004, CF006, KEY008, AssessmentError, Problem
from assessment.core.review import Review
from assessment.core.yamlio import write_atomic
from assessment.firm import access_log, blobs, crypto, db, uploads
from assessment.firm.context import Actor
from assessment.firm.permissions import Forbidden, allowed
from assessment.firm.tables import Blob, ColumnMapping, EvidenceFile, Matter, MatterAccess, Memo, TemplateVersion, User, now


class Conflict(Exception):
    """Someone saved the matter after this copy was opened; nothing was written."""

    def __init__(self, matter: Matter, by: str):
        super().__init__(f"{by} saved this matter at {matter.updated_at:%Y-%m-%d %H:%M:%S} UTC (version "
                         f"{matter.version}) after you opened it. Your change was not saved: reopen the matter "
                         "to see theirs, then make your change again.")
        self.version, self.by = matter.version, by


class NotFound(LookupError):
    pass


class DeletedId(AssessmentError):
    """The id asked for belongs to a deleted matter the user is listed on (`pk`): restore it, or
    have an administrator purge it to reuse the id."""

    def __init__(self, problems: list[Problem], pk: int, ref: str):
        super().__init__(problems)
        self.pk, self.ref = pk, ref


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
    dropped: list[str] = field(default_factory=list)          # evidence names an earlier version saved, not allowed now


@dataclass
class Ctx:
    """Who is asking and from where, for the checks and the log."""
    s: Session
    user: User
    source: str = ""
    place: str = ""

    @classmethod
    def of(cls, s: Session, who: Actor) -> Ctx:
        """`who` acting in the transaction `s`."""
        return cls(s, who.user, who.source, who.place)  # type: ignore[arg-type]  # nobody signed in: require_role refuses it (logged) before any use

    @property
    def who(self) -> Actor:
        """Who is asking, without the transaction (for access_log's readers)."""
        return Actor(self.user, self.source, self.place)

    def log(self, event: str, matter: Matter | int | None, outcome: str = "success", reason: str = "",
            object_type: str = "matter", object_id: str | None = None) -> None:
        oid = object_id if object_id is not None else (matter.id if isinstance(matter, Matter) else matter or "")
        access_log.record(self.s, actor=access_log.actor_id(self.user), event=event, object_type=object_type,
                          object_id=oid, outcome=outcome, reason=reason, source=self.source, place=self.place)


def _refused(ctx: Ctx, event: str, pk, why: str, outcome: str = "denied") -> None:
    """Record a refusal on its own (access_log.record_refusal); the caller then raises."""
    access_log.record_refusal(ctx.s, outcome=outcome, actor=access_log.actor_id(ctx.user), event=event,
                              object_type="matter", object_id=pk or "", reason=why,
                              source=ctx.source, place=ctx.place)


def _deny(ctx: Ctx, action: str, pk, why: str) -> NoReturn:
    _refused(ctx, action.split(".")[-1], pk, why)
    raise Forbidden(action, why)


def require_role(ctx: Ctx, action: str, pk=None) -> None:
    """The role check for `action` on matter `pk` (None: on none in particular), with the refusal
    logged (access_log.authorize). The command line has no way in: `ctx.who` is never it."""
    access_log.authorize(ctx.s, ctx.who, action, event=action.split(".")[-1], object_type="matter",
                         object_id=pk or "")


def is_member(s: Session, user: User, pk: int) -> bool:
    return s.get(MatterAccess, (pk, user.id)) is not None


def _get(ctx: Ctx, pk: int, action: str, *, deleted_ok: bool = False) -> Matter:
    require_role(ctx, action, pk)
    m = ctx.s.get(Matter, pk)
    if m is None or not is_member(ctx.s, ctx.user, pk):
        # the same answer for "no such matter" and "behind a wall": ids reveal nothing
        _deny(ctx, action, pk, "not listed on this matter" if m is not None else "no such matter")
    if m.deleted_at is not None and not deleted_ok:
        raise NotFound(f"matter {m.ref} is deleted: restore it first")
    return m


def member_matter(ctx: Ctx, pk: int, action: str) -> Matter:
    """Matter `pk`, after the role check for `action` and the wall (the refusal logged): for the
    other stores that keep things with a matter (the memo archive, column mappings)."""
    return _get(ctx, pk, action)


def _name(s: Session, user_id: int | None) -> str:
    u = s.get(User, user_id) if user_id else None
    return u.display_name if u else "-"


def listing(ctx: Ctx, query: str = "", deleted: bool = False, log_search: bool = True) -> list[Row]:
    """The matters the user is listed on, newest change first; `query` searches the reference,
    the title and the case file's text (the search is logged, without its words)."""
    require_role(ctx, "matter.read")
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


def _put_evidence(ctx: Ctx, m: Matter, files: dict[str, bytes]) -> None:
    bad = [Problem(CF006, f"an evidence file must be named by a path inside the case's folder: {why}", field=name)
           for name in files if (why := safepath.relative_problem(name))]
    if bad:
        raise AssessmentError(bad)
    for name, data in files.items():
        sha = blobs.put(ctx.s, data)
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
    """Matter ids are unique in the firm. Where the id is taken by a matter the user is listed on,
    they are told so; by one behind a wall, the answer says nothing of it (no "exists", no
    "deleted") and the refusal is logged for the administrators, who can see which matter it is."""
    other = ctx.s.execute(select(Matter).where(Matter.ref == ref)).scalar_one_or_none()
    if other is None or other.id == pk:
        return
    if is_member(ctx.s, ctx.user, other.id):
        if other.deleted_at is not None:
            raise DeletedId([Problem(CF004, f"a deleted matter has the id {ref!r}", field="matter.id",
                                     hint="restore it (Deleted matters, on the Matters page), or have an administrator "
                                          "purge it there to reuse the id")], other.id, ref)
        raise AssessmentError([Problem(CF004, f"a matter with id {ref!r} already exists", field="matter.id",
                                       hint="open it, or give this case another id")])
    _refused(ctx, "create", "", f"matter id in use by matter {other.id}, behind a wall")
    raise AssessmentError([Problem(CF004, f"the matter id {ref!r} cannot be used", field="matter.id",
                                   hint="choose another id, or ask an administrator about this one")])


def create(ctx: Ctx, case: casefile.CaseFile, evidence: dict[str, bytes] | None = None, *,
           members: Iterable[User] = ()) -> int:
    require_role(ctx, "matter.create")
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
    case, dropped = casefile.loads_saved(m.casefile, f"matter {m.ref}", kb)
    ev = {e.name: e.sha256 for e in _files(ctx, pk)}
    ctx.log("view", m, reason=f"left out evidence names no longer allowed: {len(dropped)}" if dropped else "")
    return Opened(m.id, m.ref, case, Review.model_validate(json.loads(m.review or "{}")), json.loads(m.marks or "{}"),
                  m.version, ev, dropped)


def version(ctx: Ctx, pk: int) -> int:
    return _get(ctx, pk, "matter.read").version


def _checked(ctx: Ctx, row: EvidenceFile) -> bytes:
    """A stored evidence file's bytes, decrypted and checked against its SHA-256."""
    return blobs.get(ctx.s, row.sha256, row.name)


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
    """Write the matter's evidence files into `folder` (for the analysis); returns name -> SHA-256.
    A stored name that would lead outside `folder` (saved by an earlier version) is skipped."""
    _get(ctx, pk, "matter.read")
    out = {}
    for row in _files(ctx, pk):
        try:
            target = safepath.inside(folder, row.name)
        except safepath.Outside:
            continue
        write_atomic(target, _checked(ctx, row))
        out[row.name] = row.sha256
    return out


def save(ctx: Ctx, pk: int, base_version: int, *, case: casefile.CaseFile | None = None,
         review: Review | None = None, marks: dict | None = None, evidence: dict[str, bytes] | None = None) -> int:
    """Save what changed; returns the new version. Raises Conflict when `base_version` is stale."""
    m = _get(ctx, pk, "matter.write")
    if m.version != base_version:
        conflict = Conflict(m, _name(ctx.s, m.updated_by))
        _refused(ctx, "update", m.id, f"conflict: saved on version {base_version}, now {m.version}", "failure")
        raise conflict
    # every check first: a refused save changes nothing
    case_text = casefile.dumps(case) if case is not None else m.casefile
    review_text = review.model_dump_json() if review is not None else m.review
    marks = _authored(ctx, json.loads(m.marks or "{}"), marks) if marks is not None else None
    marks_text = json.dumps(marks, sort_keys=True) if marks is not None else m.marks
    if case is not None and case_text != m.casefile and case.matter.id != m.ref:     # no case: the text is the saved one
        _check_ref(ctx, case.matter.id, pk)
    if review_text != m.review:
        require_role(ctx, "review.write", pk)
    if marks is not None and marks_text != m.marks:
        _check_marks(ctx, m, json.loads(m.marks or "{}"), marks)
    changed = []
    if case is not None and case_text != m.casefile:
        m.ref, m.casefile, m.title = case.matter.id, case_text, case.matter.title
        changed.append("case")
    if review_text != m.review:
        m.review = review_text
        changed.append("review")
    if marks_text != m.marks:
        m.marks = marks_text
        changed.append("marks")
    if evidence:
        _put_evidence(ctx, m, evidence)
        changed.append("evidence")
    if changed:
        m.version, m.updated_by, m.updated_at = m.version + 1, ctx.user.id, now()
        ctx.log("update", m, reason=", ".join(changed))
    return m.version


def marked_by_attorney(mark: dict) -> bool:
    """A mark set by a role that may make the attorney's judgments (marks saved before marks named
    their author count as the attorney's)."""
    return allowed(mark.get("by_role", "attorney"), "review.write")


def _authored(ctx: Ctx, old: dict, new: dict) -> dict:
    """The marks as saved: an entry whose mark or note changed is the saving user's (named by the
    server, whatever the page sent); an unchanged one keeps its author."""
    out = {}
    for key, entry in new.items():
        before = old.get(key)
        if before is not None and all(entry.get(f) == before.get(f) for f in MARK_FIELDS):
            out[key] = before
        else:
            out[key] = {**{f: entry.get(f, "") for f in MARK_FIELDS}, "by": ctx.user.id, "by_role": ctx.user.role}
    return out


MARK_FIELDS = ("mark", "note")


def _check_marks(ctx: Ctx, m: Matter, old: dict, new: dict) -> None:
    """A role that may not change the attorney's judgments (a paralegal) may add and change its
    own marks on events, but not change or remove an attorney's."""
    if allowed(ctx.user.role, "review.write"):
        return
    touched = sorted(k for k, v in old.items() if marked_by_attorney(v) and new.get(k) != v)
    if touched:
        _deny(ctx, "review.write", m.id, f"a {ctx.user.role} may not change the attorney's marks ({', '.join(touched[:5])})")


def delete(ctx: Ctx, pk: int) -> None:
    m = _get(ctx, pk, "matter.delete")
    m.deleted_at, m.deleted_by, m.version = now(), ctx.user.id, m.version + 1
    ctx.log("delete", m)


def restore(ctx: Ctx, pk: int) -> None:
    m = _get(ctx, pk, "matter.delete", deleted_ok=True)
    if is_purged(m):
        raise NotFound(f"matter {m.id} was purged: there is nothing to restore")
    m.deleted_at, m.deleted_by, m.version = None, None, m.version + 1
    ctx.log("restore", m)


def is_purged(m: Matter) -> bool:
    """A purged matter: deleted, with no case file (a saved case file is never empty)."""
    return m.deleted_at is not None and m.casefile == ""


def purge(ctx: Ctx, pk: int) -> tuple[int, int]:
    """Erase deleted matter `pk` for good, so its id can be given to a new matter: its case file,
    review, marks, evidence files, memos, column mappings and access list, and every stored file no
    other matter, memo or template uses. Administrators only, listed on the matter (the wall holds
    for them too), and only once the matter is deleted; logged. The row stays as a tombstone (no
    content, its id replaced) so its key is never reused. Returns (evidence files, memos) erased."""
    access_log.authorize(ctx.s, ctx.who, "users.manage", event="purge", object_type="matter", object_id=pk)
    m = ctx.s.get(Matter, pk)
    if m is None or not is_member(ctx.s, ctx.user, pk):
        why = "not listed on this matter" if m is not None else "no such matter"
        _refused(ctx, "purge", pk, why)
        raise Forbidden("matter.purge", why)
    if m.deleted_at is None or is_purged(m):
        why = "not deleted: delete it first" if m.deleted_at is None else "already purged"
        _refused(ctx, "purge", pk, why, "failure")
        raise NotFound(f"matter {m.ref if m.deleted_at is None else m.id} is {why}")
    files = _files(ctx, pk)
    memos = ctx.s.execute(select(Memo).where(Memo.matter_id == pk)).scalars().all()
    shas = {f.sha256 for f in files} | {x for r in memos for x in (r.docx_sha, r.pdf_sha) if x}
    for table in (EvidenceFile, Memo, ColumnMapping, MatterAccess):
        ctx.s.execute(sql_delete(table).where(table.matter_id == pk))
    ctx.s.flush()
    for sha in shas:
        used = (select(EvidenceFile.id).where(EvidenceFile.sha256 == sha).limit(1),
                select(Memo.id).where(or_(Memo.docx_sha == sha, Memo.pdf_sha == sha)).limit(1),
                select(TemplateVersion.id).where(TemplateVersion.sha256 == sha).limit(1))
        if not any(ctx.s.execute(q).first() for q in used):
            ctx.s.execute(sql_delete(Blob).where(Blob.sha256 == sha))
    tombstone = f"(purged matter {m.id})"
    if ctx.s.execute(select(Matter.id).where(Matter.ref == tombstone)).first():     # someone chose that id
        tombstone = f"(purged matter {m.id} {secrets.token_hex(4)})"
    m.ref, m.title, m.casefile, m.review, m.marks = tombstone, "", "", "{}", "{}"
    m.version, m.updated_by, m.updated_at = m.version + 1, ctx.user.id, now()
    ctx.log("purge", m, reason=f"erased: {len(files)} evidence file(s), {len(memos)} memo(s)")
    return len(files), len(memos)


# ---- access lists --------------------------------------------------------------------------------
def members(ctx: Ctx, pk: int) -> list[User]:
    require_role(ctx, "users.manage")
    return list(ctx.s.execute(select(User).join(MatterAccess, MatterAccess.user_id == User.id)
                              .where(MatterAccess.matter_id == pk).order_by(User.username)).scalars())


def all_matters(ctx: Ctx) -> list[Row]:
    """Every matter by id and title, for an administrator keeping the access lists."""
    require_role(ctx, "users.manage")
    ms = ctx.s.execute(select(Matter).order_by(Matter.ref)).scalars().all()
    return [Row(m.id, m.ref, m.title, "", m.updated_at, "", m.deleted_at) for m in ms if not is_purged(m)]


def grant(ctx: Ctx, pk: int, user: User) -> None:
    require_role(ctx, "users.manage", pk)
    if ctx.s.get(MatterAccess, (pk, user.id)) is None:
        ctx.s.add(MatterAccess(matter_id=pk, user_id=user.id, granted_by=ctx.user.id))
        ctx.log("access-grant", pk, reason=f"user {user.id}")


def revoke(ctx: Ctx, pk: int, user: User) -> None:
    require_role(ctx, "users.manage", pk)
    row = ctx.s.get(MatterAccess, (pk, user.id))
    if row is not None:
        ctx.s.delete(row)
        ctx.log("access-revoke", pk, reason=f"user {user.id}")


# ---- the matter's team: the responsible attorney adds and removes paralegals ------------------------
TEAM_ROLES = ("paralegal",)        # whom an attorney listed on a matter may add or remove; the rest: an administrator


def team(ctx: Ctx, pk: int) -> list[User]:
    """Who is listed on matter `pk`, for anyone listed on it (the wall: others are refused, logged)."""
    _get(ctx, pk, "matter.read")
    return list(ctx.s.execute(select(User).join(MatterAccess, MatterAccess.user_id == User.id)
                              .where(MatterAccess.matter_id == pk).order_by(User.display_name, User.username)).scalars())


def team_candidates(ctx: Ctx, pk: int) -> list[User]:
    """The active paralegal accounts not yet listed on `pk`, for a user who may change its team."""
    _get(ctx, pk, "matter.team")
    listed = select(MatterAccess.user_id).where(MatterAccess.matter_id == pk)
    return list(ctx.s.execute(select(User).where(User.role.in_(TEAM_ROLES), User.disabled.is_(False),
                                                 User.id.not_in(listed))
                              .order_by(User.display_name, User.username)).scalars())


def set_team_member(ctx: Ctx, pk: int, user_id: int, listed: bool) -> None:
    """An attorney listed on matter `pk` (or an administrator) adds or removes a paralegal: logged as
    an access-list change. Anyone else, another role, or a disabled account is refused (logged); an
    administrator keeps the walls for everything else on the Users page."""
    _get(ctx, pk, "matter.team")
    target = ctx.s.get(User, user_id)
    if target is None or target.role not in TEAM_ROLES or (listed and target.disabled):
        why = "no such account" if target is None else (
            f"only a {' or '.join(TEAM_ROLES)} is added or removed here; an administrator changes the rest"
            if target.role not in TEAM_ROLES else "the account is disabled")
        _deny(ctx, "matter.team", pk, why)
    row = ctx.s.get(MatterAccess, (pk, user_id))
    if listed and row is None:
        ctx.s.add(MatterAccess(matter_id=pk, user_id=user_id, granted_by=ctx.user.id))
        ctx.log("access-grant", pk, reason=f"user {user_id}, by a member of the matter's team")
    elif not listed and row is not None:
        ctx.s.delete(row)
        ctx.log("access-revoke", pk, reason=f"user {user_id}, by a member of the matter's team")


def team_of(who: Actor, pk: int) -> tuple[list[User], list[User]]:
    """`team` and, for a user who may change it, `team_candidates` (else []), in one transaction."""
    with db.session() as s:
        ctx = Ctx.of(s, who)
        members_ = team(ctx, pk)
        may = who.user is not None and allowed(who.user.role, "matter.team")
        return members_, (team_candidates(ctx, pk) if may else [])


def change_team(who: Actor, pk: int, user_id: int, listed: bool) -> None:
    """`set_team_member` in its own transaction."""
    with db.session() as s:
        set_team_member(Ctx.of(s, who), pk, user_id, listed)


def administrators() -> list[str]:
    """The display names of the active administrators, for a user who needs to be listed on a matter."""
    with db.session() as s:
        return [u.display_name or u.username for u in s.execute(
            select(User).where(User.role == "admin", User.disabled.is_(False)).order_by(User.display_name)).scalars()]

# ---- case files in and out -----------------------------------------------------------------------
def export_yaml(ctx: Ctx, pk: int) -> str:
    m = _get(ctx, pk, "matter.read")
    ctx.log("export", m, reason="case file")
    return m.casefile


BUNDLE_KIND = "clets-defense case bundle"


def export_bundle(ctx: Ctx, pk: int, passphrase: str | None = None) -> bytes:
    """The case file and its evidence files in one ZIP: `case.yaml` beside the files it names;
    with a passphrase, the ZIP sealed under a key derived from it (crypto.seal_with_passphrase),
    for a copy that leaves the firm."""
    m = _get(ctx, pk, "matter.read")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("case.yaml", m.casefile)
        for row in _files(ctx, pk):
            if not safepath.relative_problem(row.name):
                zf.writestr(row.name, _checked(ctx, row))
    ctx.log("export", m, reason="case file with evidence" + (", sealed with a passphrase" if passphrase else ""))
    return crypto.seal_with_passphrase(buf.getvalue(), passphrase, BUNDLE_KIND) if passphrase else buf.getvalue()


def read_upload(data: bytes, name: str, kb=None, passphrase: str | None = None
                ) -> tuple[casefile.CaseFile, dict[str, bytes]]:
    """A case file as uploaded: YAML alone, or a ZIP of `case.yaml` and the evidence it names (also
    sealed with a passphrase, as export_bundle writes it). Raises AssessmentError with located
    problems; reads nothing it has not checked."""
    if crypto.is_passphrase_sealed(data):
        if not passphrase:
            raise AssessmentError([Problem(KEY008, "this bundle is sealed with a passphrase", file=name,
                                           hint="enter the passphrase it was exported with")])
        kind, data = crypto.unseal_with_passphrase(data, passphrase, name)
        if kind != BUNDLE_KIND:
            raise AssessmentError([Problem(CF001, f"this is a {kind or 'different'} file, not a case bundle",
                                           file=name)])
    if data.startswith(b"PK\x03\x04"):
        if problems := uploads.check_zip(data, name, CF001, uploads.BUNDLE, must_have="case.yaml",
                                         kind="case bundle"):
            raise AssessmentError(problems)
        zf = zipfile.ZipFile(io.BytesIO(data))
        case = _parse(zf.read("case.yaml"), f"{name}!case.yaml", kb)
        names = zf.namelist()
        files, missing = {}, []
        for rel in case.evidence.names():          # each a path inside the bundle: the model checked it
            if rel in names:
                files[rel] = zf.read(rel)
            else:
                missing.append(Problem(CF006, "the case file names an evidence file the bundle does not hold",
                                       file=f"{name}!case.yaml", field=rel))
        if missing:
            raise AssessmentError(missing)
        return case, files
    if problems := uploads.check_text(data, name, CF001):
        raise AssessmentError(problems)
    return _parse(data, name, kb), {}


# ---- an uploaded case file or bundle into an existing matter --------------------------------------
def _shown(value) -> str:
    if value is None or value == "":
        return "(none)"
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return str(value)


def _field_changes(prefix: str, old: dict, new: dict, skip: tuple[str, ...] = ()) -> list[str]:
    out = []
    for key in dict.fromkeys([*old, *new]):
        a, b = old.get(key), new.get(key)
        if key in skip or a == b:
            continue
        if key == "narrative":
            out.append(f"{prefix}.narrative: " + ("added" if not a else "removed" if not b
                                                  else f"changed ({len(a)} -> {len(b)} characters)"))
        else:
            out.append(f"{prefix}.{key}: {_shown(a)} -> {_shown(b)}")
    return out


def _item_changes(kind: str, key: str, old: list[dict], new: list[dict]) -> list[str]:
    """Items of a list (allegations by citation, subjects by name): removed, changed, added."""
    removed, added = [x for x in old if x not in new], [x for x in new if x not in old]

    def label(x: dict) -> str:
        rest = ", ".join(f"{k}: {_shown(v)}" for k, v in x.items() if k != key and v not in (None, ""))
        return f"{x[key]} ({rest})" if rest else str(x[key])
    changed = []
    for x in list(removed):
        twin = next((y for y in added if y[key] == x[key]), None)
        if twin is not None:
            removed.remove(x)
            added.remove(twin)
            changed.append(f"{kind} {x[key]}: " + "; ".join(f"{f}: {_shown(x.get(f))} -> {_shown(twin.get(f))}"
                                                            for f in dict.fromkeys([*x, *twin])
                                                            if x.get(f) != twin.get(f)))
    return ([f"{kind} removed: {label(x)}" for x in removed] + changed
            + [f"{kind} added: {label(x)}" for x in added])


def update_changes(old: casefile.CaseFile, held: dict[str, str], new: casefile.CaseFile,
                   files: dict[str, bytes], ref: str) -> list[str]:
    """In words, what updating the matter `ref` (its case file `old`, its evidence files `held`:
    name -> SHA-256) from the uploaded case file `new` with the evidence files `files` changes:
    field by field, allegations and subjects removed, changed and added, evidence files added or
    replaced. The matter keeps its id, whatever the file says (said first when they differ)."""
    a, b = old.model_dump(mode="json"), new.model_dump(mode="json")
    out = []
    if new.matter.id != ref:
        out.append(f"matter.id: the file says {new.matter.id}; the matter keeps its id {ref}")
    out += _field_changes("matter", a["matter"], b["matter"], skip=("id",))
    out += _field_changes("client", a["client"], b["client"])
    out += _item_changes("allegation", "citation", a["allegations"], b["allegations"])
    out += _item_changes("subject", "name", a["subjects"], b["subjects"])
    for section in ("facts", "dates", "evidence"):
        out += _field_changes(section, a[section], b[section])
    for name, data in files.items():
        sha = hashlib.sha256(data).hexdigest()
        if name not in held:
            out.append(f"evidence file added: {name} ({len(data):,} bytes)")
        elif held[name] != sha:
            out.append(f"evidence file replaced: {name} (new content, {len(data):,} bytes)")
    for name in new.evidence.names():
        if name not in files and name not in held:
            out.append(f"evidence file named but not held: {name} (upload it on the Evidence page)")
    return out


def preview_update(ctx: Ctx, pk: int, case: casefile.CaseFile, files: dict[str, bytes], kb=None
                   ) -> tuple[int, list[str]]:
    """What updating matter `pk` from an uploaded case file would change (`update_changes`), against
    the saved matter, and the version that comparison was made on (the update names it: a save
    made since is a Conflict). Needs the right to change the matter; writes nothing."""
    m = _get(ctx, pk, "matter.write")
    old, _ = casefile.loads_saved(m.casefile, f"matter {m.ref}", kb)
    return m.version, update_changes(old, {e.name: e.sha256 for e in _files(ctx, pk)}, case, files, m.ref)


def update_from_upload(ctx: Ctx, pk: int, base_version: int, case: casefile.CaseFile,
                       files: dict[str, bytes]) -> int:
    """Replace matter `pk`'s case file with an uploaded one and store the evidence files that came
    with it, as one save (`save`: a stale `base_version` is a Conflict and nothing is written); the
    matter keeps its own id whatever the file says. Logged as an import as well. The new version."""
    m = _get(ctx, pk, "matter.write")
    kept = case.model_copy(update={"matter": case.matter.model_copy(update={"id": m.ref})})
    before = m.version
    v = save(ctx, pk, base_version, case=kept, evidence=files or None)
    if v != before:
        ctx.log("import", m, reason=f"case file{f' and {len(files)} evidence file(s)' if files else ''} "
                                    "imported into the matter")
    return v


def _parse(data: bytes, name: str, kb) -> casefile.CaseFile:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise AssessmentError([Problem(CF001, f"not UTF-8 text (byte 0x{data[exc.start]:02x})", file=name,
                                       line=line, hint="save the case file as UTF-8")]) from None
    return casefile.loads(text, name, kb)


# ---- services: each in its own transaction, for the app's pages -------------------------------------
def list_matters(who: Actor, query: str = "", *, deleted: bool = False, log_search: bool = True) -> list[Row]:
    """`listing` in its own transaction."""
    with db.session() as s:
        return listing(Ctx.of(s, who), query, deleted=deleted, log_search=log_search)


def create_matter(who: Actor, case: casefile.CaseFile, evidence: dict[str, bytes] | None = None) -> int:
    """`create` in its own transaction; the new matter's key."""
    with db.session() as s:
        return create(Ctx.of(s, who), case, evidence)


def checkout(who: Actor, pk: int, folder: Path, kb=None) -> Opened:
    """Open matter `pk` (`open_`) and write its evidence files into `folder` (`materialize`), in one
    transaction."""
    with db.session() as s:
        ctx = Ctx.of(s, who)
        opened = open_(ctx, pk, kb)
        materialize(ctx, pk, folder)
        return opened


def save_matter(who: Actor, pk: int, base_version: int, *, case: casefile.CaseFile | None = None,
                review: Review | None = None, marks: dict | None = None,
                evidence: dict[str, bytes] | None = None) -> int:
    """`save` in its own transaction; the new version (Conflict on a stale copy, nothing written)."""
    with db.session() as s:
        return save(Ctx.of(s, who), pk, base_version, case=case, review=review, marks=marks, evidence=evidence)


def preview_matter_update(who: Actor, pk: int, case: casefile.CaseFile, files: dict[str, bytes], kb=None
                          ) -> tuple[int, list[str]]:
    """`preview_update` in its own transaction."""
    with db.session() as s:
        return preview_update(Ctx.of(s, who), pk, case, files, kb)


def update_matter_from_upload(who: Actor, pk: int, base_version: int, case: casefile.CaseFile,
                              files: dict[str, bytes]) -> int:
    """`update_from_upload` in its own transaction; the new version (Conflict on a stale copy)."""
    with db.session() as s:
        return update_from_upload(Ctx.of(s, who), pk, base_version, case, files)


def purge_matter(who: Actor, pk: int) -> tuple[int, int]:
    """`purge` in its own transaction."""
    with db.session() as s:
        return purge(Ctx.of(s, who), pk)


def delete_matter(who: Actor, pk: int) -> None:
    """`delete` in its own transaction."""
    with db.session() as s:
        delete(Ctx.of(s, who), pk)


def restore_matter(who: Actor, pk: int) -> None:
    """`restore` in its own transaction."""
    with db.session() as s:
        restore(Ctx.of(s, who), pk)


def still_listed(user: User, pk: int) -> bool:
    """Whether matter `pk` is still there, not deleted, with `user` still listed on it (a matter a
    session has open: access may have been withdrawn or the matter deleted since). Reads only."""
    with db.session() as s:
        m = s.get(Matter, pk)
        return m is not None and m.deleted_at is None and is_member(s, user, pk)


def access_lists(who: Actor) -> list[Row]:
    """`all_matters` in its own transaction (administrators)."""
    with db.session() as s:
        return all_matters(Ctx.of(s, who))


def members_of(who: Actor, pk: int) -> list[User]:
    """`members` in its own transaction (administrators)."""
    with db.session() as s:
        return members(Ctx.of(s, who), pk)


def change_access(who: Actor, pk: int, listed: dict[int, bool]) -> None:
    """Grant (True) or revoke (False) each user id's access to matter `pk`, in the order given, in
    one transaction; each change is role-checked and logged by `grant` and `revoke`. An id with no
    account (deleted since the page was drawn, or never there) raises NotFound and changes nothing."""
    with db.session() as s:
        ctx = Ctx.of(s, who)
        require_role(ctx, "users.manage", pk)
        users = {user_id: u for user_id in listed if (u := s.get(User, user_id)) is not None}
        if unknown := [str(user_id) for user_id in listed if user_id not in users]:
            raise NotFound(f"no account has the id {', '.join(unknown)}: nobody's access to the matter was changed")
        for user_id, on in listed.items():
            (grant if on else revoke)(ctx, pk, users[user_id])
