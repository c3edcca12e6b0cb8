"""Where the repository's folders are, and every `CLETS_*` environment variable the package reads.

Each setting is declared once below: its name, the values it takes, its default and one line on
what it does (the README's table of settings lists the same, and tests/test_docs.py keeps the two
in step). A setting is read from the environment each time it is asked for (`DATA_DIR.get()`),
never cached at import: the server, the command line and the tests may each set it. A value of the
wrong form is refused with ENV001 naming the variable and what it takes, never quietly replaced
by the default; `check()` reads them all, and the server's start-up runs it before serving anyone.
"""
from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from assessment.core.errors import ENV001, AssessmentError, Problem

PACKAGE = Path(__file__).resolve().parents[1]     # the `assessment` package
REPO = PACKAGE.parent                             # the folder holding it: knowledge/, templates/, demo/

T = TypeVar("T")

DECLARED: dict[str, Setting] = {}
"""Every setting by its variable's name, in the order declared."""


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One environment variable: `parse` turns its text into the value (ValueError, with the reason,
    when the text is of the wrong form); `default` gives the value when it is unset or empty."""

    name: str
    takes: str                     # the values it takes, as the error message and the README say them
    default: Callable[[], T]
    description: str
    parse: Callable[[str], T]

    def __post_init__(self) -> None:
        if self.name in DECLARED:
            raise ValueError(f"setting {self.name} is declared twice")
        DECLARED[self.name] = self

    def get(self) -> T:
        """The value now; ENV001 naming the variable when its text is of the wrong form."""
        text = os.environ.get(self.name, "")
        if text == "":
            return self.default()
        try:
            return self.parse(text)
        except ValueError as exc:
            raise AssessmentError([Problem(ENV001, f"{text!r} is not {self.takes} ({exc})", file="environment",
                                           field=self.name, hint="correct it, or unset it for the default")]) from None


def check() -> None:
    """Read every setting; one AssessmentError listing each of the wrong form (ENV001)."""
    problems: list[Problem] = []
    for setting in DECLARED.values():
        try:
            setting.get()
        except AssessmentError as exc:
            problems += exc.problems
    if problems:
        raise AssessmentError(problems)


# ---- how values are read ---------------------------------------------------------------------------
def _text(text: str) -> str:
    return text


def _path(text: str) -> Path:
    return Path(text)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError("it must be greater than 0")
    return value


def _whole(text: str) -> int:
    """A positive number, rounded up to a whole one (20.5 seconds allow 21)."""
    return math.ceil(_positive(text))


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError("not a whole number") from None
    if value < 1:
        raise ValueError("it must be 1 or more")
    return value


def _zone(text: str) -> str:
    """An IANA time-zone name; the form is checked because it is written into DuckDB's SQL."""
    if not re.fullmatch(r"[A-Za-z_]+(/[A-Za-z_+-]+)*", text):
        raise ValueError("a time-zone name is letters, '_' and '/', such as America/Los_Angeles")
    return text


def _addresses(text: str) -> frozenset[str]:
    return frozenset(a.strip() for a in text.split(",") if a.strip())


def _syslog(text: str) -> str | tuple[str, int]:
    """A socket path (/dev/log), or udp:HOST:PORT as (host, port)."""
    if not text.startswith("udp:"):
        return text
    host, _, port = text[len("udp:"):].rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("write udp:HOST:PORT with a port from 1 to 65535")
    return host, int(port)


def _none() -> None:
    return None


# ---- the settings ----------------------------------------------------------------------------------
DATA_DIR: Setting[Path] = Setting(
    "CLETS_DATA_DIR", "a folder", lambda: Path.home() / ".clets-defense",
    "The data folder: the SQLite database and the open matters' working copies; default ~/.clets-defense.",
    _path)
DATABASE_URL: Setting[str] = Setting(
    "CLETS_DATABASE_URL", "an SQLAlchemy database URL", lambda: f"sqlite:///{DATA_DIR.get() / 'clets.db'}",
    "The database the app uses (postgresql+psycopg://... on a firm server); default clets.db in the data folder.",
    _text)
DATABASE_OWNER_URL: Setting[str | None] = Setting(
    "CLETS_DATABASE_OWNER_URL", "an SQLAlchemy database URL", _none,
    "PostgreSQL: the tables' owner, for `clets-assess db upgrade` only; never in the app's environment.",
    _text)
KEY_FILE: Setting[Path | None] = Setting(
    "CLETS_KEY_FILE", "a file path", _none,
    "The key file; default ~/.config/clets-defense/keys-<database>.json, one per database.",
    _path)
LOG_HEADS: Setting[Path | None] = Setting(
    "CLETS_LOG_HEADS", "a file path", _none,
    "Where the access log's signed chain heads are appended; default beside the key file.",
    _path)
LOG_HEAD_EVERY: Setting[int] = Setting(
    "CLETS_LOG_HEAD_EVERY", "a whole number of rows, 1 or more", lambda: 10,
    "Log rows between chain heads synced to disk (and sent to syslog); default 10.",
    _count)
LOG_SYSLOG: Setting[str | tuple[str, int] | None] = Setting(
    "CLETS_LOG_SYSLOG", "a socket path or udp:HOST:PORT", _none,
    "Where each synced chain head is also sent by syslog (/dev/log, or the firm's log server); default nowhere.",
    _syslog)
IDLE_MINUTES: Setting[float] = Setting(
    "CLETS_IDLE_MINUTES", "a number of minutes greater than 0", lambda: 30.0,
    "Minutes without a request before a session locks; default 30, which it may shorten, never lengthen.",
    _positive)
TRUSTED_PROXIES: Setting[frozenset[str]] = Setting(
    "CLETS_TRUSTED_PROXIES", "comma-separated addresses", frozenset,
    "The firm's reverse proxies, whose X-Forwarded-For is believed for the access log; default none.",
    _addresses)
KB_DIR: Setting[Path] = Setting(
    "CLETS_KB_DIR", "a folder", lambda: REPO / "knowledge",
    "The knowledge base the app and the command line read and edit; default knowledge/ of the repository.",
    _path)
KB_HISTORY: Setting[Path | None] = Setting(
    "CLETS_KB_HISTORY", "a folder", _none,
    "Where every saved version of a knowledge-base file is kept; default kb-history/ beside the knowledge base.",
    _path)
LOCAL_TZ: Setting[str] = Setting(
    "CLETS_LOCAL_TZ", "an IANA time-zone name", lambda: "America/Los_Angeles",
    "The agency's time zone: timestamps with an offset are compared in it; default America/Los_Angeles.",
    _zone)
MEMO_TEMPLATE: Setting[Path | None] = Setting(
    "CLETS_MEMO_TEMPLATE", "a .docx file path", _none,
    "The memo template `clets-assess memo` uses without --template, instead of the firm's active one; default unset.",
    _path)
RENDER_CPU_SECONDS: Setting[int] = Setting(
    "CLETS_RENDER_CPU_SECONDS", "a number of seconds greater than 0", lambda: 20,
    "Processor seconds one memo render may use (the wall-clock limit is twice this plus 10); default 20.",
    _whole)
RENDER_MEMORY_MB: Setting[int] = Setting(
    "CLETS_RENDER_MEMORY_MB", "a number of megabytes greater than 0", lambda: 512,
    "Memory one memo render may take on top of its process's start-up footprint; default 512.",
    _whole)
