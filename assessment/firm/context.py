"""Who is asking and from where, handed to the firm's services (matters, accounts, access_log,
sessions, exports). A service opens its own transaction, checks the role and the ethical wall on
the server, and writes the access log; the app's pages and the command line only say who acts."""
from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass, field

from assessment.firm.tables import User


@dataclass(frozen=True)
class Actor:
    """The signed-in user (None when nobody is), the request's source and the page, as the access
    log records them. `cli` marks the server's command line, which runs as the server's owner,
    outside the roles and the walls, and is named in the log by its operating-system account. It is
    not a constructor argument (`Actor(user, cli=True)` fails, and `dataclasses.replace` resets it):
    only `command_line()` sets it, so no page can build the command line's actor by accident."""
    user: User | None
    source: str = ""
    place: str = ""
    cli: bool = field(default=False, init=False)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def cli_actor() -> str:
    """How the log names the command line: it runs as the server's owner, outside the ethical
    walls, so by the operating-system account that ran it ("cli:<os user>")."""
    return f"cli:{_os_user()}"


def cli_source() -> str:
    """Where the command line ran, as the log's source column records it."""
    return f"cli, os user {_os_user()} (uid {os.getuid()}), host {socket.gethostname()}, pid {os.getpid()}"


def command_line() -> Actor:
    """The server's command line as an actor: the only way to build one with `cli` set. Called by
    assessment/cli only (tests/test_layers.py checks that no page does)."""
    who = Actor(None, cli_source())
    object.__setattr__(who, "cli", True)      # frozen, and not an __init__ argument: set here only
    return who
