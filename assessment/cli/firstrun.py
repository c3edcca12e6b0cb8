"""The first start on a fresh machine: an administrator account and the demo matters, so
`./dev app` opens on a working example. Nothing happens once any account exists."""
from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from assessment.core import casefile
from assessment.core.yamlio import write_atomic
from assessment.evidence import synth
from assessment.firm import accounts, db, matters
from assessment.firm.datadir import data_dir
from assessment.law import kb as kbmod

DEMO_ORDER = ("front-counter-login", "off-duty-lookups")     # the last one is the newest: opened first


def demo_cases() -> list[str]:
    names = sorted(p.parent.name for p in synth.demo_dir().glob("*/case.yaml"))
    return sorted(names, key=lambda n: DEMO_ORDER.index(n) if n in DEMO_ORDER else -1)


def seed_demo(s: Session, user, kb=None) -> list[int]:
    """Save each demo case (with its evidence files) as a matter `user` is listed on."""
    kb = kb or kbmod.load()
    pks = []
    for name in demo_cases():
        folder = synth.demo_dir() / name
        case = casefile.load(folder / "case.yaml", kb)
        files = {rel: (folder / rel).read_bytes()
                 for rel in case.evidence.audit_logs + case.evidence.shifts + case.evidence.incidents}
        pks.append(matters.create(matters.Ctx(s, user, "setup", "first run"), case, files))
    return pks


def ensure(database_url: str | None = None, password: str | None = None) -> tuple[str, str] | None:
    """On a database without accounts: create `admin` (with `password`, or a random passphrase)
    and the demo matters; returns the user name and password to show once, else None."""
    with db.session(database_url) as s:
        if accounts.count(s):
            return None
        password = password or "-".join(secrets.token_urlsafe(6) for _ in range(4))
        admin = accounts.add(s, "admin", password, "admin", by=None, display_name="Administrator")
        seed_demo(s, admin)
    return "admin", password


def announce(creds: tuple[str, str], url: str, terminal: bool = True) -> str:
    """What to print about the first administrator. On a terminal, the password itself, once; when
    the output goes to a service log or a file instead, never the password: it is written to a file
    only the server's user can read (0600) in the data folder, to be read once and deleted."""
    user, password = creds
    if terminal:
        shown = f"    password:  {password}\nThis password is shown only now"
    else:
        path = data_dir() / "first-admin-password.txt"
        write_atomic(path, f"user name: {user}\npassword: {password}\n(delete this file once you have signed in "
                           "and changed the password)\n")
        shown = (f"    password:  not shown here (this output is not a terminal); it is in {path}, readable only by\n"
                 f"               the server's user: read it once, then delete the file")
    return (f"\nFirst start: created the administrator account\n    user name: {user}\n{shown}. "
            f"Sign in at {url},\nchange the password under Account, and add the firm's accounts under Users. "
            f"(Data folder: {data_dir()})\n")
