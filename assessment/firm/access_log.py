"""The access log: who did what to which matter, when, from where, and whether it was allowed.

- Append-only: database triggers refuse UPDATE, DELETE (and TRUNCATE), and any INSERT that does not
  extend the chain (its sequence one past the last, its prev_hash the last row's hash), which
  closes INSERT OR REPLACE and ON CONFLICT. On PostgreSQL the app's role may only SELECT and
  INSERT here (db.grant_app_role); the owner's rights stay with migrations.
- Keyed chain: each row's hash is an HMAC-SHA256, under the log key in the firm's key file
  (keys.py, outside the database), of the previous row's hash and the row's fields. Someone who
  can write to the database but cannot read the key file cannot alter, insert, remove or
  re-chain rows without `verify` naming the row. (Rows written before the app had a key are
  chained with plain SHA-256 and held in place by the first keyed row.)
- Anchored heads: after every commit that wrote log rows, the newest row's sequence and hash are
  appended, signed, to a file outside the database (keys.heads_path), synced to disk every
  `$CLETS_LOG_HEAD_EVERY` rows or `HEAD_SECONDS` and then also sent to syslog (`$CLETS_LOG_SYSLOG`). `verify`
  checks the chain against every exported head by default, so a cut end, or a log rewritten by
  someone holding the key, is found.
- `verify` also checks that the protection triggers are all there.
Rows carry ids, never CORI text."""
from __future__ import annotations

import csv
import datetime as dt
import fcntl
import hashlib
import hmac
import io
import json
import logging.handlers
import os
import sys
import threading
import time
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from assessment.core import settings
from assessment.firm import db
from assessment.firm import keys as keymod
from assessment.firm.context import Actor, cli_actor
from assessment.firm.permissions import Forbidden, require
from assessment.firm.tables import AccessLog, Setting
from assessment.firm.uploads import safe_cell

GENESIS = "0" * 64
FIELDS = ("seq", "time", "actor", "event", "object_type", "object_id", "outcome", "reason", "place", "source")
_LIMITS = {c.name: n for c in AccessLog.__table__.columns if (n := getattr(c.type, "length", None))}
_PG_LOCK = 731_142   # advisory lock key: one writer at a time extends the chain


HEAD_SECONDS = 30.0     # a head is synced (and to syslog) this long after the last, or $CLETS_LOG_HEAD_EVERY rows on


def _hash(prev: str, values: dict, key: bytes | None = None) -> str:
    """The row's link: HMAC-SHA256 under the log key, or plain SHA-256 for rows from before the key."""
    blob = json.dumps([prev] + [values[f] for f in FIELDS], separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hmac.new(key, blob, hashlib.sha256).hexdigest() if key else hashlib.sha256(blob).hexdigest()




def stamp(when: dt.datetime | None = None) -> str:
    return (when or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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
    row = AccessLog(**values, prev_hash=prev, hash=_hash(prev, values, keymod.load().log_key_for(seq)))
    s.add(row)
    s.flush()
    s.info["log_head"] = (seq, row.hash)        # exported after the commit, when one is due
    return row


# ---- exported heads --------------------------------------------------------------------------------
_heads_lock = threading.Lock()
_exported: dict[str, tuple[int, int, float]] = {}    # heads file -> (last seq, last synced seq, monotonic time)


def _head_mac(keys: keymod.Keys, seq: int, digest: str, when: str) -> str:
    """A head's signature, under the log key its row is chained with (and the database's id)."""
    key = hmac.new(keys.log_key_for(seq) or keys.log_keys[0][1], b"clets-defense log heads", hashlib.sha256).digest()
    return hmac.new(key, f"{keys.database}|{seq}|{digest}|{when}".encode(), hashlib.sha256).hexdigest()


def read_heads(path: Path | None = None) -> list[dict]:
    """The exported heads, in file order ([] when none were exported yet)."""
    path = Path(path or keymod.heads_path())
    if not path.exists():
        return []
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                out.append({**json.loads(line), "line": n})
            except ValueError:
                out.append({"line": n, "damaged": True})
    return out


def _tail_seq(path: Path) -> int:
    """The highest row the last lines of the heads file name (the file is read from its end only:
    it grows with every logged action)."""
    try:
        with open(path, "rb") as fh:
            start = max(0, fh.seek(0, os.SEEK_END) - 8192)
            fh.seek(start)
            lines = fh.read().decode("utf-8", "replace").splitlines()[1 if start else 0:]   # not a cut first line
    except FileNotFoundError:
        return 0
    seqs = []
    for line in lines:
        try:
            seqs.append(int(json.loads(line)["seq"]))
        except (ValueError, KeyError, TypeError):
            continue
    return max(seqs, default=0)


def export_head(seq: int, digest: str, *, force: bool = False) -> bool:
    """Append the head (seq, hash), signed, to the heads file after every commit that wrote log
    rows (so no row can be taken off the end unseen), synced to disk and sent to syslog (when
    configured) every $CLETS_LOG_HEAD_EVERY rows or HEAD_SECONDS, and always when `force`. Appends are
    serialised across processes by a lock. True when a line was written."""
    path = keymod.heads_path()
    with _heads_lock:
        last = _exported.get(str(path))
        if last is None:
            top = _tail_seq(path)
            last = (top, top, 0.0)
        if seq <= last[0] and not force:
            return False
        durable = force or seq >= last[1] + settings.LOG_HEAD_EVERY.get() or time.monotonic() - last[2] >= HEAD_SECONDS
        keys = keymod.load()
        when = stamp()
        line = json.dumps({"db": keys.database, "seq": seq, "hash": digest, "time": when,
                           "mac": _head_mac(keys, seq, digest, when)})
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.write(line + "\n")
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        _exported[str(path)] = (seq, seq, time.monotonic()) if durable else (seq, last[1], last[2])
    if durable:
        _to_syslog(line)
    return True


def _to_syslog(line: str) -> None:
    """`$CLETS_LOG_SYSLOG`: a socket path (/dev/log) or udp:HOST:PORT; the head goes there too."""
    address = settings.LOG_SYSLOG.get()
    if address is None:
        return
    handler = logging.handlers.SysLogHandler(address=address, facility=logging.handlers.SysLogHandler.LOG_AUTH)
    try:
        handler.emit(logging.makeLogRecord({"msg": f"clets-defense access-log head {line}", "levelno": 20,
                                            "levelname": "INFO"}))
    finally:
        handler.close()


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    head = session.info.pop("log_head", None)
    if head is not None:
        try:
            export_head(*head)
        except OSError as exc:      # the rows are committed; say so where the server's owner will see it
            print(f"clets-defense: WARNING: could not export the access log's head to {keymod.heads_path()}: {exc}",
                  file=sys.stderr)


@sa_event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("log_head", None)


@dataclass
class Break:
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"row {self.seq}: {self.problem}" if self.seq else self.problem


def check_chain(rows, key_for, wanted: AbstractSet[int] = frozenset()) -> tuple[list[Break], int, str, dict[int, str]]:
    """The breaks in a chain of rows (tuples of FIELDS, prev_hash, hash, in sequence order), the
    number of rows, the last hash, and the hashes of the rows whose sequence is in `wanted`.
    `key_for(seq)` is the log key row `seq` is chained under (Keys.log_key_for)."""
    breaks: list[Break] = []
    seen: dict[int, str] = {}
    prev, expected, n = GENESIS, 1, 0
    for *fields, prev_hash, row_hash in rows:
        n += 1
        seq = fields[0]
        if seq != expected:
            breaks.append(Break(seq, f"rows {expected}-{seq - 1} are missing"
                                if seq > expected else f"sequence number repeats or goes back (expected {expected})"))
        if prev_hash != prev:
            breaks.append(Break(seq, "does not link to the row before it (a row before it was changed, "
                                     "removed or inserted)"))
        if _hash(prev_hash, dict(zip(FIELDS, fields, strict=True)), key_for(seq)) != row_hash:
            breaks.append(Break(seq, "its contents do not match its hash (the row was altered, or re-chained "
                                     "without the firm's log key)"))
        if seq in wanted:
            seen[seq] = row_hash
        prev, expected = row_hash, seq + 1
    return breaks, n, prev, seen


def verify(s: Session, head: tuple[int, str] | None = None, *, heads: bool = True,
           keys: keymod.Keys | None = None) -> tuple[list[Break], int, str]:
    """Every break in the chain, the number of rows, and the newest row's hash. Checks the
    protection triggers, every row's keyed link, the key file's start of the keyed chain against
    the database's, and (with `heads`) every head exported to the heads file, plus `head` if given."""
    keys = keys or keymod.load()
    breaks: list[Break] = [Break(0, f"the protection trigger {t} is missing or altered (someone with the database "
                                    "owner's rights removed, disabled or rewrote it)") for t in db.missing_triggers(s)]
    setting = s.get(Setting, "log_keyed_from")
    if setting is not None and int(setting.value) != keys.log_keyed_from:
        breaks.append(Break(0, f"the database says the keyed chain starts at row {setting.value}, the key file says "
                               f"{keys.log_keyed_from}"))
    exported = [h for h in read_heads() if h.get("db", keys.database) == keys.database] if heads else []
    if head is not None:
        exported.append({"seq": head[0], "hash": head[1], "given": True})
    wanted = {h["seq"] for h in exported if "seq" in h}
    cols = [AccessLog.__table__.c[f] for f in FIELDS]
    rows = s.execute(select(*cols, AccessLog.prev_hash, AccessLog.hash).order_by(AccessLog.seq)
                     .execution_options(yield_per=10_000))       # plain tuples, streamed: no ORM objects
    found, n, prev, seen = check_chain(rows, keys.log_key_for, wanted)
    breaks += found
    for h in exported:
        where = "the recorded head" if h.get("given") else f"the head exported to {keymod.heads_path()} (line {h['line']})"
        if h.get("damaged") or not h.get("given") and not hmac.compare_digest(
                str(h.get("mac", "")), _head_mac(keys, h.get("seq", 0), str(h.get("hash", "")), str(h.get("time", "")))):
            breaks.append(Break(int(h.get("seq") or 0), f"{where} was altered (its signature does not match)"))
        elif h["seq"] not in seen:
            breaks.append(Break(h["seq"], f"{where} is gone: the log now holds {n} rows (rows were removed from "
                                          "the end)"))
        elif seen[h["seq"]] != h["hash"]:
            breaks.append(Break(h["seq"], f"differs from {where}: the log was rewritten"))
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
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(list(FIELDS) + ["prev_hash", "hash"])
    for r in rows:
        w.writerow([safe_cell(getattr(r, f)) for f in FIELDS] + [r.prev_hash, r.hash])
    return out.getvalue()


# ---- services: the log written and read for someone, for the app and the command line alike ---------
def name_of(who: Actor) -> str:
    """How `who` is named in the log: the user's id and name, or the command line's "cli:<os user>"."""
    return cli_actor() if who.cli else actor_id(who.user)


def authorize(s: Session, who: Actor, action: str, *, event: str, object_type: str = "",
              object_id: str | int = "") -> None:
    """The role check every firm service, and the knowledge-base and template stores, make before
    acting: `who` needs a role allowed `action` (permissions.require); the command line, the
    server's owner, may. A refusal is logged as `event`, denied, committed on its own (whatever
    the transaction `s` had begun is rolled back first, so nothing of it is kept), and raised as
    Forbidden."""
    if who.cli:
        return
    try:
        require(who.user, action)
    except Forbidden as exc:
        record_refusal(s, actor=name_of(who), event=event, object_type=object_type, object_id=object_id,
                       reason=exc.why, place=who.place, source=who.source)
        raise


def record_refusal(s: Session, *, outcome: str = "denied", **row: Any) -> None:
    """A refusal's row, committed on its own: whatever the refused call had begun in `s` is rolled
    back first, so nothing of it is kept with the row (the caller then raises)."""
    s.rollback()
    record(s, outcome=outcome, **row)
    s.commit()


def append(who: Actor, event: str, *, object_type: str = "", object_id: str | int = "", reason: str = "",
           outcome: str = "success") -> None:
    """One row for something `who` did, in its own transaction."""
    with db.session() as s:
        record(s, actor=name_of(who), event=event, object_type=object_type, object_id=object_id, reason=reason,
               outcome=outcome, place=who.place, source=who.source)


def _reader(s: Session, who: Actor, event: str) -> None:
    """The role check for reading the log (`log.read`), its refusal logged as `event`."""
    authorize(s, who, "log.read", event=event, object_type="access-log")


def read_in(s: Session, who: Actor, *, logged_as: str = "log-read", note: bool = True, limit: int = 5000,
            **filters) -> list[AccessLog]:
    """The rows matching `filters` (those of `query`), newest first, read for `who` in the caller's
    transaction: the one place the log is read for anyone. The role is checked (a refusal logged)
    and the reading is logged as `logged_as` ("log-read"; "log-export" for a copy), unless `note`
    is False: a page showing the same rows again, whose reading was logged the first time."""
    _reader(s, who, logged_as)
    rows = query(s, limit=limit, **filters)
    if note:
        record(s, actor=name_of(who), event=logged_as, object_type="access-log",
               reason=f"{len(rows)} rows shown" if logged_as == "log-read" else f"{len(rows)} rows",
               place=who.place, source=who.source)
    return rows


def read(who: Actor, *, note: bool = True, limit: int = 5000, **filters) -> list[AccessLog]:
    """`read_in` in its own transaction."""
    with db.session() as s:
        return read_in(s, who, note=note, limit=limit, **filters)


def export_in(s: Session, who: Actor, **filters) -> str:
    """Every row matching `filters`, as CSV, read for `who` in the caller's transaction (logged as
    "log-export")."""
    return to_csv(read_in(s, who, logged_as="log-export", limit=10**9, **filters))


def export_csv(who: Actor, **filters) -> tuple[str, int]:
    """Every row matching `filters` as CSV, and how many, in its own transaction (logged)."""
    with db.session() as s:
        rows = read_in(s, who, logged_as="log-export", limit=10**9, **filters)
        return to_csv(rows), len(rows)


def kinds(who: Actor) -> list[str]:
    """The events the log holds, for a filter (role-checked like a reading; not logged: no row is read)."""
    with db.session() as s:
        _reader(s, who, "log-read")
        return events(s)


def audit(who: Actor, head: tuple[int, str] | None = None, *, heads: bool = True) -> tuple[list[Break], int, str]:
    """`verify` for `who`, role-checked, with its result logged ("log-verify"), in its own transaction."""
    with db.session() as s:
        _reader(s, who, "log-verify")
        breaks, n, last = verify(s, head, heads=heads)
        record(s, actor=name_of(who), event="log-verify", object_type="access-log",
               outcome="failure" if breaks else "success", reason=f"{n} rows, {len(breaks)} breaks",
               place=who.place, source=who.source)
    return breaks, n, last


def new_key(old: keymod.Keys, who: Actor) -> tuple[keymod.Keys, int]:
    """A new log key chaining the log from the next row, saved in the key file and logged; the log's
    writers wait meanwhile (PostgreSQL: the chain's advisory lock). Returns the keys and that row."""
    with db.session() as s:
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
        start = (s.execute(select(func.max(AccessLog.seq))).scalar() or 0) + 1
        new = keymod.with_new_log_key(old, start)
        keymod.save(new)
        record(s, actor=name_of(who), event="key-rotate", object_type="keys", object_id=f"log key {len(new.log_keys)}",
               reason=f"the access log is chained under a new key from row {start}", place=who.place,
               source=who.source)
    return new, start
