"""What the web server hands out besides the app's own pages: files under `/media/` (downloads
and images) only to a browser whose session is signed in, and security headers on every answer.

Streamlit serves a download or an image at `/media/<id>` to anyone who asks for that address,
with no cookie, also after the session that made it has signed out. This ASGI middleware
(`Guard`, mounted by `webapp.py`) stands in front of that route:

- every signed-in run of the app binds the browser (Streamlit's XSRF cookie, which the browser
  sends on the page's own requests) to its server-side session (`bind`);
- an export made for a matter is granted (`grant`) to that session, that browser and that
  matter, for `GRANT_SECONDS`;
- a `/media/` request is answered only when it carries the cookie of a browser bound to a session
  that is still signed in (not signed out, idle, expired, disabled or locked, checked in the
  database at that moment); a download also needs its grant, and the user must still be listed
  on the matter. Anything else gets 404, and a refused download is logged.

A reload of the page, or an address typed into the bar, starts a new Streamlit session. So that it
is not a sign-out, the guard gives each browser its own random id in an HTTP-only session cookie
(`BROWSER_COOKIE`; over HTTPS `__Host-` prefixed and Secure, so no other site or subdomain can set
it; SameSite=Strict; scripts in the page cannot read it), on the app's HTML page only (never on a
cached static file). A sign-in records, in this server's memory only, that the browser holds that
session (`remember`): one user per browser, as with any web application, so a second user signing
in on the same browser ends the first one's session there. A new Streamlit session of the same
browser takes the session up again (`resume`), through the same checks and limits as any run:
idle, absolute, signed out, disabled or locked. Signing out forgets the browser (every tab of it
is signed out). A restarted server forgets every browser (its users sign in again).

Every answer carries a Content-Security-Policy limiting images, media, frames and connections to
the app itself (a file name rendered as Markdown cannot make the browser fetch an outside
image), plus nosniff, no-referrer and frame-ancestors 'none'."""
from __future__ import annotations

import asyncio
import binascii
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie

from streamlit import config
from streamlit.runtime import Runtime
from streamlit.runtime.media_file_storage import MediaFileKind
from streamlit.runtime.memory_media_file_storage import _calculate_file_id
from streamlit.web.server.starlette.starlette_app_utils import decode_xsrf_token_string

from assessment.firm import exports, sessions

XSRF_COOKIE = "_streamlit_xsrf"
BROWSER_COOKIE = "clets_browser"                 # over plain HTTP (the laptop, on localhost)
SECURE_BROWSER_COOKIE = "__Host-clets_browser"   # over HTTPS
GRANT_SECONDS = 120
CSP = ("img-src 'self' data: blob:; media-src 'self' data: blob:; connect-src 'self'; object-src 'none'; "
       "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY")]


@dataclass(frozen=True)
class Grant:
    token_sha: str
    browser: str
    matter_pk: int | None
    expires: float


_lock = threading.Lock()
_browsers: dict[str, str] = {}        # browser (XSRF token, hex) -> session token's SHA-256
_grants: dict[str, Grant] = {}        # media file id -> grant
_resumable: dict[str, tuple[str, int | None]] = {}   # browser cookie's SHA-256 -> (session token, open matter)


def _browser_key(cookie: str | None) -> str | None:
    if not cookie or len(cookie) < 32 or len(cookie) > 128:
        return None
    return hashlib.sha256(cookie.encode()).hexdigest()


def remember(cookie: str | None, token: str) -> str | None:
    """At sign-in: this browser (its HTTP-only cookie) now holds this session, and a reload takes it up
    again. Returns the session it held before, if another (the caller ends it: one user per browser)."""
    key = _browser_key(cookie)
    if not key:
        return None
    with _lock:
        before = _resumable.get(key, (None, None))[0]
        _resumable[key] = (token, None)
    return before if before != token else None


def note_matter(cookie: str | None, token: str | None, matter_pk: int | None) -> None:
    """The matter open in this browser's session, for a reload to return to: only while the browser
    still holds that very session (another tab's run never changes what the browser holds)."""
    key = _browser_key(cookie)
    if not key or not token:
        return
    with _lock:
        if _resumable.get(key, (None, None))[0] == token:
            _resumable[key] = (token, matter_pk)


def resume(cookie: str | None) -> tuple[str | None, int | None]:
    """The session token (and open matter) this browser held, if any; the caller checks the session."""
    key = _browser_key(cookie)
    with _lock:
        return _resumable.get(key, (None, None)) if key else (None, None)


def forget(cookie: str | None) -> str | None:
    """Sign-out: the browser holds no session any more; returns the one it held (the caller ends it)."""
    key = _browser_key(cookie)
    if not key:
        return None
    with _lock:
        return _resumable.pop(key, (None, None))[0]


def browser_of(cookie: str | None) -> str | None:
    """The browser's identity in Streamlit's XSRF cookie (the unmasked token), or None."""
    if not cookie:
        return None
    try:
        token, _ = decode_xsrf_token_string(cookie)
    except (ValueError, TypeError, binascii.Error, IndexError):
        return None
    return token.hex() if token else None


def bind(cookie: str | None, token: str) -> None:
    """This browser (its cookie) belongs to this signed-in session."""
    browser = browser_of(cookie)
    if browser:
        with _lock:
            _browsers[browser] = sessions.token_sha(token)


def unbind(token: str | None) -> None:
    """The session signed out: no browser and no grant of it opens anything any more."""
    if not token:
        return
    sha = sessions.token_sha(token)
    with _lock:
        for b in [b for b, t in _browsers.items() if t == sha]:
            del _browsers[b]
        for b in [b for b, (t, _) in _resumable.items() if t == token]:
            del _resumable[b]
        for f in [f for f, g in _grants.items() if g.token_sha == sha]:
            del _grants[f]


def media_id(data: bytes, mimetype: str, file_name: str | None) -> str:
    """The id under which Streamlit will store these bytes (its own function, so the two agree)."""
    return _calculate_file_id(data, mimetype, file_name)


def grant(data: bytes, mimetype: str, file_name: str | None, token: str, cookie: str | None,
          matter_pk: int | None) -> None:
    """Let this session's browser fetch this file for a short while (an export it was just allowed)."""
    browser = browser_of(cookie)
    if not browser:
        return
    now = time.monotonic()
    with _lock:
        for f in [f for f, g in _grants.items() if g.expires < now]:
            del _grants[f]
        _grants[media_id(data, mimetype, file_name)] = Grant(sessions.token_sha(token), browser, matter_pk,
                                                             now + GRANT_SECONDS)


def _decide(path: str, cookie: str | None, client: str) -> bool:
    file_id = path.rsplit("/", 1)[-1].split(".", 1)[0]
    browser = browser_of(cookie)
    with _lock:
        g = _grants.get(file_id)
        bound = _browsers.get(browser) if browser else None
    if g is not None:
        if browser != g.browser or time.monotonic() > g.expires:
            exports.refuse_download("-", file_id, "another browser, or the grant has expired", client)
            return False
        ok, why, actor = exports.session_holds(g.token_sha, g.matter_pk)
        if not ok:
            exports.refuse_download(actor, file_id, why, client)
        return ok
    if _is_download(file_id):
        exports.refuse_download("-", file_id, "no grant for this file", client)
        return False
    return bound is not None and exports.session_holds(bound, None)[0]


def _is_download(file_id: str) -> bool:
    """Whether Streamlit holds this file as a download; when that cannot be told, it is treated as
    one (it then needs its grant): the guard fails closed."""
    try:
        found = Runtime.instance().media_file_mgr.read_file(file_id)
    except Exception:  # noqa: BLE001 - no runtime, or a storage that cannot say
        return True
    return found is None or found.kind == MediaFileKind.DOWNLOADABLE


def _cookie(headers: list[tuple[bytes, bytes]], name_wanted: str = XSRF_COOKIE) -> str | None:
    for name, value in headers:
        if name == b"cookie":
            try:
                jar = SimpleCookie(value.decode("latin-1"))
            except CookieError:
                return None
            if name_wanted in jar:
                return jar[name_wanted].value
    return None


def _secure(scope) -> bool:
    return scope.get("scheme") == "https" or any(
        k == b"x-forwarded-proto" and v.strip().lower() == b"https" for k, v in scope.get("headers", []))


def browser_cookie_header(scope) -> bytes:
    """A new browser id, as the Set-Cookie header's value: a session cookie (no expiry), HTTP-only,
    SameSite=Strict, for the whole app; over HTTPS (directly or through the firm's proxy) Secure and
    `__Host-` prefixed."""
    name = SECURE_BROWSER_COOKIE if _secure(scope) else BROWSER_COOKIE
    return (f"{name}={secrets.token_urlsafe(32)}; Path=/; HttpOnly; SameSite=Strict"
            + ("; Secure" if _secure(scope) else "")).encode()


def _has_browser_cookie(scope) -> bool:
    headers = scope.get("headers", [])
    return _cookie(headers, SECURE_BROWSER_COOKIE if _secure(scope) else BROWSER_COOKIE) is not None


def _media_prefix() -> str:
    """Where Streamlit serves media: `/media/`, under `server.baseUrlPath` when one is set (not the
    app's own static files, `/static/media/...`, which everyone may load)."""
    try:
        base = (config.get_option("server.baseUrlPath") or "").strip("/")
    except Exception:  # noqa: BLE001 - outside a Streamlit server
        base = ""
    return f"/{base}/media/" if base else "/media/"


class Guard:
    """ASGI middleware: the checks on `/media/` and the security headers (see the module's docstring)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        media = path.startswith(_media_prefix())
        if media:
            client = (scope.get("client") or ("-", 0))[0]
            allowed = await asyncio.to_thread(_decide, path, _cookie(scope.get("headers", [])), client)
            if not allowed:
                await send({"type": "http.response.start", "status": 404,
                            "headers": [(b"content-type", b"text/plain"), (b"cache-control", b"no-store"), *HEADERS]})
                await send({"type": "http.response.body", "body": b"Not found"})
                return None

        new_browser = not media and not _has_browser_cookie(scope)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                extra = HEADERS + ([(b"cache-control", b"no-store")] if media else [])
                html = any(k.lower() == b"content-type" and v.lower().startswith(b"text/html")
                           for k, v in message.get("headers", []))
                if new_browser and html:           # the app's page only: never a static file a cache may keep
                    kept = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                    message = {**message, "headers": kept}
                    extra = [*extra, (b"cache-control", b"no-store"), (b"set-cookie", browser_cookie_header(scope))]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)
        return await self.app(scope, receive, send_with_headers)
