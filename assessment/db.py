"""The database: one engine per process, SQLite by default, PostgreSQL by URL.

`$CLETS_DATABASE_URL` names the database (`postgresql+psycopg://user@host/db` on a firm
server); without it the app keeps `clets.db` in the data folder. SQLite runs in WAL mode with a
busy timeout and foreign keys on, and every transaction begins IMMEDIATE, so two writers queue
instead of failing half-way. The schema is brought to the newest migration on first use."""
from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from .datadir import data_dir

BUSY_TIMEOUT_MS = 30_000
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def url() -> str:
    return os.environ.get("CLETS_DATABASE_URL") or f"sqlite:///{data_dir() / 'clets.db'}"


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None          # SQLAlchemy's "begin" event below issues BEGIN
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def engine(database_url: str | None = None, *, migrate: bool = True) -> Engine:
    """The process's engine for `database_url` (default `url()`), migrated to the newest schema."""
    database_url = database_url or url()
    with _lock:
        eng = _engines.get(database_url)
        if eng is None:
            if database_url.startswith("sqlite"):
                path = database_url.split("///", 1)[-1]
                if path and path != ":memory:":
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                eng = create_engine(database_url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
                _sqlite_setup(eng)
            else:
                eng = create_engine(database_url, pool_pre_ping=True)
            if migrate:
                upgrade(eng)
            _engines[database_url] = eng
        return eng


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
    """A transaction: committed at the end of the block, rolled back if it raises."""
    with Session(engine(database_url), expire_on_commit=False) as s, s.begin():
        yield s


def dispose_all() -> None:
    with _lock:
        for eng in _engines.values():
            eng.dispose()
        _engines.clear()
