"""The sign-in gate every page passes: the server-side session check, the sign-in form, TOTP
enrolment when an administrator requires it, the idle watch that hides the page once the session
is over, and the optional sign-in through the firm's identity provider (`st.login`, when `[auth]`
is configured in `.streamlit/secrets.toml`), followed by the TOTP code where the account has one."""
from __future__ import annotations

import datetime as dt
import io
import sys

import segno
import streamlit as st

from assessment.app import state as ui
from assessment.app import webguard
from assessment.core.errors import AssessmentError
from assessment.firm import accounts, logins, sessions
from assessment.memo import startup

FRESH_OIDC = dt.timedelta(minutes=2)
OIDC_CODE_WITHIN = dt.timedelta(minutes=3)   # the provider's identity waits this long for the TOTP code
IDLE_CHECK_EVERY = dt.timedelta(seconds=20)  # how soon after the idle limit the page is hidden


def _tag(token: str) -> str:
    return sessions.token_sha(token)[:8]


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
        return issued is not None and now - dt.datetime.fromtimestamp(float(issued), dt.UTC) <= FRESH_OIDC
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
    held = webguard.remember(ui.own_browser(), result.token)
    if held is not None:            # one user per browser: who was signed in here before is signed out
        sessions.close(held, source=ui.source(), place="another sign-in on this browser")
        webguard.unbind(held)
    st.rerun()


def _resumed() -> str | None:
    """After a reload or a typed address (a new Streamlit session of a browser that was signed in):
    the session this browser held, taken up again if it still lasts (the same checks as every run),
    with the matter that was open."""
    token, matter_pk = webguard.resume(ui.own_browser())
    if token is None:
        return None
    user, _ = sessions.current_user(token, source=ui.source(), place="reload")
    if user is None:
        webguard.unbind(token)
        return None
    st.session_state.auth_token = token
    st.session_state.session_tag = _tag(token)
    st.session_state.last_user_id = user.id
    st.session_state.resume_pk = matter_pk
    return token


@st.fragment(run_every=IDLE_CHECK_EVERY)
def idle_watch() -> None:
    """Every 20 seconds, asked by the browser's timer: once the session is over (the idle limit
    passed, 12 hours, the account locked, signed out elsewhere), rerun the whole app, so the gate
    ends the session and the sign-in form replaces the page even if nobody clicks. It only reads
    the session (sessions.ended): the timer is not activity and keeps nothing alive."""
    if sessions.ended(st.session_state.get("auth_token")):
        st.rerun()


def signed_in():
    """The signed-in user; otherwise the sign-in form is shown and the script stops. (The server's
    start-up checks run first, once per process: a failed one is shown instead of the app.)"""
    try:
        startup.run()                      # once per process (the web server has usually run it already)
    except AssessmentError as exc:        # the reason, with its server paths, only where the administrator looks
        print("clets-defense: start-up check failed: " + "; ".join(str(p) for p in exc.problems), file=sys.stderr,
              flush=True)
        st.error("The app cannot start: a start-up check of the server failed. The administrator finds the reason "
                 "in the server's output (" + ", ".join(sorted({p.code for p in exc.problems})) + ").")
        st.stop()
    token = st.session_state.get("auth_token") or _resumed()
    user, why = sessions.current_user(token, source=ui.source(), place="session check")
    if user is not None:
        webguard.bind(ui.browser_cookie(), token)      # this browser may fetch this session's files
        webguard.note_matter(ui.own_browser(), token,               # a reload returns to this matter
                             st.session_state.get("matter_pk") or st.session_state.get("resume_pk"))
        st.session_state.user = user
        if (user.totp_required and not user.totp_secret) or st.session_state.get("totp_recovery"):
            enrol(user, required=user.totp_required and not user.totp_secret)
            st.stop()
        return user
    st.session_state.pop("user", None)
    if st.session_state.pop("auth_token", None):
        webguard.unbind(token)
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
    pending = _oidc_pending(dt.datetime.now(dt.UTC))
    if st.session_state.get("signin_notice"):
        st.info(st.session_state.signin_notice)
    if pending is not None:
        _oidc_code(pending)
        return
    with st.form("signin", clear_on_submit=False):
        name = st.text_input("User name", max_chars=64, key="signin_user")
        password = st.text_input("Password", type="password", max_chars=256, key="signin_password")
        code = st.text_input("Authentication code (if you use an authenticator app) or a recovery code",
                             max_chars=20, key="signin_code")
        go = st.form_submit_button("Sign in", type="primary")
    if go:
        result = logins.password_sign_in(name, password, code, source=ui.source())
        if result.ok:
            st.session_state.pop("signin_notice", None)
            _started(result)
        st.error(result.message)
    if oidc_configured():
        _oidc()


def provider_identity() -> dict | None:
    """The identity token's claims when the firm's identity provider has signed this browser in
    (`st.user`), otherwise None."""
    if not getattr(st.user, "is_logged_in", False):
        return None
    return dict(st.user)


def _oidc() -> None:
    claims = provider_identity()
    if claims is not None:
        now = dt.datetime.now(dt.UTC)
        if oidc_fresh(claims, now):
            result = logins.provider_sign_in(claims, source=ui.source())
            if result.ok:
                _started(result)
            if result.needs_code:      # the account's second factor is next: keep the identity a short while
                st.session_state.oidc_pending = {
                    "claims": {k: claims.get(k) for k in ("sub", "email", "email_verified", "iat")},
                    "until": now + OIDC_CODE_WITHIN}
                st.rerun()
            st.error(result.message)
        st.logout()          # a stale provider cookie: sign in at the provider again
    st.button("Sign in with the firm's identity provider", on_click=st.login)


def _oidc_pending(now: dt.datetime) -> dict | None:
    """The identity waiting for its TOTP code, until OIDC_CODE_WITHIN has passed (then it is
    dropped and the user signs in at the provider again)."""
    pending = st.session_state.get("oidc_pending")
    if pending is not None and now > pending["until"]:
        st.session_state.pop("oidc_pending")
        st.session_state.signin_notice = (f"No code was given within {OIDC_CODE_WITHIN.seconds // 60} minutes: "
                                          "sign in at the identity provider again.")
        return None
    return pending


def _oidc_code(pending: dict) -> None:
    """The second step after the identity provider, for an account with a TOTP second factor."""
    st.write("The firm's identity provider has signed you in. Your account also asks for its second factor.")
    with st.form("oidc_code_form"):
        code = st.text_input("Authentication code from your authenticator app, or a recovery code", max_chars=20,
                             key="oidc_code")
        go = st.form_submit_button("Continue", type="primary")
    if go:
        result = logins.provider_sign_in(pending["claims"], code, source=ui.source())
        if result.ok:
            st.session_state.pop("oidc_pending", None)
            st.session_state.pop("signin_notice", None)
            _started(result)
        st.error(result.message)
    if st.button("Cancel"):
        st.session_state.pop("oidc_pending", None)
        st.logout()


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
    uri = accounts.totp_uri(user, secret)
    st.write("In an authenticator app, scan this code, or add an account with the key below it:")
    st.image(totp_qr(uri), caption="The key as a QR code (drawn on this server; nothing is sent anywhere)", width=220)
    st.code(" ".join(secret[i:i + 4] for i in range(0, len(secret), 4)))
    with st.expander("The key as a link (to open on the phone)"):
        st.code(uri)
    with st.form("totp_enrol"):
        code = st.text_input("The 6-digit code the app shows now", max_chars=8)
        go = st.form_submit_button("Turn on the second factor")
    if go:
        try:
            codes = accounts.enable_totp(user.id, secret, code, source=ui.source())
        except accounts.AccountError as exc:
            st.error(ui.md_escape(str(exc)))
        else:
            st.session_state.pop("totp_new", None)
            st.session_state.totp_recovery = codes
            st.rerun()


def totp_qr(uri: str) -> bytes:
    """The otpauth:// address as a QR code, a PNG drawn here (segno; no outside service)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="png", scale=6, border=4)
    return out.getvalue()


def sign_out() -> None:
    """End this session, and the one this browser holds (every tab of the browser is signed out)."""
    held = webguard.forget(ui.own_browser())
    for token in dict.fromkeys(t for t in (st.session_state.get("auth_token"), held) if t):
        sessions.close(token, source=ui.source(), place="sign out")
        webguard.unbind(token)
    ui.close_matter()
    for key in ("auth_token", "user", "session_tag"):
        st.session_state.pop(key, None)
    st.session_state.signin_notice = "Signed out."
