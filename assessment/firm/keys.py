"""The firm's keys, kept outside the data folder and outside the database.

One JSON file per database, mode 0600 (`$CLETS_KEY_FILE`; by default
`~/.config/clets-defense/keys-<database>.json`, where <database> is a short hash of where the
database lives, so two data folders never share keys by accident):

- `database`: the id of the database the file belongs to (also in the database's `settings`);
  a key file is refused for any other database.
- `data_keys`: AES-256 keys by id, and `active`, the one new data is sealed under. Evidence files,
  generated memos and memo-template versions are stored encrypted under it (see crypto.py).
  `clets-assess keys rotate` adds a new key, re-encrypts everything under it and retires the old.
- `log_keys`: the HMAC-SHA256 keys that chain the access log, each from the row it starts at, so
  a row cannot be rewritten and re-chained by someone who can write to the database but cannot
  read this file. Rows before the first key's start (written before the app had a key) are
  chained with plain SHA-256 and held in place by the first keyed row's link to them.
  `clets-assess keys rotate --log` starts a new key at the next row (for example after a backup and
  its passphrase were exposed: they carry the log keys).

The file is made on the first start of a database that holds nothing sealed or chained under a
key yet. If it goes missing later, the app refuses to start rather than make a new one: a new
key could read none of the stored files and would hide a rewritten log. Keep a copy of it
somewhere other than the server (the README says how)."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import secrets
import stat
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy.engine import make_url

from assessment.core import settings
from assessment.core.errors import KEY001, KEY002, KEY003, KEY004, KEY009, AssessmentError, Code, Problem
from assessment.core.yamlio import write_atomic
from assessment.firm import journal

FORMAT = "clets-keys/1"
_cache: dict[tuple, Keys] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Keys:
    path: Path
    database: str
    data_keys: dict[str, bytes]
    active: str
    log_keys: tuple[tuple[int, bytes], ...]          # (first row, key), in order
    created: str = ""
    retired: tuple[str, ...] = field(default_factory=tuple)

    @property
    def data_key(self) -> bytes:
        return self.data_keys[self.active]

    @property
    def log_keyed_from(self) -> int:
        return self.log_keys[0][0]

    def log_key_for(self, seq: int) -> bytes | None:
        """The key row `seq` is chained under (None: a row from before the first key)."""
        key = None
        for start, k in self.log_keys:
            if seq >= start:
                key = k
        return key


def _database_slug() -> str:
    """A short name for where the database lives (not who connects to it: the owner and the app's
    role share the database's key file)."""
    url = make_url(settings.DATABASE_URL.get())
    where = (str(Path(url.database or "").resolve()) if url.get_backend_name() == "sqlite"
             else f"{url.get_backend_name()}://{url.host or ''}:{url.port or ''}/{url.database or ''}"
                  f"?{url.query.get('host', '')}")
    return hashlib.sha256(where.encode()).hexdigest()[:12]


def _config_dir() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "clets-defense"


def path() -> Path:
    return settings.KEY_FILE.get() or _config_dir() / f"keys-{_database_slug()}.json"


def heads_path() -> Path:
    """Where the access log's signed chain heads are appended: `$CLETS_LOG_HEADS`, default beside
    the key file (outside the data folder and the database)."""
    if (heads := settings.LOG_HEADS.get()) is not None:
        return heads
    p = path()
    return p.with_name(p.name.replace("keys", "log-heads", 1).removesuffix(".json") + ".jsonl")


def _problem(code: Code, message: str, where: Path, hint: str) -> AssessmentError:
    return AssessmentError([Problem(code, message, file=str(where), hint=hint)])


def exists() -> bool:
    return path().exists()


def _parse(p: Path) -> Keys:
    raw = json.loads(p.read_text(encoding="utf-8"))
    if raw.get("format") != FORMAT:
        raise ValueError(f"format {raw.get('format')!r}, not {FORMAT}")
    log_keys = tuple((int(r["from"]), base64.b64decode(r["key"])) for r in raw["log_keys"])
    keys = Keys(p, str(raw["database"]), {k: base64.b64decode(v) for k, v in raw["data_keys"].items()},
                raw["active"], log_keys, raw.get("created", ""), tuple(raw.get("retired", [])))
    if keys.active not in keys.data_keys or any(len(k) != 32 for k in keys.data_keys.values()) \
            or not log_keys or any(len(k) != 32 for _, k in log_keys) \
            or [s for s, _ in log_keys] != sorted({s for s, _ in log_keys}):
        raise ValueError("a key is missing, not 256 bits long, or out of order")
    return keys


def load() -> Keys:
    """The keys (read once per version of the file). Refused when the file is missing, readable by
    other users, or damaged."""
    p = path()
    try:
        st = p.stat()
    except FileNotFoundError:
        raise _problem(KEY001, "the key file is missing", p,
                       "restore it from the firm's copy of the key file, or point CLETS_KEY_FILE at it; the app "
                       "never makes a new one for a database that holds data sealed or chained under a key") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise _problem(KEY002, f"the key file is readable by other users (mode {stat.S_IMODE(st.st_mode):o})", p,
                       f"chmod 600 {p}")
    cache_key = (str(p), st.st_mtime_ns, st.st_size, st.st_ino)
    with _lock:
        got = _cache.get(cache_key)
        if got is not None:
            return got
        try:
            keys = _parse(p)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise _problem(KEY003, f"the key file cannot be read: {exc}", p,
                           "restore it from the firm's copy of the key file") from None
        _cache.clear()
        _cache[cache_key] = keys
        return keys


def for_database(database: str) -> Keys:
    """The keys, refused (KEY009) when the file belongs to another database."""
    keys = load()
    if keys.database != database:
        raise _problem(KEY009, f"the key file belongs to another database (its id {keys.database[:8]}..., this "
                                 f"database's {database[:8]}...)", keys.path,
                       "point CLETS_KEY_FILE at this database's key file")
    return keys


def _dump(keys: Keys) -> str:
    return json.dumps({"format": FORMAT, "database": keys.database, "created": keys.created, "active": keys.active,
                       "data_keys": {k: base64.b64encode(v).decode() for k, v in keys.data_keys.items()},
                       "log_keys": [{"from": s, "key": base64.b64encode(k).decode()} for s, k in keys.log_keys],
                       "retired": list(keys.retired)}, indent=2) + "\n"


def save(keys: Keys) -> None:
    """Write the key file completely or not at all (mode 0600, as write_atomic makes every file), in
    a folder only its owner opens."""
    keys.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(keys.path, _dump(keys))
    with _lock:
        _cache.clear()


def changing():
    """Only one key change at a time (the lock of the key file's folder)."""
    folder = path().parent
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return journal.locked(folder)


def create(database: str, log_keyed_from: int) -> Keys:
    """A new key file for `database` (never over an existing one)."""
    p = path()
    if p.exists():
        raise _problem(KEY004, "a key file exists already", p, "use it; `clets-assess keys rotate` renews the data key")
    keys = Keys(p, database, {"k1": secrets.token_bytes(32)}, "k1", ((log_keyed_from, secrets.token_bytes(32)),),
                dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    save(keys)
    return keys


def with_new_data_key(keys: Keys) -> Keys:
    """The same keys plus a new active data key (the old ones stay until re-encryption is done)."""
    n = 1 + max([int(k[1:]) for k in (*keys.data_keys, *keys.retired) if k[1:].isdigit()], default=0)
    return replace(keys, data_keys={**keys.data_keys, f"k{n}": secrets.token_bytes(32)}, active=f"k{n}")


def with_new_log_key(keys: Keys, from_seq: int) -> Keys:
    """The same keys plus a new log key for the rows from `from_seq` on."""
    return replace(keys, log_keys=(*keys.log_keys, (from_seq, secrets.token_bytes(32))))


def without(keys: Keys, ids: list[str]) -> Keys:
    """The keys with the data keys `ids` retired (their bytes dropped; their ids remembered)."""
    return replace(keys, data_keys={k: v for k, v in keys.data_keys.items() if k not in ids},
                   retired=tuple(sorted(set(keys.retired) | set(ids))))
