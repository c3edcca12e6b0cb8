"""YAML reading and writing with positions: every loaded value can be traced to its line."""
from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer, ComposerError
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError

from assessment.core.errors import CF001, AssessmentError, Code, Problem


class _TextDates(RoundTripConstructor):
    """Leaves dates and timestamps as text, so the schema parses them and can say where a bad
    one is (ruamel would fail on `2025-13-01` without a position)."""


_TextDates.add_constructor("tag:yaml.org,2002:timestamp",
                           lambda self, node: str(self.construct_scalar(node)))


MAX_EXPANDED = 100_000     # values that aliases (*name) may add to a document
MAX_DEPTH = 60             # nesting of mappings and lists


def _size(node, memo: dict) -> int:
    """How many values `node` stands for with every alias inside it expanded."""
    key = id(node)
    if key not in memo:
        memo[key] = 0                                   # a node that contains itself counts once
        value = node.value
        if isinstance(value, list):
            kids = [n for item in value for n in (item if isinstance(item, tuple) else (item,))]
            memo[key] = 1 + sum(_size(k, memo) for k in kids)
        else:
            memo[key] = 1
    return memo[key]


class _BoundedComposer(Composer):
    """Anchors and aliases are allowed (the knowledge base shares penalty tables with them), but
    not a document they blow up: a 'billion laughs' of nested aliases is refused with its place."""

    def return_alias(self, node):
        memo = self.__dict__.setdefault("_sizes", {})
        self.__dict__["_expanded"] = self.__dict__.get("_expanded", 0) + _size(node, memo)
        if self._expanded > MAX_EXPANDED:
            raise ComposerError(None, None, f"aliases (*name) expand this document past {MAX_EXPANDED:,} values: "
                                "refused", node.start_mark)
        return node


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.Constructor = _TextDates
    y.Composer = _BoundedComposer
    y.max_depth = MAX_DEPTH
    y.preserve_quotes = True
    return y


def parse(text: str, filename: str, syntax_code: Code = CF001) -> Any:
    """Parse YAML text into a ruamel round-trip tree (keeps line and column of every key)."""
    try:
        return _yaml().load(io.StringIO(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = f"{exc.problem or 'syntax error'}" + (f" {exc.context}" if exc.context else "")
        limit = "maximum depth" in problem or "aliases (*name)" in problem
        if "maximum depth" in problem:
            problem = f"nested more than {MAX_DEPTH} levels deep: refused"
        raise AssessmentError([Problem(
            syntax_code, problem,
            file=filename,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
            hint=None if limit else "check indentation, colons and quotes on that line",
        )]) from None
    except Exception as exc:  # noqa: BLE001  ruamel raises a few unmarked errors (e.g. duplicate keys)
        raise AssessmentError([Problem(syntax_code, str(exc).splitlines()[0], file=filename)]) from None


def to_plain(node: Any) -> Any:
    """Convert a ruamel tree to plain dicts, lists and scalars."""
    if isinstance(node, dict):
        return {str(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v) for v in node]
    if hasattr(node, "__class__") and node.__class__.__name__ in {"ScalarFloat", "ScalarInt", "ScalarBoolean"}:
        return node.__class__.__mro__[1](node)
    if isinstance(node, str):
        return str(node)
    return node


def locate(tree: Any, loc: Iterable[Any]) -> tuple[int | None, int | None]:
    """1-based (line, column) of the deepest node of `loc` present in the tree.

    For a key that is missing, this gives the position of its parent mapping, which is
    where the user has to add it.
    """
    line = col = None
    node = tree
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            try:
                line, col = node.lc.key(part)
            except Exception:  # noqa: BLE001  a node without a recorded place: the line stays unknown
                pass
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            try:
                line, col = node.lc.item(part)
            except Exception:  # noqa: BLE001  a node without a recorded place: the line stays unknown
                pass
            node = node[part]
        else:
            if isinstance(node, (CommentedMap, CommentedSeq)) and line is None:
                line, col = node.lc.line, node.lc.col
            break
    return (line + 1 if line is not None else None, col + 1 if col is not None else None)


def key_path(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def dump(data: Any) -> str:
    buf = io.StringIO()
    y = YAML(typ="rt")
    y.default_flow_style = False
    y.width = 100
    y.indent(mapping=2, sequence=4, offset=2)
    y.dump(data, buf)
    return buf.getvalue()


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write a file completely or not at all (temp file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8") if isinstance(text, str) else text
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
