"""Literal prefilters for regular expressions: skip text where a pattern cannot match.

Python's `re` tries a case-insensitive pattern that starts with `\\b` at every character, which
made scanning a narrative with ~110 patterns the slowest part of narrative mining. For each pattern
`required_literals` works out a set of strings, one of which every match must contain (lower
case); `str.find` locates them in the lower-cased text far faster than the pattern could be
tried, and the pattern then runs only where one occurs. A pattern for which no such set exists
(or only one of very short strings) is run over the whole text, as before."""
from __future__ import annotations

import re
import re._casefix  # the standard library's own pattern parser (typeshed has no stubs: typed Any)
import re._constants as C
import re._parser as P

MIN_LITERAL = 3          # shorter required strings ("a", "no") occur everywhere: not worth it
# characters that `re` folds to another letter though `str.lower` keeps them ("ſ" matches "s")
_FOLDS = frozenset(chr(c) for k, vs in re._casefix._EXTRA_CASES.items() for c in (k, *vs) if c > 127)


def required_literals(pattern: re.Pattern) -> frozenset[str] | None:
    """Strings of which every match contains at least one (lower-cased), or None."""
    try:
        tree = P.parse(pattern.pattern, pattern.flags)
    except Exception:   # noqa: BLE001 - a parser change in a later Python: fall back to a full scan
        return None
    found = _sequence(list(tree))
    if not found or min(map(len, found)) < MIN_LITERAL:
        return None
    return frozenset(found)


def _sequence(items: list) -> set[str] | None:
    """Best required set of a concatenation: a run of literal characters, or an element's own."""
    candidates: list[set[str]] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            candidates.append({"".join(run).lower()})
            run.clear()
    for op, av in items:
        if op is C.LITERAL:
            run.append(chr(av))
            continue
        flush()
        sub = _element(op, av)
        if sub:
            candidates.append(sub)
    flush()
    if not candidates:
        return None
    return max(candidates, key=lambda s: (min(map(len, s)), -len(s)))


def _element(op, av) -> set[str] | None:
    if op is C.SUBPATTERN:
        return _sequence(list(av[3]))
    if op is C.BRANCH:
        out: set[str] = set()
        for branch in av[1]:
            sub = _sequence(list(branch))
            if not sub:
                return None
            out |= sub
        return out
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)) and av[0] >= 1:
        return _sequence(list(av[2]))
    if op is getattr(C, "ATOMIC_GROUP", None):
        return _sequence(list(av))
    return None        # assertions, classes, any: no literal to rely on


def occurrences(lower: str, literals: frozenset[str]) -> list[int]:
    """Start offsets of every occurrence of any literal in the lower-cased text."""
    out: list[int] = []
    for lit in literals:
        i = lower.find(lit)
        while i >= 0:
            out.append(i)
            i = lower.find(lit, i + 1)
    out.sort()
    return out


def lowered(text: str) -> str | None:
    """The text in lower case; None where lower-casing changes its length (offsets would shift) or
    the text holds a character `re` folds differently."""
    low = text.lower()
    if len(low) != len(text) or (not text.isascii() and not _FOLDS.isdisjoint(low)):
        return None
    return low


REACH = 200      # characters a match may extend either side of its required string


def finditer(rx: re.Pattern, text: str, low: str | None, literals: frozenset[str] | None):
    """The matches `rx.finditer(text)` gives, found only near the required strings: windows of
    REACH characters either side of each occurrence, merged where they overlap. Falls back to a
    full scan without literals or a usable lower-cased text."""
    if literals is None or low is None:
        yield from rx.finditer(text)
        return
    windows: list[list[int]] = []
    for pos in occurrences(low, literals):
        a, b = max(0, pos - REACH), min(len(text), pos + REACH)
        if windows and a <= windows[-1][1]:
            windows[-1][1] = b
        else:
            windows.append([a, b])
    last = -1
    for a, b in windows:
        for m in rx.finditer(text, a, b):
            if m.start() >= last:
                last = m.end() if m.end() > m.start() else m.end() + 1
                yield m
