"""Backup and restore: the whole database and the data folder in one ZIP.

The database is written table by table as JSON lines (the same file restores into SQLite or
PostgreSQL, so a laptop's matters can move to the firm server), with the data folder's files
(memo templates, generated memos, remembered column mappings). `manifest.json` lists every
entry's SHA-256; restore checks them all, then the access log's chain, before writing anything,
and goes only into an empty database: the access log cannot be overwritten."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import zipfile
from pathlib import Path

from sqlalchemy import Integer, LargeBinary, func, insert, select, text
from sqlalchemy.engine import Engine

from . import access_log, db
from .datadir import data_dir
from .tables import UTC, Base, Blob
from .yamlio import write_atomic

FORMAT = "clets-backup/1"
SKIP_FILES = ("clets.db", "clets.db-wal", "clets.db-shm", ".lock")


class BackupError(Exception):
    pass


def _enc(value):
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, (bytes, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _dec(column, value):
    if value is None:
        return None
    if isinstance(column.type, UTC):
        return dt.datetime.fromisoformat(value)
    if isinstance(column.type, LargeBinary):
        return base64.b64decode(value)
    return value


def _revision(eng: Engine) -> str:
    with eng.connect() as c:
        return c.execute(text("SELECT version_num FROM alembic_version")).scalar_one()


def _files(root: Path):
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name not in SKIP_FILES and not p.name.endswith(".tmp"):
            yield p


def write(out: Path, eng: Engine | None = None) -> dict:
    """Write a backup to `out` (atomically); returns the manifest."""
    eng = eng or db.engine()
    buf = io.BytesIO()
    manifest = {"format": FORMAT, "created": access_log.stamp(), "schema": _revision(eng), "tables": {},
                "files": {}, "sha256": {}}
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf, eng.connect() as conn:
        for table in Base.metadata.sorted_tables:
            lines = []
            order = [c for c in table.primary_key.columns]
            for row in conn.execute(select(table).order_by(*order)).mappings():
                lines.append(json.dumps({k: _enc(v) for k, v in row.items()}, sort_keys=True))
            data = ("\n".join(lines) + "\n" if lines else "").encode("utf-8")
            name = f"db/{table.name}.jsonl"
            zf.writestr(name, data)
            manifest["tables"][table.name] = len(lines)
            manifest["sha256"][name] = hashlib.sha256(data).hexdigest()
        root = data_dir()
        for p in _files(root):
            rel = p.relative_to(root).as_posix()
            data = p.read_bytes()
            zf.writestr(f"files/{rel}", data)
            manifest["files"][rel] = len(data)
            manifest["sha256"][f"files/{rel}"] = hashlib.sha256(data).hexdigest()
        zf.writestr("manifest.json", json.dumps(manifest, indent=2, sort_keys=True))
    write_atomic(Path(out), buf.getvalue())
    return manifest


def read_manifest(zf: zipfile.ZipFile) -> dict:
    try:
        manifest = json.loads(zf.read("manifest.json"))
    except (KeyError, ValueError) as exc:
        raise BackupError(f"not a clets-defense backup: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"not a {FORMAT} backup (format {manifest.get('format')!r})")
    for name, want in manifest["sha256"].items():
        try:
            got = hashlib.sha256(zf.read(name)).hexdigest()
        except KeyError:
            raise BackupError(f"the backup lacks {name}") from None
        if got != want:
            raise BackupError(f"{name} does not match its SHA-256 in the manifest: the backup is damaged or altered")
    return manifest


def restore(src: Path, eng: Engine | None = None, *, actor: str = "cli") -> dict:
    """Restore a backup into an empty database and data folder; returns the manifest."""
    eng = eng or db.engine()
    with zipfile.ZipFile(Path(src)) as zf:
        manifest = read_manifest(zf)
        if manifest["schema"] != _revision(eng):
            raise BackupError(f"the backup's schema is {manifest['schema']}, this database's is {_revision(eng)}: "
                              "restore with the version of the app that wrote it, then upgrade")
        with eng.connect() as conn:
            if any(conn.execute(select(func.count()).select_from(t)).scalar_one() for t in Base.metadata.sorted_tables):
                raise BackupError("the database is not empty: restore into a new data folder or a new PostgreSQL "
                                  "database (the access log can never be overwritten)")
        root = data_dir()
        clash = [rel for rel in manifest["files"] if (root / rel).exists()]
        if clash:
            raise BackupError(f"the data folder already holds {clash[0]} (and {len(clash) - 1} more): restore into "
                              "an empty data folder")
        with eng.begin() as conn:
            for table in Base.metadata.sorted_tables:
                cols = table.columns
                rows = [{k: _dec(cols[k], v) for k, v in json.loads(line).items()}
                        for line in zf.read(f"db/{table.name}.jsonl").decode("utf-8").splitlines() if line]
                for i in range(0, len(rows), 500):
                    conn.execute(insert(table), rows[i:i + 500])
            if eng.dialect.name == "postgresql":
                for table in Base.metadata.sorted_tables:
                    pk = list(table.primary_key.columns)
                    if len(pk) == 1 and isinstance(pk[0].type, Integer) and pk[0].autoincrement is not False:
                        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', '{pk[0].name}'), "
                                          f"COALESCE((SELECT MAX({pk[0].name}) FROM {table.name}), 0) + 1, false)"))
        for rel in manifest["files"]:
            write_atomic(root / rel, zf.read(f"files/{rel}"))
    from sqlalchemy.orm import Session
    with Session(eng) as s, s.begin():
        breaks, n, _ = access_log.verify(s)
        bad_blobs = [b.sha256 for b in s.execute(select(Blob)).scalars()
                     if hashlib.sha256(b.content).hexdigest() != b.sha256]
        access_log.record(s, actor=actor, event="restore", object_type="backup", object_id=manifest["created"],
                          outcome="success" if not breaks and not bad_blobs else "failure",
                          reason=f"{n} log rows, {len(breaks)} breaks, {len(bad_blobs)} altered files", source="cli")
    manifest["restored_breaks"] = [str(b) for b in breaks]
    return manifest
