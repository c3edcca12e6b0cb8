"""Signing in: passwords, the second factor, lockout and the firm's identity provider. The
session a sign-in starts is `sessions.py`'s.

- Five failed sign-ins within 15 minutes lock the account until an administrator unlocks it;
  failures are counted in the database, so every app process sees the same count.
- Every refusal gives the same message, whether the user name exists or not, the password or the
  code was wrong, or the account is locked (no probing for user names).
- On PostgreSQL the attempts on one account are serialised by a lock on the user's row, so 50
  concurrent tries still check at most five passwords before the lock (SQLite serialises every
  transaction already: BEGIN IMMEDIATE).
- The firm's identity provider (OIDC) signs in only an identity bound to an account: by its
  subject, or the first time by an e-mail address the provider has verified and an administrator
  has pre-bound to the account. An account with a TOTP second factor gives its code after the
  provider too.
- Every sign-in, failure and lockout is in the access log."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from assessment.firm import access_log, accounts, db, sessions
from assessment.firm.tables import LoginFailure, User, now

LOCK_AFTER = 5
LOCK_WINDOW = dt.timedelta(minutes=15)
REFUSED = ("Sign-in failed: the user name, password or code is wrong, or the account is locked. "
           f"{LOCK_AFTER} failures within {LOCK_WINDOW.seconds // 60} minutes lock an account until an "
           "administrator unlocks it.")
OIDC_REFUSED = ("Sign-in through the identity provider failed: this identity is not linked to an account here, "
                "the code is wrong, or the account is locked. An administrator links a new account on the Users page.")


@dataclass
class SignIn:
    ok: bool
    message: str = ""
    token: str | None = None
    user: User | None = None
    needs_code: bool = False        # OIDC: the provider has signed the user in; the second factor is next


def _lock(s: Session, user: User) -> None:
    """Lock `user`'s row until the transaction ends and re-read it (PostgreSQL: SELECT ... FOR
    UPDATE; SQLite ignores it, its transactions being serialised already). Concurrent attempts on
    one account then read locked_at and count failures one after the other."""
    s.refresh(user, with_for_update=True)


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
    token = sessions.start(s, user, method, source)
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
    seen = user.password_hash
    _lock(s, user)             # the hashing above runs in parallel; the decision below, one attempt at a time
    if user.password_hash != seen:                              # reset meanwhile: check against the new one
        password_ok = accounts.verify_password(user, password)
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


def email_verified(claims: dict) -> bool:
    """Whether the identity provider vouches for the e-mail address (the claim `email_verified`:
    true, or the string "true" some providers send); missing or anything else is not verified."""
    value = claims.get("email_verified")
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _oidc_account(s: Session, claims: dict) -> tuple[User | None, str]:
    """The account an identity signs in to, locked for this transaction, or None and why not:
    the account already bound to the identity's subject, or the one account an administrator has
    pre-bound to the e-mail address the provider has verified."""
    subject = str(claims.get("sub") or "").strip()
    if not subject:
        return None, "identity token without a subject"
    user = s.execute(select(User).where(User.oidc_subject == subject).with_for_update()).scalar_one_or_none()
    if user is not None:
        return user, ""
    email = str(claims.get("email") or "").strip().lower()
    if not email:
        return None, "unbound identity without an e-mail address"
    if not email_verified(claims):
        return None, f"e-mail {email} not verified by the identity provider"
    found = s.execute(select(User).where(func.lower(User.oidc_bind_email) == email).with_for_update()).scalars().all()
    if len(found) != 1:
        return None, (f"no account pre-bound to {email}" if not found
                      else f"{email} is pre-bound to {len(found)} accounts")
    return found[0], ""


def sign_in_oidc(s: Session, claims: dict, code: str | None = None, *, source: str = "",
                 place: str = "sign-in") -> SignIn:
    """After the firm's identity provider has signed the user in (`st.login`; `claims` are the
    identity token's): the local account bound to the identity, whose role, lock, walls and
    session limits apply. The first sign-in binds the identity (its subject) to the account an
    administrator pre-bound to the verified e-mail address, and clears the pre-binding. An account
    with a TOTP second factor must also give a current code or a recovery code: without `code`
    the answer is `needs_code` (nothing is bound or started yet), and a wrong code counts as a
    failed sign-in. Every refusal reads the same; the log says why."""
    user, why = _oidc_account(s, claims)
    if user is None:
        _fail(s, None, why, source, place)
        return SignIn(False, OIDC_REFUSED)
    if user.disabled or user.locked_at is not None:
        _fail(s, user, "account disabled" if user.disabled else "account locked", source, place)
        return SignIn(False, OIDC_REFUSED)
    if user.totp_secret and code is None:
        return SignIn(False, "Enter the code from your authenticator app, or a recovery code.", needs_code=True)
    if user.totp_secret and not accounts.second_factor_ok(s, user, code or ""):
        _fail(s, user, "wrong or reused second-factor code", source, place)
        return SignIn(False, OIDC_REFUSED)
    subject = str(claims["sub"]).strip()
    if user.oidc_subject != subject:
        old, user.oidc_subject, user.oidc_bind_email = user.oidc_subject, subject, None
        access_log.record(s, actor=access_log.actor_id(user), event="oidc-bind", object_type="user",
                          object_id=user.id, reason=f"subject {subject}" + (f" (was {old})" if old else ""),
                          source=source, place=place)
    return _start(s, user, "oidc+totp" if user.totp_secret else "oidc", source, place)


# ---- services: each in its own transaction, for the app's sign-in form -----------------------------
def password_sign_in(username: str, password: str, code: str = "", *, source: str = "") -> SignIn:
    """`sign_in` in its own transaction (a refusal's failure count and log rows are committed)."""
    with db.session() as s:
        return sign_in(s, username, password, code, source=source)


def provider_sign_in(claims: dict, code: str | None = None, *, source: str = "") -> SignIn:
    """`sign_in_oidc` in its own transaction."""
    with db.session() as s:
        return sign_in_oidc(s, claims, code, source=source)
