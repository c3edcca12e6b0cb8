"""Text as it arrives from a PDF, a scanner's OCR or another machine, made readable for the miner
without moving a character: every change keeps the text's length, so each entity's and each
sentence's offsets still point into the narrative as the attorney entered it.

- a word broken at a line end ("investi-\\n   gation") is joined, the removed characters moved
  as spaces to the end of the word;
- page headers and footers ("Page 3 of 12", a line repeated at the top of every page) and form
  feeds become spaces, together with the line break around them, so a sentence that runs across
  a page break stays one sentence;
- no-break, zero-width and soft-hyphen characters become spaces (a soft hyphen inside a word is
  moved to its end), and carriage returns become line breaks' spaces.

`decode()` turns bytes in UTF-8 (with or without a byte-order mark), UTF-16 with a mark, or
Windows-1252 into text; it never fails (Latin-1 reads any byte)."""
from __future__ import annotations

import re
from collections import Counter

_HYPHEN_BREAK = re.compile(r"(?<=[a-z])[-\u00ad]\s*\n[ \t]*(?=[a-z])")
_SOFT_HYPHEN = re.compile(r"(?<=\w)\u00ad(?=\w)")
_PAGE_LINE = re.compile(r"(?i)[ \t\f\r]*(?:page\s+\d{1,4}(?:\s+of\s+\d{1,4})?|-\s*\d{1,4}\s*-|"
                        r"\[?\s*page\s+\d{1,4}\s*\]?)[ \t\f\r]*")
_NOT_A_HEADER = re.compile(r"[ \t\f]*(?:[QA][:.]|[-*•]\s)")        # an answer, a question, a bullet
_SPACES = str.maketrans({"\u00a0": " ", "\u2007": " ", "\u202f": " ", "\u200b": " ", "\u200c": " ",
                         "\u200d": " ", "\ufeff": " ", "\r": " ", "\f": " ", "\t": " "})


def tidy(text: str) -> str:
    """The text with PDF and OCR debris neutralized; `len(tidy(t)) == len(t)` always."""
    if not text:
        return text
    out = _blank_running_lines(text).translate(_SPACES)
    out = _join_broken_words(out, _HYPHEN_BREAK)
    out = _join_broken_words(out, _SOFT_HYPHEN)
    assert len(out) == len(text)
    return out


def _join_broken_words(text: str, rx: re.Pattern) -> str:
    """'investi-\\n  gation next' -> 'investigation    next': the gap moves to the word's end."""
    if not rx.search(text):
        return text
    parts: list[str] = []
    pos = 0
    for m in rx.finditer(text):
        if m.start() < pos:
            continue
        tail = re.match(r"\w*", text[m.end():])
        word_end = m.end() + (tail.end() if tail else 0)
        parts += [text[pos:m.start()], text[m.end():word_end], " " * (m.end() - m.start())]
        pos = word_end
    parts.append(text[pos:])
    return "".join(parts)


def _blank_running_lines(text: str) -> str:
    """Page-number lines, and in a text with pages (split at form feeds, else after page-number
    lines) the first or last line of a page (12 characters or more) that opens or closes three
    pages or more: a running header or footer. Each becomes spaces, with the line break before it.
    A line repeated inside the pages (an answer, a question) is never touched."""
    lines = text.split("\n")
    starts, pos = [], 0
    for line in lines:
        starts.append(pos)
        pos += len(line) + 1
    numbered = {i for i, line in enumerate(lines) if _PAGE_LINE.fullmatch(line)}
    breaks = [i for i, line in enumerate(lines) if "\f" in line] or sorted(numbered)
    firsts: list[int] = []
    lasts: list[int] = []
    if len(breaks) >= 2:
        bounds = [0, *breaks, len(lines)]
        for a, b in zip(bounds, bounds[1:], strict=False):
            page = [i for i in range(a, b) if lines[i].strip() and i not in numbered]
            firsts += page[:1]
            lasts += page[-1:]
    running: set[int] = set()
    for edge in (firsts, lasts):          # the same line opening (or closing) three pages or more
        counts = Counter(lines[i].strip() for i in edge)
        running |= {i for i in edge if counts[lines[i].strip()] >= 3 and 12 <= len(lines[i].strip()) <= 90
                    and re.search(r"[A-Za-z]", lines[i]) and not _NOT_A_HEADER.match(lines[i])}
    if not numbered and not running:
        return text
    chars = list(text)
    for i in sorted(numbered | running):
        a = starts[i] - 1 if starts[i] > 0 else starts[i]         # the line break before it, too
        b = starts[i] + len(lines[i])
        chars[a:b] = " " * (b - a)
    return "".join(chars)


def decode(data: bytes) -> tuple[str, str]:
    """(text, the encoding it was read as)."""
    for bom, enc in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            return data.decode(enc, errors="replace"), enc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", errors="replace")   # UTF-8 with a stray Windows byte (a pasted curly quote)
    if text.count("\ufffd") <= max(2, len(data) // 1000) and re.search(r"[\u00c0-\u024f\u2018-\u201d]", text):
        return text, "utf-8 (with stray bytes)"
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"
