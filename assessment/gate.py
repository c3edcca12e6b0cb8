"""The sign-in gate every page passes: the server-side session check, the sign-in form, TOTP
enrolment when an administrator requires it, and the optional sign-in through the firm's
identity provider (`st.login`, when `[auth]` is configured in `.streamlit/secrets.toml`)."""
from __future__ import annotations

import datetime as dt
import hashlib

import streamlit as st

from . import accounts, db, logins, ui

FRESH_OIDC = dt.timedelta(minutes=2)


def _tag(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:8]


def oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file, or one Streamlit cannot read: no identity provider
        return False


def oidc_fresh(claims: dict, now: dt.datetime) -> bool:
    """Only an identity token issued moments ago signs in: the provider's 30-day cookie is not a
    sign-in here (the app's own idle and absolute limits apply to OIDC sessions too)."""
    issued = claims.get("iat")
    try:
        return issued is not None and now - dt.datetime.fromtimestamp(float(issued), dt.timezone.utc) <= FRESH_OIDC
    except (TypeError, ValueError, OverflowError):
        return False


def _started(result: logins.SignIn) -> None:
    if st.session_state.get("last_user_id") != result.user.id:
        ui.close_matter()
        st.session_state.pop("resume_pk", None)
    st.session_state.auto_open = "case" not in st.session_state
    st.session_state.last_user_id = result.user.id
    st.session_state.auth_token = result.token
    st.session_state.session_tag = _tag(result.token)
    st.rerun()


def signed_in():
    """The signed-in user; otherwise the sign-in form is shown and the script stops."""
    token = st.session_state.get("auth_token")
    with db.session() as s:
        user, why = logins.check(s, token, source=ui.source(), place="session check")
    if user is not None:
        st.session_state.user = user
        if (user.totp_required and not user.totp_secret) or st.session_state.get("totp_recovery"):
            enrol(user, required=True)
            st.stop()
        return user
    st.session_state.pop("user", None)
    if st.session_state.pop("auth_token", None):
        # the session ended (idle, expired, locked): nothing of the matter stays in this browser
        # session's memory; the same user signing in again returns to it
        st.session_state.resume_pk = st.session_state.get("matter_pk")
        ui.close_matter()
    if why and why != "signed out":
        st.session_state.signin_notice = why
    sign_in_form()
    st.stop()


def sign_in_form() -> None:
    st.title("clets-defense")
    st.subheader("Sign in")
    if st.session_state.get("signin_notice"):
        st.info(st.session_state.signin_notice)
    with st.form("signin", clear_on_submit=False):
        name = st.text_input("User name", max_chars=64, key="signin_user")
        password = st.text_input("Password", type="password", max_chars=256, key="signin_password")
        code = st.text_input("Authentication code (if you use an authenticator app) or a recovery code",
                             max_chars=20, key="signin_code")
        go = st.form_submit_button("Sign in", type="primary")
    if go:
        with db.session() as s:
            result = logins.sign_in(s, name, password, code, source=ui.source())
        if result.ok:
            st.session_state.pop("signin_notice", None)
            _started(result)
        st.error(result.message)
    if oidc_configured():
        _oidc()


def _oidc() -> None:
    if getattr(st.user, "is_logged_in", False):
        claims = dict(st.user)
        if oidc_fresh(claims, dt.datetime.now(dt.timezone.utc)):
            with db.session() as s:
                result = logins.sign_in_oidc(s, str(claims.get("sub", "")), str(claims.get("email", "")),
                                             source=ui.source())
            if result.ok:
                _started(result)
            st.error(result.message)
        st.logout()          # a stale provider cookie: sign in at the provider again
    st.button("Sign in with the firm's identity provider", on_click=st.login)


def enrol(user, required: bool = False) -> None:
    """Set up the TOTP second factor: a new secret, one code to prove it, recovery codes once."""
    if required:
        st.title("Second factor")
        st.warning("An administrator requires a second factor for your account: set it up to continue.")
    codes = st.session_state.get("totp_recovery")
    if codes:
        st.success("The second factor is on. Keep these one-time recovery codes somewhere safe (each works once, "
                   "instead of a code, if the phone is lost). They are shown only now.")
        st.code("\n".join(codes))
        if st.button("I have stored the recovery codes"):
            st.session_state.pop("totp_recovery")
            st.rerun()
        return
    secret = st.session_state.setdefault("totp_new", accounts.totp_new_secret())
    st.write("In an authenticator app, add an account with this key (or open the link on the phone):")
    st.code(" ".join(secret[i:i + 4] for i in range(0, len(secret), 4)))
    st.code(accounts.totp_uri(user, secret))
    with st.form("totp_enrol"):
        code = st.text_input("The 6-digit code the app shows now", max_chars=8)
        go = st.form_submit_button("Turn on the second factor")
    if go:
        try:
            with db.session() as s:
                fresh = s.get(type(user), user.id)
                codes = accounts.totp_enable(s, fresh, secret, code, source=ui.source())
        except accounts.AccountError as exc:
            st.error(str(exc))
        else:
            st.session_state.pop("totp_new", None)
            st.session_state.totp_recovery = codes
            st.rerun()


def sign_out() -> None:
    with db.session() as s:
        logins.sign_out(s, st.session_state.get("auth_token"), source=ui.source(), place="sign out")
    ui.close_matter()
    for key in ("auth_token", "user", "session_tag"):
        st.session_state.pop(key, None)
    st.session_state.signin_notice = "Signed out."
