"""Where the repository's folders are. (Every CLETS_* setting joins this module: see below.)"""
from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]     # the `assessment` package
REPO = PACKAGE.parent                             # the folder holding it: knowledge/, templates/, demo/
