"""The access log: who did what to which matter, when, from where, and whether it was allowed.

Append-only (database triggers refuse UPDATE and DELETE) and hash-chained: each row's hash is the
SHA-256 of the previous row's hash and its own fields, so `verify` finds any row altered,
inserted or deleted inside the chain. A deleted tail is found against a head written down
earlier (`clets-assess audit verify --head SEQ:HASH`). Rows carry ids, never CORI text."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from .tables import AccessLog

GENESIS = "0" * 64
FIELDS = ("seq", "time", "actor", "event", "object_type", "object_id", "outcome", "reason", "place", "source")
_LIMITS = {c.name: c.type.length for c in AccessLog.__table__.columns if getattr(c.type, "length", None)}
_PG_LOCK = 731_142   # advisory lock key: one writer at a time extends the chain


def _hash(prev: str, values: dict) -> str:
    blob = json.dumps([prev] + [values[f] for f in FIELDS], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def stamp(when: dt.datetime | None = None) -> str:
    return (when or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def actor_id(user) -> str:
    """How a user is named in the log: id and user name (never a client's name)."""
    return f"{user.id}:{user.username}" if user is not None else "-"


def record(s: Session, *, actor: str, event: str, outcome: str = "success", object_type: str = "",
           object_id: str | int = "", reason: str = "", place: str = "", source: str = "",
           when: dt.datetime | None = None) -> AccessLog:
    """Append one row in the caller's transaction (so an action and its record commit together)."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
    last = s.execute(select(AccessLog.seq, AccessLog.hash).order_by(AccessLog.seq.desc()).limit(1)).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    values = {"seq": seq, "time": stamp(when), "actor": actor, "event": event, "object_type": object_type,
              "object_id": str(object_id), "outcome": outcome, "reason": reason, "place": place, "source": source}
    values = {k: (v[:_LIMITS[k]] if isinstance(v, str) and k in _LIMITS else v) for k, v in values.items()}
    row = AccessLog(**values, prev_hash=prev, hash=_hash(prev, values))
    s.add(row)
    s.flush()
    return row


@dataclass
class Break:
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"row {self.seq}: {self.problem}"


def verify(s: Session, head: tuple[int, str] | None = None) -> tuple[list[Break], int, str]:
    """Every break in the chain, the number of rows, and the newest row's hash."""
    breaks: list[Break] = []
    prev, expected, n = GENESIS, 1, 0
    cols = [AccessLog.__table__.c[f] for f in FIELDS]
    rows = s.execute(select(*cols, AccessLog.prev_hash, AccessLog.hash).order_by(AccessLog.seq)
                     .execution_options(yield_per=10_000))       # plain tuples, streamed: no ORM objects
    for *fields, prev_hash, row_hash in rows:
        n += 1
        seq = fields[0]
        if seq != expected:
            breaks.append(Break(seq, f"rows {expected}-{seq - 1} are missing"
                                if seq > expected else f"sequence number repeats or goes back (expected {expected})"))
        if prev_hash != prev:
            breaks.append(Break(seq, "does not link to the row before it (a row before it was changed, "
                                     "removed or inserted)"))
        if _hash(prev_hash, dict(zip(FIELDS, fields))) != row_hash:
            breaks.append(Break(seq, "its contents do not match its hash (the row was altered)"))
        prev, expected = row_hash, seq + 1
    if head is not None:
        seq, want = head
        got = s.execute(select(AccessLog.hash).where(AccessLog.seq == seq)).scalar()
        if got is None:
            breaks.append(Break(seq, f"the recorded head is gone: the log ends at row {expected - 1}"))
        elif got != want:
            breaks.append(Break(seq, "differs from the recorded head"))
    return breaks, n, prev


def query(s: Session, *, actor: str = "", event: str = "", object_id: str = "", outcome: str = "",
          since: dt.date | None = None, until: dt.date | None = None, limit: int = 5000) -> list[AccessLog]:
    """Rows matching every filter given, newest first."""
    q = select(AccessLog)
    if actor:
        q = q.where(AccessLog.actor.contains(actor))
    if event:
        q = q.where(AccessLog.event == event)
    if object_id:
        q = q.where(AccessLog.object_id == str(object_id))
    if outcome:
        q = q.where(AccessLog.outcome == outcome)
    if since:
        q = q.where(AccessLog.time >= since.isoformat())
    if until:
        q = q.where(AccessLog.time < (until + dt.timedelta(days=1)).isoformat())
    return list(s.execute(q.order_by(AccessLog.seq.desc()).limit(limit)).scalars())


def events(s: Session) -> list[str]:
    return sorted(s.execute(select(AccessLog.event).distinct()).scalars())


def count(s: Session) -> int:
    return s.execute(select(func.count()).select_from(AccessLog)).scalar_one()


def to_csv(rows: list[AccessLog]) -> str:
    from .uploads import safe_cell
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(list(FIELDS) + ["prev_hash", "hash"])
    for r in rows:
        w.writerow([safe_cell(getattr(r, f)) for f in FIELDS] + [r.prev_hash, r.hash])
    return out.getvalue()
