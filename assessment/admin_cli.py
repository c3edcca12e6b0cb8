"""`clets-assess user|audit|backup|restore|db`: the firm administrator's commands."""
from __future__ import annotations

import datetime as dt
import getpass
import os
from pathlib import Path
from typing import Optional

import typer

from . import access_log, accounts, db
from .permissions import ROLES

user_app = typer.Typer(no_args_is_help=True, help="Accounts: add (the first admin too), list, unlock, role.")
audit_app = typer.Typer(no_args_is_help=True, help="The access log: verify its hash chain, export it.")
db_app = typer.Typer(no_args_is_help=True, help="The database: upgrade to the newest schema, check it.")


def _password(option: Optional[str]) -> str:
    """--password-env NAME, or a prompt (never a password on the command line: it lands in shell history)."""
    if option:
        value = os.environ.get(option)
        if not value:
            typer.echo(f"error: the environment variable {option} is not set", err=True)
            raise typer.Exit(2)
        return value
    first = getpass.getpass("Password (8+ characters; a phrase of several words is best): ")
    if getpass.getpass("Again: ") != first:
        typer.echo("error: the two passwords differ", err=True)
        raise typer.Exit(2)
    return first


@user_app.command("add")
def user_add(username: str, role: str = typer.Option(..., help=" | ".join(ROLES)),
             name: str = typer.Option("", help="Display name"),
             require_totp: bool = typer.Option(False, "--require-totp", help="Must enrol a TOTP second factor at first sign-in"),
             password_env: Optional[str] = typer.Option(None, help="Read the password from this environment variable")) -> None:
    """Add an account (run on the server; this is how the first administrator is made)."""
    password = _password(password_env)
    try:
        with db.session() as s:
            u = accounts.add(s, username, password, role, by=None, display_name=name, totp_required=require_totp)
            typer.echo(f"added {u.username} ({u.role}), id {u.id}")
    except accounts.AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1)


@user_app.command("list")
def user_list() -> None:
    with db.session() as s:
        for u in accounts.users(s):
            state = "locked" if u.locked_at else "disabled" if u.disabled else "active"
            mfa = "totp" if u.totp_secret else ("totp required" if u.totp_required else "-")
            typer.echo(f"{u.id}\t{u.username}\t{u.role}\t{state}\t{mfa}")


def _target(s, username: str):
    u = accounts.find(s, username)
    if u is None:
        typer.echo(f"error: no user {username}", err=True)
        raise typer.Exit(1)
    return u


@user_app.command("unlock")
def user_unlock(username: str) -> None:
    """Unlock an account locked by failed sign-ins (run on the server)."""
    with db.session() as s:
        accounts.unlock(s, None, _target(s, username), source="cli")
    typer.echo(f"unlocked {username}")


@user_app.command("role")
def user_role(username: str, role: str) -> None:
    """Change a user's role (their open sessions end)."""
    try:
        with db.session() as s:
            u = _target(s, username)
            old = u.role
            accounts.set_role(s, None, u, role, source="cli")
    except accounts.AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    typer.echo(f"{username}: {old} -> {role}")


@audit_app.command("verify")
def audit_verify(head: Optional[str] = typer.Option(None, help="SEQ:HASH printed by an earlier verify: also "
                                                    "detects rows removed from the end since then")) -> None:
    """Check the access log's hash chain; exit 1 at any altered, inserted or removed row."""
    want = None
    if head:
        seq, _, h = head.partition(":")
        want = (int(seq), h)
    with db.session() as s:
        breaks, n, last = access_log.verify(s, want)
        access_log.record(s, actor="cli", event="log-verify", object_type="access-log",
                          outcome="failure" if breaks else "success", reason=f"{n} rows, {len(breaks)} breaks",
                          source="cli")
    for b in breaks:
        typer.echo(f"TAMPERED: {b}", err=True)
    if breaks:
        raise typer.Exit(1)
    typer.echo(f"ok: {n} rows, chain intact; head {n}:{last}")


@audit_app.command("export")
def audit_export(output: Path = typer.Option(..., "-o"), since: Optional[str] = None, until: Optional[str] = None,
                 actor: str = "", event: str = "") -> None:
    """Write the log (or the rows matching the filters) as CSV."""
    from .yamlio import write_atomic
    with db.session() as s:
        rows = access_log.query(s, actor=actor, event=event, limit=10**9,
                                since=dt.date.fromisoformat(since) if since else None,
                                until=dt.date.fromisoformat(until) if until else None)
        write_atomic(output, access_log.to_csv(rows))
        access_log.record(s, actor="cli", event="log-export", object_type="access-log",
                          reason=f"{len(rows)} rows", source="cli")
    typer.echo(f"wrote {len(rows)} rows to {output}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database to the newest schema (the app also does this when it starts)."""
    db.engine()
    typer.echo(f"ok: {db.url().split('@')[-1]} is at the newest schema")


@db_app.command("check")
def db_check() -> None:
    """Fail when the tables and the migrations disagree (alembic check)."""
    db.check(db.engine())
    typer.echo("ok: no schema changes without a migration")


def backup_cmd(output: Path = typer.Argument(..., help="The .zip to write")) -> None:
    """Back up the database and the data folder into one ZIP (restore it with `clets-assess restore`)."""
    from . import backup
    m = backup.write(output)
    with db.session() as s:
        access_log.record(s, actor="cli", event="backup", object_type="backup", object_id=m["created"], source="cli")
    typer.echo(f"wrote {output}: " + ", ".join(f"{k} {v}" for k, v in m["tables"].items() if v)
               + f"; {len(m['files'])} files")


def restore_cmd(source: Path = typer.Argument(..., help="A backup .zip")) -> None:
    """Restore a backup into an empty database and data folder, checking every hash first."""
    from . import backup
    try:
        m = backup.restore(source)
    except (backup.BackupError, OSError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1)
    for b in m["restored_breaks"]:
        typer.echo(f"TAMPERED: {b}", err=True)
    typer.echo(f"restored {source}: " + ", ".join(f"{k} {v}" for k, v in m["tables"].items() if v))
    if m["restored_breaks"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(audit_app, name="audit")
    app.add_typer(db_app, name="db")
    app.command("backup")(backup_cmd)
    app.command("restore")(restore_cmd)
