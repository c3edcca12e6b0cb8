"""The server-side sessions that follow a sign-in: started, checked on every request, ended.

- A session is stored under the SHA-256 of its token (the token itself never reaches the database).
- It ends after 30 minutes without a request (idle lock) and 12 hours after sign-in (absolute),
  whatever the browser holds, and at once when its account is locked or disabled; signing out
  ends it on the server. `expiry` tells, without touching the session, whether it has ended, so
  the page's idle watch can hide the page at the limit without counting its own timer as activity.
- Every time-out and sign-out is in the access log.

Below both accounts (a role change or a new password ends the user's sessions) and logins
(a sign-in starts one)."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from assessment.core import settings
from assessment.firm import access_log, db
from assessment.firm.tables import LoginSession, User, now

IDLE = dt.timedelta(minutes=30)             # the default and the most $CLETS_IDLE_MINUTES may set
ABSOLUTE = dt.timedelta(hours=12)
TOUCH_EVERY = dt.timedelta(seconds=15)      # last-seen is written at most this often


def idle_limit() -> dt.timedelta:
    """How long a session may go without a request: 30 minutes, or less when $CLETS_IDLE_MINUTES
    says so (tests shorten it). One above 30 gives 30: the setting can shorten the limit, never
    lengthen it past the policy; one that is not a positive number is refused (ENV001)."""
    return min(dt.timedelta(minutes=settings.IDLE_MINUTES.get()), IDLE)


def _minutes(limit: dt.timedelta) -> str:
    """`limit` as the sign-in page says it: "30 minutes", "0.5 minutes"."""
    minutes = limit.total_seconds() / 60
    return f"{minutes:g} minute{'s' if minutes != 1 else ''}"


def token_sha(token: str) -> str:
    """The hash a session is stored under (the token itself never reaches the database)."""
    return hashlib.sha256(token.encode()).hexdigest()


def start(s: Session, user: User, method: str, source: str) -> str:
    """A new session for `user` (signed in by `method`); returns its token, for the browser only."""
    token = secrets.token_urlsafe(32)
    s.add(LoginSession(token_sha=token_sha(token), user_id=user.id, source=source[:120], method=method))
    return token


def _ending(row: LoginSession | None, user: User | None, t: dt.datetime) -> str:
    """Why a session is over at time `t`, or "" while it lasts."""
    if row is None or row.ended_at is not None or user is None:
        return "signed out"
    return ("idle" if t - row.last_seen_at > idle_limit() else "absolute" if t - row.created_at > ABSOLUTE
            else "account locked" if user.locked_at is not None or user.disabled else "")


def holder(s: Session, sha: str) -> tuple[User | None, str]:
    """The user of the session stored under the hash `sha`, and why the session is over ("" while
    it lasts). Reads only: asking is not activity."""
    row = s.get(LoginSession, sha)
    user = s.get(User, row.user_id) if row is not None else None
    return user, _ending(row, user, now())


def expiry(s: Session, token: str | None) -> str:
    """Whether the session has ended or would end at its next request ("signed out", "idle",
    "absolute", "account locked"), or "" while it lasts. Reads only: a timer asking this is not
    activity, so it neither keeps the session alive nor writes anything."""
    if not token:
        return "signed out"
    return holder(s, token_sha(token))[1]


def check(s: Session, token: str | None, *, source: str = "", place: str = "") -> tuple[User | None, str]:
    """The user a session token belongs to, or None and why (signed out, idle, expired, locked)."""
    if not token:
        return None, ""
    row = s.get(LoginSession, token_sha(token))
    if row is None or row.ended_at is not None:
        return None, "signed out"
    user = s.get(User, row.user_id)
    t = now()
    reason = _ending(row, user, t)
    if reason:
        _end(s, row, user, reason, source, place)
        return None, {"idle": f"Locked after {_minutes(idle_limit())} without activity: sign in again.",
                      "absolute": f"Signed out {ABSOLUTE.seconds // 3600} hours after sign-in: sign in again.",
                      }.get(reason, "The account is locked: ask an administrator.")
    if t - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = t
    return user, ""


def _end(s: Session, row: LoginSession, user: User | None, reason: str, source: str, place: str) -> None:
    row.ended_at, row.end_reason = now(), reason
    access_log.record(s, actor=access_log.actor_id(user), event="logout" if reason == "sign-out" else "session-end",
                      object_type="user", object_id=row.user_id, reason=reason, source=source, place=place)


def sign_out(s: Session, token: str | None, *, source: str = "", place: str = "") -> None:
    row = s.get(LoginSession, token_sha(token)) if token else None
    if row is not None and row.ended_at is None:
        _end(s, row, s.get(User, row.user_id), "sign-out", source, place)


def end_all(s: Session, user: User, reason: str, source: str = "", *, keep: str | None = None) -> int:
    """End every open session of `user` (after a role change, a lock or a password reset), but
    the one stored under the hash `keep` (the session that changed its own password goes on)."""
    rows = s.execute(select(LoginSession).where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None),
                                                LoginSession.token_sha != (keep or ""))).scalars().all()
    for row in rows:
        _end(s, row, user, reason, source, "")
    return len(rows)


# ---- services: each in its own transaction, for the app's gate ------------------------------------
def current_user(token: str | None, *, source: str = "", place: str = "") -> tuple[User | None, str]:
    """`check` in its own transaction: the signed-in user of `token` (the session touched), or
    None and why (an ended session is ended and logged)."""
    with db.session() as s:
        return check(s, token, source=source, place=place)


def ended(token: str | None) -> str:
    """`expiry` in its own transaction: why the session is over, or "" while it lasts (reads only)."""
    with db.session() as s:
        return expiry(s, token)


def close(token: str | None, *, source: str = "", place: str = "") -> None:
    """`sign_out` in its own transaction."""
    with db.session() as s:
        sign_out(s, token, source=source, place=place)
