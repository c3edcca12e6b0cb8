"""Staff editing of the knowledge base: validate a proposed file against the whole knowledge
base, show the diff, save atomically with author, time and reason, keep every version, revert,
and refuse a save that would overwrite someone else's newer change.

Nothing reaches knowledge/ unless the knowledge base with the edit passes the same single
validator `clets-assess validate-kb` runs (law/validation.py), whichever file is edited, the
narrative-mining data included. A save is written to the access log and empties every cache that
reads knowledge/, so it takes effect at once. History lives outside knowledge/ (default:
kb-history/ beside it; set CLETS_KB_HISTORY to move it): log.jsonl, one JSON line per save, and
versions/ with each text.
"""
from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import io
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from assessment.core import settings, yamlio
from assessment.core.errors import KB002, KB003, AssessmentError, Problem
from assessment.firm import access_log, db, journal
from assessment.firm.context import Actor
from assessment.law import kb as kbmod
from assessment.law import validation


class Conflict(Exception):
    """The file changed since the editor opened it."""

    def __init__(self, rel: str, theirs: str, last: Record | None):
        who = f" by {last.author} at {last.time} ({last.reason})" if last else ""
        super().__init__(f"{rel} was changed{who} after you opened it; nothing was saved. "
                         "Reload it, reapply your edit, and save again.")
        self.rel, self.theirs, self.last = rel, theirs, last


@dataclass
class Record:
    time: str
    author: str
    reason: str
    file: str
    before_sha: str
    after_sha: str
    before: str  # path of the stored text before the save, relative to the history folder
    after: str


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def history_dir(kb_dir: Path) -> Path:
    return settings.KB_HISTORY.get() or Path(kb_dir).resolve().parent / "kb-history"


def files(kb_dir: Path) -> list[str]:
    """Every editable file, relative to the knowledge folder: exactly the files the validator reads."""
    return [str(p.relative_to(kb_dir)) for p in validation.files(Path(kb_dir))]


def read(kb_dir: Path, rel: str) -> tuple[str, str]:
    text = (Path(kb_dir) / rel).read_text(encoding="utf-8")
    return text, sha(text)


def _safe_rel(kb_dir: Path, rel: str) -> Path:
    path = (Path(kb_dir) / rel).resolve()
    if Path(kb_dir).resolve() not in path.parents or rel not in files(kb_dir):
        raise AssessmentError([Problem(KB003, "not a knowledge-base file", file=rel,
                                       hint="the editor offers the files the validator reads")])
    return path


def check(kb_dir: Path, rel: str, text: str) -> tuple[list[Problem], int]:
    """(problems, scenarios run) for the knowledge base with `rel` replaced by `text`, by the
    single validator (on a copy of the folder: knowledge/ is not touched)."""
    kb_dir = Path(kb_dir)
    _safe_rel(kb_dir, rel)
    with tempfile.TemporaryDirectory(prefix="kb-check-") as tmp:
        copy = Path(tmp) / kb_dir.name
        shutil.copytree(kb_dir, copy)
        (copy / rel).write_text(text, encoding="utf-8")
        try:
            return [], validation.validate(copy).scenarios
        except AssessmentError as exc:
            return exc.problems, 0


def diff(old: str, new: str, rel: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                        fromfile=f"saved/{rel}", tofile=f"edited/{rel}"))


def history(kb_dir: Path, rel: str | None = None) -> list[Record]:
    records = [Record(**r) for r in journal.read(history_dir(kb_dir) / "log.jsonl")]
    return [r for r in records if rel is None or r.file == rel]


def version_text(kb_dir: Path, stored: str) -> str:
    return (history_dir(kb_dir) / stored).read_text(encoding="utf-8")


def save(who: Actor, kb_dir: Path, rel: str, text: str, *, author: str, reason: str, base_sha: str,
         now: dt.datetime | None = None) -> Record:
    """Save an edit by `who`, or raise: Forbidden (the role may not edit the knowledge base),
    AssessmentError (invalid; nothing written) or Conflict. The save is written to the access log
    (who, the file, the new version: ids, never the text) in a transaction around the file's
    replacement, so a log that cannot be written stops the save; then every cache that reads
    knowledge/ is emptied, so the edit takes effect at once."""
    with db.session() as s:                # a refusal is logged (committed on its own) and raised
        access_log.authorize(s, who, "kb.edit", event="kb-edit", object_type="kb-file", object_id=rel)
    kb_dir = Path(kb_dir)
    path = _safe_rel(kb_dir, rel)
    if not author.strip() or not reason.strip():
        raise AssessmentError([Problem(KB002, "an edit needs the editor's name and a reason", file=rel)])
    with journal.locked(history_dir(kb_dir)):
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if sha(current) != base_sha:
            last = next(iter(history(kb_dir, rel)), None)
            raise Conflict(rel, current, last)
        problems, _ = check(kb_dir, rel, text)
        if problems:
            raise AssessmentError(problems)
        stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%S.%fZ")
        hist = history_dir(kb_dir)
        before = f"versions/{rel}/{stamp}-before-{sha(current)[:12]}.yaml"
        after = f"versions/{rel}/{stamp}-after-{sha(text)[:12]}.yaml"
        yamlio.write_atomic(hist / before, current)
        yamlio.write_atomic(hist / after, text)
        record = Record(time=stamp, author=author.strip(), reason=reason.strip(), file=rel,
                        before_sha=sha(current), after_sha=sha(text), before=before, after=after)
        with db.session() as s:
            access_log.record(s, actor=access_log.name_of(who), event="kb-edit", object_type="kb-file",
                              object_id=rel, reason=f"version {record.time}, SHA-256 {record.after_sha[:16]} "
                                                    f"(was {record.before_sha[:16]})",
                              place=who.place, source=who.source)
            yamlio.write_atomic(path, text)
            journal.append(hist / "log.jsonl", asdict(record))
    kbmod.clear_knowledge_caches()
    return record


def revert(who: Actor, kb_dir: Path, rel: str, record: Record, *, author: str, reason: str,
           base_sha: str) -> Record:
    """Restore the text a file had before `record` was saved (validated and logged like any edit)."""
    return save(who, kb_dir, rel, version_text(kb_dir, record.before), author=author,
                reason=f"revert of {record.time} ({record.reason}): {reason}", base_sha=base_sha)


def set_fields(text: str, updates: dict[tuple, Any]) -> str:
    """Change values in a YAML text, keeping its comments, quoting and key order (ruamel)."""
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    data = y.load(text)
    for path, value in updates.items():
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    buf = io.StringIO()
    y.dump(data, buf)
    return buf.getvalue()
