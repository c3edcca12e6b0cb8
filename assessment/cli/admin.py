"""`clets-assess user|audit|backup|restore|db`: the firm administrator's commands."""
from __future__ import annotations

import datetime as dt
import getpass
import os
from pathlib import Path

import typer

from assessment.core.errors import BK001, Problem
from assessment.core.yamlio import write_atomic
from assessment.firm import access_log, accounts, backup, blobs, db, keys
from assessment.firm.context import cli_actor, cli_source, command_line
from assessment.firm.permissions import ROLES
from assessment.firm.tables import User

user_app = typer.Typer(no_args_is_help=True, help="Accounts: add (the first admin too), list, unlock, role.")
audit_app = typer.Typer(no_args_is_help=True, help="The access log: verify its hash chain, export it.")
db_app = typer.Typer(no_args_is_help=True, help="The database: upgrade to the newest schema, check it.")


def _secret(env: str | None, prompt: str, what: str, confirm: bool = True) -> str:
    """From the environment variable `env`, or a prompt (never on the command line: it would land in
    shell history)."""
    if env:
        value = os.environ.get(env)
        if not value:
            typer.echo(f"error: the environment variable {env} is not set", err=True)
            raise typer.Exit(2)
        return value
    first = getpass.getpass(prompt)
    if confirm and getpass.getpass("Again: ") != first:
        typer.echo(f"error: the two {what}s differ", err=True)
        raise typer.Exit(2)
    return first


def _password(option: str | None) -> str:
    return _secret(option, "Password (8+ characters; a phrase of several words is best): ", "password")


@user_app.command("add")
def user_add(username: str, role: str = typer.Option(..., help=" | ".join(ROLES)),
             name: str = typer.Option("", help="Display name"),
             require_totp: bool = typer.Option(False, "--require-totp", help="Must enrol a TOTP second factor at first sign-in"),
             password_env: str | None = typer.Option(None, help="Read the password from this environment variable")) -> None:
    """Add an account (run on the server; this is how the first administrator is made)."""
    password = _password(password_env)
    try:
        u = accounts.add_user(command_line(), username, password, role, display_name=name,
                              totp_required=require_totp)
    except accounts.AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"added {u.username} ({u.role}), id {u.id}")


@user_app.command("list")
def user_list() -> None:
    for u in accounts.list_users(command_line()):
        state = "locked" if u.locked_at else "disabled" if u.disabled else "active"
        mfa = "totp" if u.totp_secret else ("totp required" if u.totp_required else "-")
        typer.echo(f"{u.id}\t{u.username}\t{u.role}\t{state}\t{mfa}")


def _target(username: str) -> User:
    """The account named `username` (exit 1 when there is none)."""
    wanted = username.strip().lower()
    u = next((u for u in accounts.list_users(command_line()) if u.username == wanted), None)
    if u is None:
        typer.echo(f"error: no user {username}", err=True)
        raise typer.Exit(1)
    return u


@user_app.command("unlock")
def user_unlock(username: str) -> None:
    """Unlock an account locked by failed sign-ins (run on the server)."""
    accounts.update_user(command_line(), _target(username).id, accounts.unlock)
    typer.echo(f"unlocked {username}")


@user_app.command("role")
def user_role(username: str, role: str) -> None:
    """Change a user's role (their open sessions end)."""
    u = _target(username)
    old = u.role
    try:
        accounts.update_user(command_line(), u.id, accounts.set_role, role)
    except accounts.AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{username}: {old} -> {role}")


@audit_app.command("verify")
def audit_verify(head: str | None = typer.Option(None, help="SEQ:HASH printed by an earlier verify: also "
                                                    "detects rows removed from the end since then"),
                 heads: bool = typer.Option(True, "--heads/--no-heads", help="Check against the signed heads "
                                            "exported outside the database (the default)")) -> None:
    """Check the access log: its protection triggers, every row's keyed hash, and the heads exported
    outside the database; exit 1 at any altered, inserted, removed or re-chained row."""
    want = None
    if head:
        seq, _, h = head.partition(":")
        want = (int(seq), h)
    breaks, n, last = access_log.audit(command_line(), want, heads=heads)
    for b in breaks:
        typer.echo(f"TAMPERED: {b}", err=True)
    if breaks:
        raise typer.Exit(1)
    if n:
        access_log.export_head(n, last, force=True)
    typer.echo(f"ok: {n} rows, chain intact (keyed; {len(access_log.read_heads())} exported heads checked in "
               f"{keys.heads_path()}); head {n}:{last}")


@audit_app.command("export")
def audit_export(output: Path = typer.Option(..., "-o"), since: str | None = None, until: str | None = None,
                 actor: str = "", event: str = "") -> None:
    """Write the log (or the rows matching the filters) as CSV."""
    text, n = access_log.export_csv(command_line(), actor=actor, event=event,
                                    since=dt.date.fromisoformat(since) if since else None,
                                    until=dt.date.fromisoformat(until) if until else None)
    write_atomic(output, text)
    typer.echo(f"wrote {n} rows to {output}")


@db_app.command("upgrade")
def db_upgrade(restore_triggers: bool = typer.Option(False, "--restore-triggers", help="Put back the access "
                                                   "log's protection triggers if any are missing (run as the owner; "
                                                   "logged)")) -> None:
    """Bring the database to the newest schema (the app also does this when it starts)."""
    db.engine()
    typer.echo(f"ok: {db.url().split('@')[-1]} is at the newest schema")
    if restore_triggers:
        put_back = db.restore_triggers()
        with db.session() as s:
            access_log.record(s, actor=cli_actor(), event="log-triggers", object_type="access-log",
                              outcome="success", reason="restored: " + (", ".join(put_back) or "none were missing"),
                              source=cli_source())
        typer.echo("restored the triggers: " + (", ".join(put_back) or "none were missing"))


@db_app.command("check")
def db_check() -> None:
    """Fail when the tables and the migrations disagree (alembic check)."""
    db.check(db.engine())
    typer.echo("ok: no schema changes without a migration")


def _passphrase(env: str | None, confirm: bool) -> str:
    return _secret(env, "Backup passphrase (12+ characters; keep it apart from the backup): ", "passphrase", confirm)


PASSPHRASE_ENV = typer.Option(None, help="Read the passphrase from this environment variable")


def backup_cmd(output: Path = typer.Argument(..., help="The file to write"),
               passphrase_env: str | None = PASSPHRASE_ENV) -> None:
    """Back up the database and the data folder into one file sealed with a passphrase (AES-256-GCM,
    argon2id); restore it with `clets-assess restore`."""
    passphrase = _passphrase(passphrase_env, confirm=True)
    if len(passphrase) < 12:
        typer.echo("error: the passphrase needs at least 12 characters", err=True)
        raise typer.Exit(2)
    m = backup.write(output, passphrase)
    with db.session() as s:
        access_log.record(s, actor=cli_actor(), event="backup", object_type="backup", object_id=m["created"],
                          source=cli_source())
    typer.echo(f"wrote {output} (sealed with the passphrase): " + ", ".join(f"{k} {v}" for k, v in m["tables"].items()
                                                                             if v) + f"; {len(m['files'])} files")


def restore_cmd(source: Path = typer.Argument(..., help="A backup file"),
                passphrase_env: str | None = PASSPHRASE_ENV) -> None:
    """Restore a backup into an empty database and data folder; everything is checked before anything
    is written, and nothing is written if any check fails."""
    try:
        m = backup.restore(source, _passphrase(passphrase_env, confirm=False), actor=cli_actor(), source=cli_source())
    except (backup.BackupError, OSError, ValueError) as exc:
        typer.echo(f"error: {Problem(BK001, str(exc), file=str(source))}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"restored {source}: " + ", ".join(f"{k} {v}" for k, v in m["tables"].items() if v))


keys_app = typer.Typer(no_args_is_help=True, help="The firm's key file: status, rotation of the data key.")


@keys_app.command("status")
def keys_status() -> None:
    """Where the key file is, which data key is active, how many stored files each key holds, and
    the log keys."""
    k = keys.load()
    with db.session() as s:
        count = blobs.by_key(s)
    typer.echo(f"key file {k.path} (mode 600) for database {k.database[:8]}...; active data key {k.active}; "
               f"keys held: {', '.join(sorted(k.data_keys))}" + (f"; retired: {', '.join(k.retired)}" if k.retired else ""))
    typer.echo("stored files by key: " + (", ".join(f"{kid} {n}" for kid, n in sorted(count.items())) or "none"))
    typer.echo("access log chained under " + "; ".join(f"log key {i + 1} from row {start}"
                                                      for i, (start, _) in enumerate(k.log_keys))
               + f"; heads exported to {keys.heads_path()}")


@keys_app.command("rotate")
def keys_rotate(log: bool = typer.Option(False, "--log", help="Start a new access-log key at the next row instead "
                                         "(the old ones stay, to verify the rows they chain)")) -> None:
    """A new data key: every stored file is re-encrypted under it, then the old keys are dropped
    from the key file. With --log, a new key chains the access log from the next row. Back up the
    key file afterwards."""
    with keys.changing():                # one key change at a time
        old = keys.load()
        if log:
            _rotate_log_key(old)
            return
        new = keys.with_new_data_key(old)
        keys.save(new)                   # both keys held until every file is re-encrypted
        try:
            with db.session() as s:
                n = blobs.reseal(s, new)
                access_log.record(s, actor=cli_actor(), event="key-rotate", object_type="keys", object_id=new.active,
                                  reason=f"{n} stored files re-encrypted; retired {', '.join(sorted(old.data_keys))}",
                                  source=cli_source())
        except BaseException:
            keys.save(old)
            raise
        with db.session() as s:          # a file the app stored under the old key while this ran
            n += blobs.reseal(s, new)
            left = blobs.not_under(s, new.active)
        if left:
            typer.echo(f"error: {left} stored files are still under an old key; the old keys are kept. Run the "
                       "command again.", err=True)
            raise typer.Exit(1)
        keys.save(keys.without(new, [k for k in new.data_keys if k != new.active]))
    typer.echo(f"rotated: data key {new.active} is active, {n} stored files re-encrypted; old keys dropped. "
               f"Copy {new.path} to the firm's key backup now.")


def _rotate_log_key(old: keys.Keys) -> None:
    new, start = access_log.new_key(old, command_line())
    typer.echo(f"rotated: the access log is chained under log key {len(new.log_keys)} from row {start}. "
               f"Copy {new.path} to the firm's key backup now.")


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(audit_app, name="audit")
    app.add_typer(db_app, name="db")
    app.add_typer(keys_app, name="keys")
    app.command("backup")(backup_cmd)
    app.command("restore")(restore_cmd)
