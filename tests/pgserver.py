"""A throwaway PostgreSQL server for the test suite: initdb in a temporary folder, a socket in
that folder, a free port, no TCP listener, trust authentication; stopped and deleted at the end.
initdb refuses to run as root, so as root it runs as the postgres user (runuser)."""
from __future__ import annotations

import glob
import itertools
import os
import secrets
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

_counter = itertools.count(1)


@dataclass
class Server:
    folder: Path
    port: int
    bindir: Path
    databases: list[str] = field(default_factory=list)

    def url(self, database: str, user: str = "postgres") -> str:
        return f"postgresql+psycopg://{user}@/{database}?host={self.folder}&port={self.port}"


def bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_owner(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def start() -> Server:
    """A new server in a new folder under /tmp (pytest's own temp folders are closed to other users)."""
    import tempfile
    folder = tempfile.mkdtemp(prefix="clets-pg-")
    bins = bindir()
    if bins is None:
        raise RuntimeError("PostgreSQL is not installed (/usr/lib/postgresql/*/bin): ./dev test installs it with apt-get")
    folder = Path(folder)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = folder / "data"
    subprocess.run(_as_owner([str(bins / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                              "--no-sync"]), check=True, capture_output=True)
    subprocess.run(_as_owner([str(bins / "pg_ctl"), "-D", str(data), "-w", "-l", str(folder / "log"), "-o",
                              f"-k {folder} -p {port} -c listen_addresses='' -c fsync=off -c max_connections=200",
                              "start"]), check=True, capture_output=True)
    server = Server(folder, port, bins)
    # the app runs as a role that does not own the tables (the owner, postgres, migrates), as on a
    # firm server; one migrated database, with the app role's grants, to copy for each test
    from sqlalchemy import create_engine

    from assessment.firm import db
    _sql(server, f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
    _sql(server, "CREATE DATABASE clets_template")
    owner = create_engine(server.url("clets_template"))
    db.upgrade(owner)
    db.grant_app_role(owner, APP_ROLE)
    owner.dispose()
    return server


APP_ROLE = "clets_app"


def _sql(server: Server, statement: str, database: str = "postgres") -> None:
    import psycopg
    with psycopg.connect(host=str(server.folder), port=server.port, user="postgres", dbname=database,
                         autocommit=True) as conn:
        conn.execute(statement)


def create_database(server: Server, per_test: bool = True) -> tuple[str, str]:
    """A new migrated database: (the app role's URL, the owner's URL). `per_test` ones are dropped
    after each test (drop_databases), others (a module's live server) live until the server stops."""
    name = f"t{os.getpid()}_{next(_counter)}"
    _sql(server, f"CREATE DATABASE {name} TEMPLATE clets_template")
    _sql(server, f"UPDATE settings SET value = '{secrets.token_hex(16)}' WHERE key = 'database_id'", name)  # its own
    if per_test:
        server.databases.append(name)
    return server.url(name, APP_ROLE), server.url(name)


def drop_databases(server: Server) -> None:
    while server.databases:
        _sql(server, f"DROP DATABASE IF EXISTS {server.databases.pop()} WITH (FORCE)")


def stop(server: Server) -> None:
    subprocess.run(_as_owner([str(server.bindir / "pg_ctl"), "-D", str(server.folder / "data"), "-m", "immediate",
                              "stop"]), capture_output=True)
    shutil.rmtree(server.folder, ignore_errors=True)
