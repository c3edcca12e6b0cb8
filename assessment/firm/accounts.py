"""Local accounts: argon2id password hashes, roles, TOTP second factor with recovery codes.

Passwords: at least 8 characters (15 or more recommended), up to 256, spaces allowed, checked
against an offline list of common passwords; no hints, no security questions, no forced expiry.
Every change here is written to the access log in the same transaction."""
from __future__ import annotations

import functools
import hashlib
import secrets
from pathlib import Path

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from assessment.firm import access_log, db, sessions
from assessment.firm.context import Actor, cli_actor, cli_source
from assessment.firm.permissions import ROLES, require
from assessment.firm.tables import LoginFailure, RecoveryCode, User, now

PASSWORD_MIN, PASSWORD_MAX = 8, 256
RECOVERY_CODES = 10
_hasher = PasswordHasher()          # argon2id, the library's RFC 9106 low-memory profile
_DUMMY = _hasher.hash("not a password of anyone")


class AccountError(ValueError):
    """A refused account change, with the reason to show."""


@functools.cache
def common_passwords() -> frozenset[str]:
    path = Path(__file__).resolve().parent / "data" / "common-passwords.txt"
    return frozenset(line.strip().lower() for line in path.read_text(encoding="utf-8").splitlines()
                     if line.strip() and not line.startswith("#"))


def password_problems(password: str, username: str = "") -> list[str]:
    problems = []
    if len(password) < PASSWORD_MIN:
        problems.append(f"at least {PASSWORD_MIN} characters are needed (15 or more is better: a phrase of "
                        "several words is easy to remember)")
    if len(password) > PASSWORD_MAX:
        problems.append(f"at most {PASSWORD_MAX} characters")
    low = password.lower().strip()
    if low in common_passwords() or (username and low == username.lower()):
        problems.append("this password is on the list of common or guessable passwords")
    return problems


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def rehash_if_needed(user: User, password: str) -> None:
    """After a successful sign-in: a hash made with older argon2 parameters is renewed."""
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)


def verify_password(user: User | None, password: str) -> bool:
    """Constant work whether or not the user exists (no user-name probing by timing)."""
    try:
        return _hasher.verify(user.password_hash if user else _DUMMY, password) and user is not None
    except (VerificationError, InvalidHashError):
        return False


def find(s: Session, username: str) -> User | None:
    return s.execute(select(User).where(User.username == username.strip().lower())).scalar_one_or_none()


def users(s: Session) -> list[User]:
    return list(s.execute(select(User).order_by(User.username)).scalars())


def count(s: Session) -> int:
    return len(users(s))


def _log(s: Session, by: User | None, event: str, target: User, reason: str = "", source: str = "",
         place: str = "", outcome: str = "success") -> None:
    """One row for a change to `target`'s account by `by`; None is the server's command line, named
    as access_log names it everywhere ("cli:<os user>", its source the command line's)."""
    access_log.record(s, actor=access_log.actor_id(by) if by else cli_actor(), event=event, object_type="user",
                      object_id=target.id, reason=reason, source=source or ("" if by else cli_source()),
                      place=place, outcome=outcome)


def add(s: Session, username: str, password: str, role: str, *, by: User | None, display_name: str = "",
        totp_required: bool = False, source: str = "") -> User:
    """A new account. `by` is the admin creating it (None only from the command line)."""
    if by is not None:
        require(by, "users.manage")
    username = username.strip().lower()
    if not username or len(username) > 64 or not all(c.isalnum() or c in "._-@" for c in username):
        raise AccountError("a user name is 1-64 letters, digits and . _ - @")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if find(s, username):
        raise AccountError(f"the user name {username} is taken")
    if problems := password_problems(password, username):
        raise AccountError("; ".join(problems))
    user = User(username=username, display_name=display_name.strip() or username, role=role,
                password_hash=hash_password(password), totp_required=totp_required)
    s.add(user)
    s.flush()
    _log(s, by, "user-create", user, reason=f"role {role}", source=source)
    return user


def _admin(by: User | None) -> None:
    """`by` is the administrator acting in the app; None is the server's command line."""
    if by is not None:
        require(by, "users.manage")


def set_role(s: Session, admin: User | None, user: User, role: str, source: str = "") -> None:
    """Change a role; the user's open sessions end, so the new role applies at once."""
    _admin(admin)
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if admin is not None and user.id == admin.id and role != "admin":
        raise AccountError("an administrator cannot remove their own admin role")
    old, user.role = user.role, role
    _log(s, admin, "role-change", user, reason=f"{old} -> {role}", source=source)
    sessions.end_all(s, user, "role changed", source)


def unlock(s: Session, admin: User | None, user: User, source: str = "") -> None:
    _admin(admin)
    user.locked_at = None
    s.execute(delete(LoginFailure).where(LoginFailure.user_id == user.id))
    _log(s, admin, "unlock", user, source=source)


def set_disabled(s: Session, admin: User | None, user: User, disabled: bool, source: str = "") -> None:
    _admin(admin)
    if admin is not None and user.id == admin.id:
        raise AccountError("an administrator cannot disable their own account")
    user.disabled = disabled
    _log(s, admin, "disable" if disabled else "enable", user, source=source)


def require_totp(s: Session, admin: User | None, user: User, required: bool, source: str = "") -> None:
    _admin(admin)
    user.totp_required = required
    _log(s, admin, "mfa-required" if required else "mfa-not-required", user, source=source)


def change_password(s: Session, user: User, old: str, new: str, source: str = "", *,
                    keep_session: str | None = None) -> int:
    """The user changes their own password. Every other open session of theirs ends (one left
    signed in elsewhere, perhaps by whoever learnt the old password, is signed out); the session
    stored under the hash `keep_session`, the one making the change, goes on. Returns how many
    sessions ended."""
    if not verify_password(user, old):
        _log(s, user, "password-change", user, reason="wrong current password", source=source, outcome="failure")
        raise AccountError("the current password is wrong")
    if problems := password_problems(new, user.username):
        raise AccountError("; ".join(problems))
    user.password_hash, user.password_changed_at = hash_password(new), now()
    _log(s, user, "password-change", user, source=source)
    return sessions.end_all(s, user, "password changed", source, keep=keep_session)


def set_oidc_binding(s: Session, admin: User | None, user: User, email: str, source: str = "") -> None:
    """An administrator pre-binds `user` to the e-mail address the firm's identity provider will
    vouch for: the first sign-in through the provider with that verified address binds the
    identity to this account (and clears this). An empty address removes the pre-binding. An
    address pre-bound to another account is refused, so an identity never has two candidates."""
    _admin(admin)
    email = email.strip().lower()
    if email and (len(email) > 255 or email.count("@") != 1 or not all(email.split("@"))
                  or any(c.isspace() or not c.isprintable() for c in email)):
        raise AccountError("an e-mail address is name@domain, without spaces, at most 255 characters")
    if email:
        other = s.execute(select(User).where(func.lower(User.oidc_bind_email) == email,
                                             User.id != user.id)).scalars().first()
        if other is not None:
            raise AccountError(f"{email} is pre-bound to {other.username} already: remove it there first")
    old, user.oidc_bind_email = user.oidc_bind_email, email or None
    _log(s, admin, "oidc-prebind", user, reason=f"{old or '-'} -> {email or '-'}", source=source)


def reset_password(s: Session, admin: User | None, user: User, new: str, source: str = "") -> None:
    """An administrator sets a new password; the user's open sessions end."""
    _admin(admin)
    if problems := password_problems(new, user.username):
        raise AccountError("; ".join(problems))
    user.password_hash, user.password_changed_at = hash_password(new), now()
    _log(s, admin, "password-reset", user, source=source)
    sessions.end_all(s, user, "password reset", source)


# ---- TOTP (RFC 6238) -----------------------------------------------------------------------------
def totp_new_secret() -> str:
    return pyotp.random_base32()


def totp_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name="clets-defense")


def _step(code: str, secret: str, when) -> int | None:
    """The time step `code` belongs to (now, or one step either side), or None."""
    code = code.strip().replace(" ", "")
    totp = pyotp.TOTP(secret)
    t = int(when.timestamp()) // totp.interval
    for step in (t, t - 1, t + 1):
        if secrets.compare_digest(totp.at(step * totp.interval), code):
            return step
    return None


def _code_sha(code: str) -> str:
    return hashlib.sha256(code.strip().replace("-", "").replace(" ", "").lower().encode()).hexdigest()


def totp_enable(s: Session, user: User, secret: str, code: str, source: str = "") -> list[str]:
    """Turn the second factor on once the user shows a code from the new secret; returns the
    one-time recovery codes (shown once, stored hashed)."""
    step = _step(code, secret, now())
    if step is None:
        _log(s, user, "mfa-enrol", user, reason="wrong code", source=source, outcome="failure")
        raise AccountError("that code does not match: check the authenticator app's clock and try the next code")
    user.totp_secret, user.totp_last_step = secret, step
    s.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    s.add_all(RecoveryCode(user_id=user.id, code_sha=_code_sha(c)) for c in codes)
    _log(s, user, "mfa-enrol", user, source=source)
    return codes


def totp_disable(s: Session, admin: User | None, user: User, source: str = "") -> None:
    """An administrator removes a lost second factor (the user enrols again at next sign-in if required)."""
    _admin(admin)
    user.totp_secret, user.totp_last_step = None, None
    s.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    _log(s, admin, "mfa-reset", user, source=source)


def second_factor_ok(s: Session, user: User, code: str) -> bool:
    """A current TOTP code not used before, or an unused recovery code (which is then spent)."""
    if not user.totp_secret:
        return True
    step = _step(code, user.totp_secret, now())
    if step is not None and step > (user.totp_last_step or -1):
        user.totp_last_step = step
        return True
    if code.strip():
        row = s.execute(select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None),
                                                   RecoveryCode.code_sha == _code_sha(code))).scalar_one_or_none()
        if row is not None:
            row.used_at = now()
            return True
    return False


# ---- services: each in its own transaction, for the Users and Account pages and the command line ---
ADMIN_CHANGES = (unlock, set_disabled, require_totp, set_role, reset_password, set_oidc_binding, totp_disable)


def list_users(who: Actor) -> list[User]:
    """Every account, by user name: for an administrator, or the server's command line (a refusal
    is logged, as "user-list")."""
    with db.session() as s:
        access_log.authorize(s, who, "users.manage", event="user-list", object_type="user")
        return users(s)


def add_user(who: Actor, username: str, password: str, role: str, *, display_name: str = "",
             totp_required: bool = False) -> User:
    """`add` in its own transaction, by the administrator `who` or the command line (a refusal is
    logged, as "user-create")."""
    with db.session() as s:
        access_log.authorize(s, who, "users.manage", event="user-create", object_type="user")
        return add(s, username, password, role, by=who.user, display_name=display_name,
                   totp_required=totp_required, source=who.source)


def update_user(who: Actor, user_id: int, change, *args) -> None:
    """One change to account `user_id` in its own transaction, by an administrator or the command
    line (a refusal is logged, as "user-change"): `change` is one of ADMIN_CHANGES (unlock,
    set_disabled, ...), called with the account as stored now and `args`, and logs what it did."""
    if change not in ADMIN_CHANGES:
        raise ValueError(f"{getattr(change, '__name__', change)!r} is not an administrator's change to an account")
    with db.session() as s:
        access_log.authorize(s, who, "users.manage", event="user-change", object_type="user", object_id=user_id)
        target = s.get(User, user_id)
        if target is None:
            raise AccountError(f"no account has the id {user_id}")
        change(s, who.user, target, *args, source=who.source)


def change_own_password(user_id: int, old: str, new: str, *, source: str = "", keep_token: str | None = None) -> int:
    """`change_password` in its own transaction; the session holding `keep_token` (the one making the
    change) goes on, the user's others end. Returns how many ended."""
    with db.session() as s:
        return change_password(s, s.get(User, user_id), old, new, source=source,
                               keep_session=sessions.token_sha(keep_token) if keep_token else None)


def enable_totp(user_id: int, secret: str, code: str, *, source: str = "") -> list[str]:
    """`totp_enable` in its own transaction, on the account as stored now; the recovery codes."""
    with db.session() as s:
        return totp_enable(s, s.get(User, user_id), secret, code, source=source)
