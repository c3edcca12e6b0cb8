"""The database tables (SQLAlchemy 2). The schema's history is in `migrations/`: change a table
here, then add a migration (`alembic check` in the tests fails until the two agree)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text, TypeDecorator, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTC(TypeDecorator):
    """A UTC time: stored without zone (SQLite keeps none), always returned zone-aware."""
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=dt.UTC) if value is not None else None


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    oidc_subject: Mapped[str | None] = mapped_column(String(255), unique=True, nullable=True)
    oidc_bind_email: Mapped[str | None] = mapped_column(String(255), nullable=True)   # an admin's pre-binding
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)   # a code is never taken twice
    totp_required: Mapped[bool] = mapped_column(Boolean, default=False)
    locked_at: Mapped[dt.datetime | None] = mapped_column(UTC, nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTC, default=now)
    password_changed_at: Mapped[dt.datetime] = mapped_column(UTC, default=now)


class LoginFailure(Base):
    """Failed sign-ins, counted in the database: 5 within 15 minutes lock the account."""
    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    time: Mapped[dt.datetime] = mapped_column(UTC, default=now)


class RecoveryCode(Base):
    __tablename__ = "recovery_codes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_sha: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[dt.datetime | None] = mapped_column(UTC, nullable=True)


class LoginSession(Base):
    """A signed-in browser session, held on the server: the browser keeps only a random token,
    whose SHA-256 is the key here."""
    __tablename__ = "login_sessions"
    token_sha: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTC, default=now)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTC, default=now)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTC, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    source: Mapped[str] = mapped_column(String(120), default="")
    method: Mapped[str] = mapped_column(String(16), default="password")   # password | oidc


class Matter(Base):
    """One matter: its case file (clets-case/1 YAML) and the attorney's review and marks. `version`
    rises with every save, so a save made on a stale copy is refused instead of overwriting."""
    __tablename__ = "matters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(120), unique=True)      # the case file's matter.id
    title: Mapped[str] = mapped_column(String(300))
    casefile: Mapped[str] = mapped_column(Text)
    review: Mapped[str] = mapped_column(Text, default="{}")
    marks: Mapped[str] = mapped_column(Text, default="{}")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTC, default=now)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTC, default=now)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTC, nullable=True)
    deleted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class MatterAccess(Base):
    """The ethical wall: only users listed for a matter may read or change it."""
    __tablename__ = "matter_access"
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    granted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    granted_at: Mapped[dt.datetime] = mapped_column(UTC, default=now)


class Blob(Base):
    """A stored file's bytes (evidence, memos, template versions), kept once per SHA-256 of the
    plain bytes. `content` is encrypted (AES-256-GCM, see crypto.py) under the firm's data key."""
    __tablename__ = "blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class EvidenceFile(Base):
    """An evidence file of a matter, under the path its case file names, with its SHA-256."""
    __tablename__ = "evidence_files"
    __table_args__ = (UniqueConstraint("matter_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTC, default=now)


class AccessLog(Base):
    """Append-only (triggers refuse UPDATE and DELETE) and hash-chained: each row's hash covers
    its fields and the previous row's hash. Ids only, never CORI text."""
    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_actor_time", "actor", "time"),)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    time: Mapped[str] = mapped_column(String(32))                   # UTC, ISO 8601 with microseconds and Z
    actor: Mapped[str] = mapped_column(String(80))                  # user id and name, or "-" before sign-in
    event: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[str] = mapped_column(String(120), default="")
    outcome: Mapped[str] = mapped_column(String(16))                # success | failure | denied
    reason: Mapped[str] = mapped_column(String(200), default="")
    place: Mapped[str] = mapped_column(String(80), default="")      # page or command
    source: Mapped[str] = mapped_column(String(120), default="")    # session and client address, or "cli"
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Setting(Base):
    """Values the database keeps about itself (for example the first access-log row chained
    under the firm's key)."""
    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Memo(Base):
    """A generated memo, kept with its matter (by the matter's key, never by its name), with a
    hash of everything that went into it and the template it was rendered through."""
    __tablename__ = "memos"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id", ondelete="CASCADE"), index=True)
    time: Mapped[dt.datetime] = mapped_column(UTC, default=now)
    generated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    generated_by_name: Mapped[str] = mapped_column(String(120), default="")
    docx_sha: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    pdf_sha: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"), nullable=True)
    inputs_sha: Mapped[str] = mapped_column(String(64))
    template_sha: Mapped[str] = mapped_column(String(64))
    template_version: Mapped[str] = mapped_column(String(40))        # a version's time, or "built-in"
    sections: Mapped[str] = mapped_column(Text, default="[]")         # JSON list
    overrides: Mapped[int] = mapped_column(Integer, default=0)
    review: Mapped[str] = mapped_column(Text, default="{}")           # the review the memo was made with (JSON)


class TemplateVersion(Base):
    """A memo template saved by firm staff; the newest is the active one (none: the built-in one)."""
    __tablename__ = "template_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    time: Mapped[dt.datetime] = mapped_column(UTC, default=now)
    author: Mapped[str] = mapped_column(String(120))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reason: Mapped[str] = mapped_column(String(500))
    name: Mapped[str] = mapped_column(String(255))                    # the file name as uploaded
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))


class ColumnMapping(Base):
    """A corrected column mapping remembered for files with the same headers: a matter's own, or
    (matter_id NULL) one an administrator set for an agency's exports (ORI)."""
    __tablename__ = "column_mappings"
    __table_args__ = (Index("ix_column_mappings_lookup", "signature_sha", "matter_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    matter_id: Mapped[int | None] = mapped_column(ForeignKey("matters.id", ondelete="CASCADE"), nullable=True)
    ori: Mapped[str | None] = mapped_column(String(9), nullable=True)
    signature_sha: Mapped[str] = mapped_column(String(64))           # SHA-256 of the normalised headers
    mapping: Mapped[str] = mapped_column(Text)                        # JSON: headers, columns, formats
    saved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    saved_at: Mapped[dt.datetime] = mapped_column(UTC, default=now)
