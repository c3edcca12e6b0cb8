"""Temporary working copies of an open matter's evidence (DuckDB reads files, so the analysis
needs them decrypted on disk while the matter is open), kept in the data folder's `tmp/`
(mode 0700, files 0600), never in the shared /tmp.

A folder belongs to one process (its id is in the name) and is touched by every run of the
session that uses it. It is removed when the session closes the matter, signs out or times out;
a folder left behind by a closed browser tab is removed by the sweep once untouched for longer
than the idle limit, and at start every folder of a process that no longer runs is removed."""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from assessment.firm.datadir import data_dir, ensure_private

STALE_SECONDS = 35 * 60          # the 30-minute idle lock, and a margin


def root() -> Path:
    return ensure_private(data_dir() / "tmp")


def make(prefix: str) -> Path:
    """A new private folder for this process."""
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=root()))


def owns(folder) -> bool:
    """Whether `folder` is one of these temporary folders (so removing it loses nothing)."""
    try:
        return folder is not None and Path(folder).resolve().parent == root().resolve()
    except OSError:
        return False


def touch(*folders) -> None:
    for folder in folders:
        if owns(folder):
            try:
                os.utime(folder)
            except OSError:
                pass


def remove(folder) -> None:
    if owns(folder):
        shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(stale_seconds: float = STALE_SECONDS) -> int:
    """Remove the folders of processes that no longer run, and any untouched for `stale_seconds`;
    returns how many were removed."""
    base = root()
    n, now = 0, time.time()
    for folder in base.iterdir():
        if not folder.is_dir():
            continue
        pid = next((int(p) for p in folder.name.split("-") if p.isdigit()), None)
        try:
            stale = now - folder.stat().st_mtime > stale_seconds
        except OSError:
            continue
        if stale or (pid is not None and not _alive(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            n += 1
    return n
