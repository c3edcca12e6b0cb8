"""Files made for a signed-in session: made at the moment the download is clicked, for a session
still signed in (`make_for_session`), and handed out by the web server only while that session,
and its user's place on the matter, still hold (`session_holds`, the web server's guard; a refused
download is logged by `refuse_download`)."""
from __future__ import annotations

from collections.abc import Callable

from assessment.firm import access_log, db, sessions
from assessment.firm.matters import Ctx, is_member


class ExportRefused(PermissionError):
    """A download asked for after the session ended or the account was disabled or locked."""


def make_for_session(token: str | None, make: Callable[[Ctx], bytes | str], *, source: str, place: str) -> bytes:
    """Make an export for the session holding `token`, if it is still signed in: the session and its
    user are checked in the database at this moment (the button may have sat on screen since the
    session expired or the account was disabled), then `make(ctx)` runs with the user as stored
    now, in the same transaction; matters.py checks the role and the wall again. Raises
    ExportRefused (logged) otherwise."""
    refused = ""
    with db.session() as s:
        who, why = sessions.check(s, token, source=source, place=place)
        if who is None:
            refused = why or "signed out"
            access_log.record(s, actor="-", event="export", outcome="denied", object_type="export",
                              reason=f"the session is over: {refused}"[:200], place=place, source=source)
        else:
            data = make(Ctx(s, who, source, place))
    if refused:
        raise ExportRefused(refused)
    return data.encode("utf-8") if isinstance(data, str) else data


def session_holds(token_sha: str, matter_pk: int | None) -> tuple[bool, str, str]:
    """(allowed, why not, actor): the session stored under `token_sha` is still signed in and its
    user still listed on matter `matter_pk` (when given). Reads only (a download is not a reason to
    extend the session)."""
    with db.session() as s:
        user, ending = sessions.holder(s, token_sha)
        actor = access_log.actor_id(user)
        if ending or user is None:      # no user: the ending is "signed out"
            return False, f"session {ending}", actor
        if matter_pk is not None and not is_member(s, user, matter_pk):
            return False, "not listed on the matter", actor
    return True, "", actor


def refuse_download(actor: str, file_id: str, why: str, client: str) -> None:
    """Log a download the web server refused."""
    with db.session() as s:
        access_log.record(s, actor=actor, event="export", outcome="denied", object_type="media",
                          object_id=file_id[:16], reason=f"download refused: {why}", place="web server",
                          source=f"http, {client}")
