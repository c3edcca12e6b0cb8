"""The database: one engine per process, SQLite by default, PostgreSQL by URL.

`$CLETS_DATABASE_URL` names the database (`postgresql+psycopg://user@host/db` on a firm
server); without it the app keeps `clets.db` in the data folder. SQLite runs in WAL mode with a
busy timeout and foreign keys on, and every transaction begins IMMEDIATE, so two writers queue
instead of failing half-way. The schema is brought to the newest migration on first use.

On PostgreSQL the app does not own its tables: `$CLETS_DATABASE_OWNER_URL` names the owner's
connection, used only by `clets-assess db upgrade` to migrate and to grant the app's role what
it needs (SELECT and INSERT on the access log, nothing more there); the app's role checks that
the schema is the newest and never migrates. `startup_checks` refuses to run the app with the
owner's connection in its environment, as a role that may change or remove access-log rows, on a
damaged SQLite file, or with the log's protection triggers missing or altered."""
from __future__ import annotations

import contextlib
import functools
import importlib
import re
import threading
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from assessment.core import settings
from assessment.core.errors import DB001, DB002, DB003, DB004, LOG001, AssessmentError, Problem
from assessment.firm import blobs, crypto, keys
from assessment.firm.datadir import data_dir, ensure_private
from assessment.firm.tables import AccessLog, Blob, Setting

BUSY_TIMEOUT_MS = 30_000
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def url() -> str:
    return settings.DATABASE_URL.get()


def owner_url() -> str | None:
    """The PostgreSQL owner's connection for migrations (`$CLETS_DATABASE_OWNER_URL`), if set."""
    return settings.DATABASE_OWNER_URL.get()


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None          # SQLAlchemy's "begin" event below issues BEGIN
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA secure_delete=ON")     # deleted or overwritten content is zeroed, not left in free pages
        cur.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _create(database_url: str) -> Engine:
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[-1]
        if path and path != ":memory:":
            folder = Path(path).parent
            ensure_private(folder) if folder.resolve() == data_dir().resolve() else folder.mkdir(parents=True,
                                                                                                  exist_ok=True)
        eng = create_engine(database_url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        _sqlite_setup(eng)
        return eng
    return create_engine(database_url, pool_pre_ping=True)


def engine(database_url: str | None = None, *, migrate: bool = True) -> Engine:
    """The process's engine for `database_url` (default `url()`), migrated to the newest schema
    (as the owner, where `$CLETS_DATABASE_OWNER_URL` is set), with the firm's key file found or,
    for a database holding nothing under a key yet, made (keys.py)."""
    database_url = database_url or url()
    with _lock:
        eng = _engines.get(database_url)
        if eng is None:
            eng = _create(database_url)
            if migrate:
                owner = owner_url() if database_url == url() else None
                if eng.dialect.name != "postgresql":
                    upgrade(eng)
                elif owner:               # `clets-assess db upgrade` on a firm server, as the owner
                    own = create_engine(owner)
                    try:
                        upgrade(own)
                        grant_app_role(own, app_role(eng))
                    finally:
                        own.dispose()
                else:                     # the app's own role: the schema must be there already
                    behind(eng)
                _keys_for(eng)
            _engines[database_url] = eng
        return eng


def behind(eng: Engine) -> None:
    """Raises (DB003) when the database's schema is not the newest; PostgreSQL is migrated only by
    its owner (`clets-assess db upgrade` with CLETS_DATABASE_OWNER_URL), never by the app's role."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    head = ScriptDirectory.from_config(alembic_config(eng)).get_current_head()
    with eng.connect() as c:
        current = MigrationContext.configure(c).get_current_revision()
    if current != head:
        raise AssessmentError([Problem(DB003, f"the database's schema is at {current or 'nothing'}, this version needs "
                                       f"{head}", hint="run `clets-assess db upgrade` on the server with "
                                       "CLETS_DATABASE_OWNER_URL set to the owner's connection, then start the app")])


def _keys_for(eng: Engine) -> None:
    """Find the key file, or make it for a database holding nothing sealed or chained under a key;
    then encrypt any file stored before the app encrypted them."""
    with Session(eng) as s, s.begin():
        database = s.get_one(Setting, "database_id").value     # both written by migration 0002
        if not keys.exists():
            keyed_from = int(s.get_one(Setting, "log_keyed_from").value)
            keyed_rows = s.execute(select(func.count()).select_from(AccessLog)
                                   .where(AccessLog.seq >= keyed_from)).scalar_one()
            sealed = s.execute(select(func.count()).select_from(Blob).where(
                func.substr(Blob.content, 1, len(crypto.MAGIC)) == crypto.MAGIC)).scalar_one()
            if keyed_rows or sealed:
                keys.load()             # raises KEY001: the file is missing, and the data needs it
            keys.create(database, keyed_from)
        blobs.reseal(s, keys.for_database(database), plain_only=True)     # files from before encryption


def app_role(eng: Engine) -> str:
    with eng.connect() as c:
        return c.execute(text("SELECT current_user")).scalar_one()


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def grant_app_role(owner: Engine, role: str) -> None:
    """What the app's PostgreSQL role may do: read and write its tables, but only read and append
    to the access log, and only read the schema version."""
    r = _ident(role)
    with owner.begin() as c:
        if c.execute(text("SELECT current_user")).scalar_one() == role:
            return                      # one role for both: startup_checks says what is wrong with that
        for stmt in (f"GRANT USAGE ON SCHEMA public TO {r}",
                     f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {r}",
                     f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON access_log FROM {r}",
                     f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {r}",
                     f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {r}"):
            c.execute(text(stmt))


_TRIGGER = re.compile(r"create trigger (\w+) (before|after) (.+?) on (?:public\.)?(\w+) for each (row|statement) "
                      r"execute function (\w+)\(\)")


def _squash(sql: str) -> str:
    return " ".join(sql.replace("(", " ( ").replace(")", " ) ").split()).lower()


@functools.cache
def expected_triggers(dialect: str) -> tuple[dict[str, str], dict[str, str]]:
    """What migrations 0001 and 0002 create, read from the migrations themselves: (trigger name ->
    its definition, function name -> its body), each squashed for comparison."""
    statements: list[str] = []
    fake = SimpleNamespace(get_bind=lambda: SimpleNamespace(dialect=SimpleNamespace(name=dialect)),
                           execute=lambda sql: statements.append(str(sql)))
    for module, make in (("0001_initial_schema", "append_only"), ("0002_security", "extend_only")):
        m = importlib.import_module(f"assessment.firm.migrations.versions.{module}")
        namespace = vars(m)         # the module's globals: its functions call `op` from there
        real, namespace["op"] = namespace["op"], fake
        try:
            getattr(m, make)()
        finally:
            namespace["op"] = real
    triggers, functions = {}, {}
    for sql in statements:
        if found := re.match(r"\s*CREATE TRIGGER (\w+)", sql, re.I):
            triggers[found.group(1)] = _trigger_shape(sql) if dialect != "sqlite" else _squash(sql)
        elif found := re.match(r"\s*CREATE FUNCTION (\w+)\(\).*?\$\$(.*)\$\$", sql, re.I | re.S):
            functions[found.group(1)] = _squash(found.group(2))
    return triggers, functions


def _trigger_shape(sql: str) -> str:
    """A PostgreSQL trigger's definition in one form whatever wrote it (events in any order, schema or not)."""
    found = _TRIGGER.match(_squash(sql).replace(" ( ) ", "() ").replace(" ( )", "()"))
    if not found:
        return _squash(sql)
    name, when, events, table, level, function = found.groups()
    return f"{name} {when} {' or '.join(sorted(events.split(' or ')))} {table} {level} {function}"


def missing_triggers(s: Session) -> list[str]:
    """The access log's protection triggers that are missing, altered (a trigger of the same name
    doing something else, or its function's body rewritten) or, on PostgreSQL, disabled."""
    dialect = s.get_bind().dialect.name
    want, bodies = expected_triggers(dialect)
    if dialect == "sqlite":
        have = {name: _squash(sql or "") for name, sql in s.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'access_log'"))}
        return sorted(name for name, definition in want.items() if have.get(name) != definition)
    rows = s.execute(text("SELECT t.tgname, pg_get_triggerdef(t.oid), p.proname, p.prosrc FROM pg_trigger t "
                          "JOIN pg_proc p ON p.oid = t.tgfoid WHERE t.tgrelid = 'access_log'::regclass "
                          "AND NOT t.tgisinternal AND t.tgenabled <> 'D'")).all()
    live = {name: (_trigger_shape(definition), proname, _squash(body)) for name, definition, proname, body in rows}
    return sorted(name for name, shape in want.items()
                  if name not in live or live[name][0] != shape or bodies.get(live[name][1]) != live[name][2])


def restore_triggers() -> list[str]:
    """Put back the access log's missing protection triggers (as the owner, where one is set);
    returns their names. The definitions are those of migrations 0001 and 0002."""
    from alembic.migration import MigrationContext
    from alembic.operations import Operations
    owner = owner_url()
    eng = create_engine(owner) if owner else engine()
    first = importlib.import_module("assessment.firm.migrations.versions.0001_initial_schema")
    second = importlib.import_module("assessment.firm.migrations.versions.0002_security")
    try:
        with eng.begin() as conn, Operations.context(MigrationContext.configure(conn)):
            with Session(bind=conn) as s:
                gone = missing_triggers(s)
            if not gone:
                return []
            for name in expected_triggers(conn.dialect.name)[0]:      # all of them again, as the migrations made them
                conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"
                                  + ("" if conn.dialect.name == "sqlite" else " ON access_log")))
            if conn.dialect.name != "sqlite":
                conn.execute(text("DROP FUNCTION IF EXISTS access_log_append_only()"))
                conn.execute(text("DROP FUNCTION IF EXISTS access_log_next_only()"))
            first.append_only()
            second.extend_only()
    finally:
        if owner:
            eng.dispose()
    return gone


def role_problems(s: Session) -> list[str]:
    """Why the app's PostgreSQL role could change the access log ([] when it cannot, and on SQLite)."""
    if s.get_bind().dialect.name != "postgresql":
        return []
    who, superuser, owner = s.execute(text(
        "SELECT current_user, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user), "
        "(SELECT tableowner FROM pg_tables WHERE tablename = 'access_log')")).one()
    out = []
    if superuser:
        out.append(f"the role {who} is a superuser")
    if owner == who:
        out.append(f"the role {who} owns the access_log table")
    for priv in ("UPDATE", "DELETE", "TRUNCATE"):
        if s.execute(text("SELECT has_table_privilege(current_user, 'access_log', :p)"), {"p": priv}).scalar_one():
            out.append(f"the role {who} has {priv} on access_log")
    return sorted(set(out))


def startup_checks(database_url: str | None = None) -> None:
    """Before the app serves anyone: the SQLite file passes `PRAGMA quick_check`, the access log's
    triggers are all there, and on PostgreSQL the app's role cannot change or remove log rows.
    Raises AssessmentError saying what is wrong and what to do."""
    if owner_url():
        raise AssessmentError([Problem(DB004, "the app's environment holds the database owner's connection "
                                       "(CLETS_DATABASE_OWNER_URL)", hint="remove it from the app's environment: only "
                                       "`clets-assess db upgrade` needs it; anyone who took over the app could use it "
                                       "to change the access log")])
    database_url = database_url or url()
    damaged = Problem(DB001, "the database file is damaged", file=database_url.split("///", 1)[-1],
                      hint="stop the app and restore the last backup into a new data folder (clets-assess restore)")
    try:
        eng = engine(database_url)
        if eng.dialect.name == "sqlite":
            with eng.connect() as c:
                rows = c.execute(text("PRAGMA quick_check")).scalars().all()
            if rows != ["ok"]:
                damaged.message += ": " + "; ".join(rows[:3])
                raise AssessmentError([damaged])
    except DatabaseError as exc:
        if not database_url.startswith("sqlite"):
            raise
        damaged.message += f": {exc.orig or exc}"
        raise AssessmentError([damaged]) from None
    with Session(eng) as s:
        if gone := missing_triggers(s):
            raise AssessmentError([Problem(LOG001, "the access log's protection triggers are missing: "
                                           + ", ".join(gone), hint="someone with the database owner's rights removed "
                                           "them: run `clets-assess audit verify` to see what changed, then "
                                           "`clets-assess db upgrade --restore-triggers` as the owner")])
        if why := role_problems(s):
            raise AssessmentError([Problem(DB002, "the app's database role may change the access log: "
                                           + "; ".join(why), hint="run the app as a role that does not own the "
                                           "tables: set CLETS_DATABASE_OWNER_URL to the owner's connection (for "
                                           "migrations) and CLETS_DATABASE_URL to the app's own role; see the README, "
                                           "Firm deployment")])


def alembic_config(eng: Engine):
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = eng
    return cfg


def upgrade(eng: Engine) -> None:
    from alembic import command
    command.upgrade(alembic_config(eng), "head")


def check(eng: Engine) -> None:
    """Raises when the tables in `tables.py` and the migrations disagree (`alembic check`)."""
    from alembic import command
    command.check(alembic_config(eng))


@contextlib.contextmanager
def session(database_url: str | None = None):
    """A transaction: committed at the end of the block, rolled back if it raises. (A refusal
    inside the block may roll back what the block had begun and commit its own log row; the
    session then begins anew.)"""
    with Session(engine(database_url), expire_on_commit=False) as s:
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise


def dispose_all() -> None:
    with _lock:
        for eng in _engines.values():
            eng.dispose()
        _engines.clear()
