"""Backup and restore: the whole database and the data folder in one file, sealed with a passphrase.

The database is written table by table as JSON lines (the same file restores into SQLite or
PostgreSQL, so a laptop's matters can move to the firm server), with the data folder's files,
and the access log's key (so the restored chain verifies). Stored files go in decrypted and
are encrypted again under the restoring machine's data key; the whole backup is one
passphrase-sealed file (crypto.seal_with_passphrase: AES-256-GCM under an argon2id key), whose
tags authenticate every byte: a forged or altered backup does not open. `manifest.json` also
lists every entry's SHA-256.

Restore checks everything before it writes anything: the passphrase, every hash, the schema
revision, every stored file against its SHA-256, and the access log's keyed chain; then it writes
the database in one transaction (and the data folder's files inside it), so a failure at any
point leaves the database and the data folder as they were. It goes only into an empty database:
the access log cannot be overwritten."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, LargeBinary, delete, func, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from assessment.core import safepath
from assessment.core.errors import AssessmentError
from assessment.core.yamlio import write_atomic
from assessment.firm import access_log, blobs, crypto, db
from assessment.firm import keys as keymod
from assessment.firm.datadir import data_dir
from assessment.firm.tables import UTC, AccessLog, Base, Blob, Setting

FORMAT = "clets-backup/2"
KIND = "clets-defense backup"
SKIP_FILES = ("clets.db", "clets.db-wal", "clets.db-shm", ".lock", "first-admin-password.txt")
SKIP_DIRS = ("tmp",)
SELF_TABLES = ("alembic_version", "settings")       # written by the migration itself


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
        rel = p.relative_to(root)
        if (p.is_file() and p.name not in SKIP_FILES and not p.name.endswith(".tmp")
                and rel.parts[0] not in SKIP_DIRS):
            yield p


def write(out: Path, passphrase: str, eng: Engine | None = None) -> dict:
    """Write a passphrase-sealed backup to `out` (atomically, 0600); returns the manifest."""
    eng = eng or db.engine()
    keys = keymod.load()
    buf = io.BytesIO()
    manifest: dict[str, Any] = {"format": FORMAT, "created": access_log.stamp(), "schema": _revision(eng),
                                "tables": {}, "files": {}, "sha256": {}}
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf, Session(eng) as s:
        def put(name: str, data: bytes) -> None:
            zf.writestr(name, data)
            manifest["sha256"][name] = hashlib.sha256(data).hexdigest()
        for table in Base.metadata.sorted_tables:
            lines = []
            order = [c for c in table.primary_key.columns]
            for stored in s.execute(select(table).order_by(*order)).mappings():
                row = dict(stored)
                if table is Blob.__table__:      # in the clear inside the sealed backup: any key restores it
                    row["content"] = blobs.get(s, row["sha256"])
                lines.append(json.dumps({k: _enc(v) for k, v in row.items()}, sort_keys=True))
            put(f"db/{table.name}.jsonl", ("\n".join(lines) + "\n" if lines else "").encode("utf-8"))
            manifest["tables"][table.name] = len(lines)
        put("keys.json", json.dumps({"log_keys": [{"from": f, "key": base64.b64encode(k).decode()}
                                                  for f, k in keys.log_keys]}).encode())
        root = data_dir()
        for p in _files(root):
            rel = p.relative_to(root).as_posix()
            data = p.read_bytes()
            put(f"files/{rel}", data)
            manifest["files"][rel] = len(data)
        last = s.execute(select(AccessLog.seq, AccessLog.hash).order_by(AccessLog.seq.desc()).limit(1)).first()
        manifest["log_head"] = [last[0], last[1]] if last else None
        zf.writestr("manifest.json", json.dumps(manifest, indent=2, sort_keys=True))
    write_atomic(Path(out), crypto.seal_with_passphrase(buf.getvalue(), passphrase, KIND))
    return manifest


def _open(src: Path, passphrase: str) -> zipfile.ZipFile:
    try:
        kind, data = crypto.unseal_with_passphrase(Path(src).read_bytes(), passphrase, str(src))
    except AssessmentError as exc:
        raise BackupError("; ".join(p.message for p in exc.problems)) from None
    if kind != KIND:
        raise BackupError(f"not a clets-defense backup (it is a {kind or 'different'} file)")
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise BackupError(f"the backup opens but its contents are damaged ({exc}): nothing restored") from None


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


def _rows(zf: zipfile.ZipFile) -> dict[str, list[dict]]:
    out = {}
    for table in Base.metadata.sorted_tables:
        cols = table.columns
        out[table.name] = [{k: _dec(cols[k], v) for k, v in json.loads(line).items()}
                           for line in zf.read(f"db/{table.name}.jsonl").decode("utf-8").splitlines() if line]
    return out


def _check(rows: dict[str, list[dict]], manifest: dict, log_keys: keymod.Keys) -> None:
    """Everything restore would write, checked first: stored files against their SHA-256, the
    access log's keyed chain, and its last row against the head the backup recorded."""
    bad = [b["sha256"][:16] for b in rows["blobs"] if hashlib.sha256(b["content"]).hexdigest() != b["sha256"]]
    if bad:
        raise BackupError(f"{len(bad)} stored file(s) do not match their SHA-256 (first: {bad[0]}): nothing restored")
    log = [tuple(r[f] for f in access_log.FIELDS) + (r["prev_hash"], r["hash"]) for r in rows["access_log"]]
    breaks, n, last, _ = access_log.check_chain(log, log_keys.log_key_for)
    if breaks:
        raise BackupError(f"the backup's access log is broken ({breaks[0]}; {len(breaks)} in all): nothing restored")
    head = manifest.get("log_head")
    if (head is None) != (n == 0) or (head and (head[0] != n or head[1] != last)):
        raise BackupError("the backup's access log does not end at the head it recorded: nothing restored")


def restore(src: Path, passphrase: str, eng: Engine | None = None, *, actor: str = "cli",
            source: str = "cli") -> dict:
    """Restore a backup into an empty database and data folder (see the module's docstring);
    returns the manifest. Raises BackupError, having written nothing."""
    eng = eng or db.engine()
    with _open(src, passphrase) as zf:
        manifest = read_manifest(zf)
        if manifest["schema"] != _revision(eng):
            raise BackupError(f"the backup's schema is {manifest['schema']}, this database's is {_revision(eng)}: "
                              "restore with the version of the app that wrote it, then upgrade")
        with eng.connect() as conn:
            if any(conn.execute(select(func.count()).select_from(t)).scalar_one()
                   for t in Base.metadata.sorted_tables if t.name not in SELF_TABLES):
                raise BackupError("the database is not empty: restore into a new data folder or a new PostgreSQL "
                                  "database (the access log can never be overwritten)")
        root = data_dir()
        clash = [rel for rel in manifest["files"] if (root / rel).exists()]
        if clash:
            raise BackupError(f"the data folder already holds {clash[0]} (and {len(clash) - 1} more): restore into "
                              "an empty data folder")
        rows = _rows(zf)
        settings = {r["key"]: r["value"] for r in rows["settings"]}
        old_keys = keymod.load()
        new_keys = replace(old_keys, database=settings["database_id"], log_keys=tuple(
            (int(r["from"]), base64.b64decode(r["key"])) for r in json.loads(zf.read("keys.json"))["log_keys"]))
        _check(rows, manifest, new_keys)
        try:
            files = {str(safepath.inside(root, rel).relative_to(root.resolve())): zf.read(f"files/{rel}")
                     for rel in manifest["files"]}
        except safepath.Outside as exc:
            raise BackupError(f"the backup names a file outside the data folder ({exc}): nothing restored") from None
    keymod.save(new_keys)          # the restored database's id, and its log chained under the keys it came with
    written: list[Path] = []
    try:
        with Session(eng) as s, s.begin():
            for table in Base.metadata.sorted_tables:
                batch = rows[table.name]
                if table.name == "settings":
                    s.execute(delete(Setting))
                if table is Blob.__table__:
                    batch = [{**b, "content": crypto.seal(b["content"], b["sha256"].encode("ascii"), new_keys)}
                             for b in batch]
                for i in range(0, len(batch), 500):
                    s.execute(insert(table), batch[i:i + 500])
            if eng.dialect.name == "postgresql":
                for table in Base.metadata.sorted_tables:
                    pk = list(table.primary_key.columns)
                    if len(pk) == 1 and isinstance(pk[0].type, Integer) and pk[0].autoincrement is not False:
                        s.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', '{pk[0].name}'), "
                                       f"COALESCE((SELECT MAX({pk[0].name}) FROM {table.name}), 0) + 1, false)"))
            for rel, data in files.items():
                write_atomic(root / rel, data)
                written.append(root / rel)
            access_log.record(s, actor=actor, event="restore", object_type="backup", object_id=manifest["created"],
                              reason=f"{len(rows['access_log'])} log rows and {len(rows['blobs'])} files, all "
                                     "checked", source=source)
    except BaseException:
        for p in written:
            p.unlink(missing_ok=True)
        keymod.save(old_keys)
        raise
    _retire_heads()
    with Session(eng) as s:
        _, n, last = access_log.verify(s, heads=False)
    access_log.export_head(n, last, force=True)
    return manifest


def _retire_heads() -> None:
    """The heads exported for the database this one replaces no longer apply: kept aside, dated."""
    path = keymod.heads_path()
    if path.exists():
        path.rename(path.with_name(f"{path.name}.before-restore-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}"))
