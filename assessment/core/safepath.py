"""File names that come from users, uploads and case files, kept to what they claim to be.

- `relative_problem`: an evidence path in a case file must be a relative path inside the case's
  folder: no absolute path, drive or `..`, no backslash or colon, no control characters.
- `upload_problem`: an uploaded file's name must be a plain base name (no folder at all).
- `inside`: the path of a name under a folder, refused unless it resolves inside that folder
  (symbolic links included), so nothing is read or written anywhere else."""
from __future__ import annotations

from pathlib import Path

MAX_NAME = 255


def _bad_chars(name: str) -> str | None:
    if any(ord(c) < 32 or ord(c) == 127 or 0x80 <= ord(c) < 0xA0 for c in name):
        return "it holds a control character"
    if "\\" in name:
        return "it holds a backslash"
    if ":" in name:
        return "it holds a colon"
    return None


def normal(name: str) -> str:
    """`./audit.csv` -> `audit.csv`, `logs/./audit.csv` -> `logs/audit.csv` (what an earlier version
    stored for a bundle's files); anything else unchanged."""
    if not isinstance(name, str):
        return name
    parts = name.split("/")
    kept = [p for i, p in enumerate(parts) if p != "." or i == len(parts) - 1]
    return "/".join(kept) if kept and kept != parts and all(kept) else name


def relative_problem(name: str) -> str | None:
    """Why `name` is not a safe relative path inside a folder, or None."""
    if not isinstance(name, str) or not name.strip():
        return "it is empty"
    if len(name) > MAX_NAME:
        return f"it is longer than {MAX_NAME} characters"
    if why := _bad_chars(name):
        return why
    if name.startswith("/"):
        return "it is an absolute path"
    parts = name.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "it climbs out of the folder ('..') or has an empty part"
    return None


def upload_problem(name: str) -> str | None:
    """Why an uploaded file's name is not a plain file name, or None."""
    if "/" in name:
        return "it names a folder"
    if name in (".", ".."):
        return "it is not a file name"
    return relative_problem(name)


class Outside(ValueError):
    """A name that would lead outside its folder."""


def inside(folder: Path, name: str) -> Path:
    """`folder / name`, after checking that it stays inside `folder` once resolved."""
    if relative_problem(name):
        raise Outside(name)
    base = Path(folder).resolve()
    path = (base / name).resolve()
    if not path.is_relative_to(base) or path == base:
        raise Outside(name)
    return path
