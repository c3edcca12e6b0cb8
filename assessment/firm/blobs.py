"""Stored files (evidence, generated memos, memo-template versions) in the database: once per
SHA-256 of the plain bytes, encrypted under the firm's data key, and checked against their
SHA-256 every time they are read back."""
from __future__ import annotations

import hashlib
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assessment.core.errors import EV002, AssessmentError, Problem
from assessment.firm import crypto
from assessment.firm import keys as keymod
from assessment.firm.tables import Blob


def _aad(sha: str) -> bytes:
    return sha.encode("ascii")


def put(s: Session, data: bytes) -> str:
    """Store `data` (encrypted) unless it is stored already; returns its SHA-256."""
    sha = hashlib.sha256(data).hexdigest()
    if s.get(Blob, sha) is None:
        s.add(Blob(sha256=sha, size=len(data), content=crypto.seal(data, _aad(sha))))
        s.flush()
    return sha


def get(s: Session, sha: str, name: str | None = None) -> bytes:
    """The plain bytes stored under `sha`, checked against it (a located error if they were altered)."""
    row = s.get(Blob, sha)
    if row is None:
        raise AssessmentError([Problem(EV002, "the stored file is missing from the database", file=name,
                                       hint="restore it from a backup")])
    data = crypto.unseal(row.content, _aad(sha), what=f"the stored file {name}" if name else "a stored file")
    if hashlib.sha256(data).hexdigest() != sha:
        raise AssessmentError([Problem(EV002, "the stored file no longer matches its SHA-256: it was altered in "
                                       "the database", file=name, hint="restore it from a backup")])
    return data


def reseal(s: Session, keys: keymod.Keys, *, plain_only: bool = False) -> int:
    """Encrypt every stored file under the active key of `keys` (key rotation), or with
    `plain_only` only those stored before the app encrypted them (a database from an earlier
    version; each checked against its SHA-256 first). Returns how many were written."""
    n = 0
    q = select(Blob.sha256)
    if plain_only:
        q = q.where(func.substr(Blob.content, 1, len(crypto.MAGIC)) != crypto.MAGIC)
    for sha in s.execute(q).scalars().all():
        row = s.get_one(Blob, sha)      # listed just above, in this transaction
        if crypto.is_sealed(row.content):
            if crypto.key_id(row.content) == keys.active:
                continue
            plain = crypto.unseal(row.content, _aad(sha), keys)
        else:
            plain = bytes(row.content)
        if hashlib.sha256(plain).hexdigest() != sha:
            raise AssessmentError([Problem(EV002, f"stored file {sha[:16]} does not match its SHA-256",
                                           hint="restore it from a backup")])
        row.content = crypto.seal(plain, _aad(sha), keys)
        n += 1
        s.flush()
        s.expunge(row)                  # one file in memory at a time
    return n


def not_under(s: Session, key_id: str) -> int:
    """How many stored files are not sealed under `key_id`."""
    return sum(1 for c in s.execute(select(func.substr(Blob.content, 1, 32))).scalars()
               if not crypto.is_sealed(bytes(c)) or crypto.key_id(bytes(c)) != key_id)


def by_key(s: Session) -> Counter[str]:
    """How many stored files each data key holds ("not encrypted": stored before the app encrypted
    them); only each file's first bytes are read."""
    return Counter(crypto.key_id(bytes(c)) if crypto.is_sealed(bytes(c)) else "not encrypted"
                   for c in s.execute(select(func.substr(Blob.content, 1, 32))).scalars())
