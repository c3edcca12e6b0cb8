"""Who is asking and from where, handed to the firm's services (matters, accounts, access_log,
sessions, exports). A service opens its own transaction, checks the role and the ethical wall on
the server, and writes the access log; the app's pages and the command line only say who acts."""
from __future__ import annotations

from dataclasses import dataclass

from assessment.firm.tables import User


@dataclass(frozen=True)
class Actor:
    """The signed-in user (None when nobody is), the request's source and the page, as the access
    log records them. `cli` marks the server's command line, which runs as the server's owner,
    outside the roles and the walls, and is named in the log by its operating-system account."""
    user: User | None
    source: str = ""
    place: str = ""
    cli: bool = False
