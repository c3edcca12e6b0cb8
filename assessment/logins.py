"""Signing in and the server-side sessions that follow.

- Five failed sign-ins within 15 minutes lock the account until an administrator unlocks it;
  failures are counted in the database, so every app process sees the same count.
- Every refusal gives the same message, whether the user name exists or not, the password or the
  code was wrong, or the account is locked (no probing for user names).
- A session ends after 30 minutes without a request (idle lock) and 12 hours after sign-in
  (absolute), whatever the browser holds; signing out ends it on the server.
- Every sign-in, failure, lockout, time-out and sign-out is in the access log."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from . import access_log, accounts
from .tables import LoginFailure, LoginSession, User, now

LOCK_AFTER = 5
LOCK_WINDOW = dt.timedelta(minutes=15)
IDLE = dt.timedelta(minutes=30)
ABSOLUTE = dt.timedelta(hours=12)
TOUCH_EVERY = dt.timedelta(seconds=15)      # last-seen is written at most this often
REFUSED = ("Sign-in failed: the user name, password or code is wrong, or the account is locked. "
           f"{LOCK_AFTER} failures within {LOCK_WINDOW.seconds // 60} minutes lock an account until an "
           "administrator unlocks it.")


@dataclass
class SignIn:
    ok: bool
    message: str = ""
    token: str | None = None
    user: User | None = None


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _fail(s: Session, user: User | None, reason: str, source: str, place: str) -> SignIn:
    access_log.record(s, actor=access_log.actor_id(user), event="login", outcome="failure", reason=reason,
                      object_type="user", object_id=user.id if user else "", source=source, place=place)
    if user is not None and user.locked_at is None and not user.disabled:
        s.add(LoginFailure(user_id=user.id, time=now()))
        s.flush()
        recent = s.execute(select(func.count()).select_from(LoginFailure).where(
            LoginFailure.user_id == user.id, LoginFailure.time > now() - LOCK_WINDOW)).scalar_one()
        if recent >= LOCK_AFTER:
            user.locked_at = now()
            access_log.record(s, actor=access_log.actor_id(user), event="lockout", object_type="user",
                              object_id=user.id, reason=f"{recent} failures within {LOCK_WINDOW.seconds // 60} minutes",
                              source=source, place=place)
    return SignIn(False, REFUSED)


def _start(s: Session, user: User, method: str, source: str, place: str) -> SignIn:
    token = secrets.token_urlsafe(32)
    s.add(LoginSession(token_sha=_sha(token), user_id=user.id, source=source[:120], method=method))
    s.execute(delete(LoginFailure).where(LoginFailure.user_id == user.id))
    access_log.record(s, actor=access_log.actor_id(user), event="login", object_type="user", object_id=user.id,
                      reason=method, source=source, place=place)
    return SignIn(True, "", token, user)


def sign_in(s: Session, username: str, password: str, code: str = "", *, source: str = "",
            place: str = "sign-in") -> SignIn:
    user = accounts.find(s, username)
    password_ok = accounts.verify_password(user, password)      # always does the hashing work
    if user is None:
        return _fail(s, None, "unknown user name", source, place)
    if user.disabled:
        return _fail(s, user, "account disabled", source, place)
    if user.locked_at is not None:
        return _fail(s, user, "account locked", source, place)
    if not password_ok:
        return _fail(s, user, "wrong password", source, place)
    if not accounts.second_factor_ok(s, user, code):
        return _fail(s, user, "wrong or reused second-factor code", source, place)
    accounts.rehash_if_needed(user, password)
    return _start(s, user, "password", source, place)


def sign_in_oidc(s: Session, subject: str, email: str, *, source: str = "", place: str = "sign-in") -> SignIn:
    """After the firm's identity provider has signed the user in (`st.login`): the local account
    whose OIDC subject matches, or, the first time, whose user name is the e-mail address. Roles,
    locks, the ethical walls and the session limits are the local account's."""
    user = s.execute(select(User).where(User.oidc_subject == subject)).scalar_one_or_none()
    if user is None and email:
        user = accounts.find(s, email)
        if user is not None and user.oidc_subject is None:
            user.oidc_subject = subject
    if user is None:
        access_log.record(s, actor="-", event="login", outcome="failure", reason="no local account for this identity",
                          source=source, place=place)
        return SignIn(False, "This identity has no account here: ask an administrator to add one.")
    if user.disabled or user.locked_at is not None:
        return _fail(s, user, "account locked or disabled", source, place)
    return _start(s, user, "oidc", source, place)


def check(s: Session, token: str | None, *, source: str = "", place: str = "") -> tuple[User | None, str]:
    """The user a session token belongs to, or None and why (signed out, idle, expired, locked)."""
    if not token:
        return None, ""
    row = s.get(LoginSession, _sha(token))
    if row is None or row.ended_at is not None:
        return None, "signed out"
    user = s.get(User, row.user_id)
    t = now()
    reason = ("idle" if t - row.last_seen_at > IDLE else "absolute" if t - row.created_at > ABSOLUTE
              else "account locked" if user.locked_at is not None or user.disabled else "")
    if reason:
        _end(s, row, user, reason, source, place)
        return None, {"idle": f"Locked after {IDLE.seconds // 60} minutes without activity: sign in again.",
                      "absolute": f"Signed out {ABSOLUTE.seconds // 3600} hours after sign-in: sign in again.",
                      }.get(reason, "The account is locked: ask an administrator.")
    if t - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = t
    return user, ""


def _end(s: Session, row: LoginSession, user: User, reason: str, source: str, place: str) -> None:
    row.ended_at, row.end_reason = now(), reason
    access_log.record(s, actor=access_log.actor_id(user), event="logout" if reason == "sign-out" else "session-end",
                      object_type="user", object_id=user.id, reason=reason, source=source, place=place)


def sign_out(s: Session, token: str | None, *, source: str = "", place: str = "") -> None:
    row = s.get(LoginSession, _sha(token)) if token else None
    if row is not None and row.ended_at is None:
        _end(s, row, s.get(User, row.user_id), "sign-out", source, place)


def end_all(s: Session, user: User, reason: str, source: str = "") -> int:
    """End every open session of `user` (after a role change, a lock or a password reset)."""
    rows = s.execute(select(LoginSession).where(LoginSession.user_id == user.id,
                                                LoginSession.ended_at.is_(None))).scalars().all()
    for row in rows:
        _end(s, row, user, reason, source, "")
    return len(rows)
