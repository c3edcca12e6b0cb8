"""Where the app keeps what users make: column mappings, memo templates, generated memos."""
from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """`$CLETS_DATA_DIR`, default `~/.clets-defense`."""
    return Path(os.environ.get("CLETS_DATA_DIR") or Path.home() / ".clets-defense")
