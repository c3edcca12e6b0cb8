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
_PAGE_LINE = re.compile(r"(?im)^[ \t]*(?:page\s+\d{1,4}(?:\s+of\s+\d{1,4})?|-\s*\d{1,4}\s*-|\d{1,4}\s*/\s*\d{1,4}|"
                        r"\[?\s*page\s+\d{1,4}\s*\]?)[ \t]*$")
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
    """Page-number lines, and in a text with pages (two or more form feeds or page numbers) the
    lines of 12 characters or more that repeat on three pages or more (a running header or footer),
    become spaces, together with the line break before them."""
    lines = text.split("\n")
    numbered = [i for i, line in enumerate(lines) if _PAGE_LINE.fullmatch(line)]
    paged = len(numbered) >= 2 or text.count("\f") >= 2
    counts = Counter(s.strip() for s in lines if 12 <= len(s.strip()) <= 90) if paged else Counter()
    running = {s for s, n in counts.items() if n >= 3 and re.search(r"[A-Za-z]", s)}
    if not numbered and not running:
        return text
    chars = list(text)
    pos = 0
    for i, line in enumerate(lines):
        if line.strip() and (i in numbered or line.strip() in running):
            a = pos - 1 if pos > 0 else pos            # the line break before it, too
            chars[a:pos + len(line)] = " " * (pos + len(line) - a)
        pos += len(line) + 1
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
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"
