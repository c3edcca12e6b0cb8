"""Append-only JSON-lines logs (knowledge-base edits, memo-template versions, generated memos)
and the folder lock that serialises writers."""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path


def append(path: Path, record: dict) -> None:
    """Add one line and make sure it is on disk before returning."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def read(path: Path) -> list[dict]:
    """Every record, newest first ([] when there is no log yet)."""
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in reversed(path.read_text(encoding="utf-8").splitlines()) if line.strip()]


@contextlib.contextmanager
def locked(folder: Path):
    """An exclusive lock on `folder` (a `.lock` file in it) for the length of the block."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
