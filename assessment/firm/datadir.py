"""Where the app keeps what users make: the SQLite database, and the temporary working copies of
an open matter's evidence (tmp/). Only the app's own user may open it: the folder is 0700 and
its files 0600, the process's umask is 077 (`harden`), and looser modes left by an earlier
version are tightened at start."""
from __future__ import annotations

import os
from pathlib import Path

from assessment.core import settings


def data_dir() -> Path:
    """`$CLETS_DATA_DIR`, default `~/.clets-defense`."""
    return settings.DATA_DIR.get()


def ensure_private(folder: Path | None = None) -> Path:
    """The folder (default the data folder), made if missing, mode 0700."""
    folder = Path(folder or data_dir())
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if folder.stat().st_mode & 0o077:
        folder.chmod(0o700)
    return folder


def harden() -> Path:
    """At start: umask 077 for everything this process writes, and the data folder's tree closed to
    other users (folders 0700, files 0600). Returns the data folder."""
    os.umask(0o077)
    root = ensure_private()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            p = Path(dirpath, name)
            if not p.is_symlink() and p.stat().st_mode & 0o077:
                p.chmod(0o700)
        for name in filenames:
            p = Path(dirpath, name)
            if not p.is_symlink() and p.stat().st_mode & 0o077:
                p.chmod(0o600)
    return root
