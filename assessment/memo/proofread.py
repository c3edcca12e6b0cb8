"""The clean-text check of a rendered memo: every line of the .docx read for the defects a partner would circle."""
from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from docx import Document
from docx.oxml import parse_xml
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph

KINDS = ("section-number", "punctuation", "escaped-quote", "plural", "empty-heading", "template-tag", "raw-id",
         "raw-value")


@dataclass(frozen=True)
class Line:
    """One paragraph of the memo: where it is ("paragraph 12", "table 3 row 2 cell 1", "header"), its
    style's name and its text; `picture` when it holds a drawing (a chart is content under a heading)."""
    place: str
    style: str
    text: str
    picture: bool = False


@dataclass(frozen=True)
class Defect:
    """A defect found: its kind (one of KINDS), the line's place and ~60 characters around the hit."""
    kind: str
    place: str
    excerpt: str


# ---- reading the document in order --------------------------------------------------------------------------
def _line(p, parent, place: str) -> Line:
    """A w:p element as a Line (its style by name where the part can look it up, else its style id)."""
    para = Paragraph(p, parent)
    try:
        style = para.style.name if para.style is not None else ""
    except (KeyError, AttributeError, NotImplementedError, ValueError):     # a part without styles (notes)
        style = p.style or ""
    drawing = bool(p.findall(".//" + qn("w:drawing")) or p.findall(".//" + qn("w:pict")))
    return Line(place, style or "", para.text, drawing)


def _blocks(container, parent, prefix: str, cell: str | None = None) -> Iterator[Line]:
    """The paragraphs of a body, a cell or a header in document order, with those of each table in
    its place; content controls (w:sdt) are read through. In a cell every paragraph has the cell's
    place; its nested tables are numbered after it ("table 3 row 2 cell 1 table 1 row 1 cell 1")."""
    counts = {"p": 0, "t": 0}

    def walk(node) -> Iterator[Line]:
        for child in node.iterchildren():
            if child.tag == qn("w:p"):
                counts["p"] += 1
                yield _line(child, parent, cell or f"{prefix}paragraph {counts['p']}")
            elif child.tag == qn("w:tbl"):
                counts["t"] += 1
                yield from _table(child, parent, f"{cell + ' ' if cell else prefix}table {counts['t']}")
            elif child.tag == qn("w:sdt") and (content := child.find(qn("w:sdtContent"))) is not None:
                yield from walk(content)
    yield from walk(container)


def _table(tbl, parent, place: str) -> Iterator[Line]:
    """A table's cells row by row, each w:tc once: a horizontally merged cell is one w:tc already,
    and the continuation of a vertically merged one holds no text of its own, so it is skipped."""
    for r, tr in enumerate(tbl.findall(qn("w:tr")), start=1):
        cells = [tc for tc in tr.iter(qn("w:tc")) if tc.getparent() is tr or tc.getparent().tag == qn("w:sdtContent")]
        for c, tc in enumerate(cells, start=1):
            vmerge = tc.find(f"{qn('w:tcPr')}/{qn('w:vMerge')}")
            if vmerge is not None and vmerge.get(qn("w:val")) in (None, "continue"):
                continue
            yield from _blocks(tc, parent, "", f"{place} row {r} cell {c}")


def _notes(doc) -> Iterator[Line]:
    """The paragraphs of the footnotes and endnotes parts, where the document has them."""
    for rel in doc.part.rels.values():
        kind = rel.reltype.rsplit("/", 1)[-1]
        if rel.is_external or kind not in ("footnotes", "endnotes"):
            continue
        root = getattr(rel.target_part, "element", None)
        if root is None:        # a part python-docx keeps as bytes
            root = parse_xml(rel.target_part.blob)
        for note in root.iterchildren():
            if note.get(qn("w:type")) in ("separator", "continuationSeparator", "continuationNotice"):
                continue
            for p in note.iter(qn("w:p")):
                yield _line(p, doc.part, f"{kind[:-1]} {note.get(qn('w:id'))}")


def lines(docx: bytes) -> list[Line]:
    """Every paragraph of the memo: the body in document order (a table's cell paragraphs in the
    table's place), then footnotes and endnotes, then each header and footer once."""
    doc = Document(io.BytesIO(docx))
    out = list(_blocks(doc.element.body, doc._body, ""))
    out += _notes(doc)
    seen: set[str] = set()
    for s, section in enumerate(doc.sections, start=1):
        where = "" if len(doc.sections) == 1 else f" (section {s})"
        for label, part in (("header", section.header), ("first-page header", section.first_page_header),
                            ("even-page header", section.even_page_header), ("footer", section.footer),
                            ("first-page footer", section.first_page_footer),
                            ("even-page footer", section.even_page_footer)):
            if part.is_linked_to_previous or str(part.part.partname) in seen:
                continue
            seen.add(str(part.part.partname))
            out += [Line(f"{label}{where}", line.style, line.text, line.picture)
                    for line in _blocks(part._element, part, "")]
    return out


# ---- the defects ------------------------------------------------------------------------------------------------
PLURAL_NOUNS = ("queries", "counts", "rows", "subjects", "questions", "items", "statements", "authorities", "defenses",
                "acts", "days", "months", "years", "files", "events", "judgments")
_SECTION = re.compile(r"§§?\s*(?:U\.?\s?S\.?\s?C\b|\d{6,}|\d+\.\d+\.\d)")   # a California section: <= 5 digits, one point
_ELLIPSIS = re.compile(r"\.(?: \.){2,}")                                     # ". . ." as legal quotation writes it
_PUNCT = re.compile(r"(?<![./\\])\.\.(?![./\\])|,,|;;|,\.|;\.|:\.|(?<=\S) +\.(?=$|[\s\"')\]\u201d\u2019])")
_ESCAPED = re.compile(r"\\[\"'\u201c\u201d\u2018\u2019]")
_PLURAL = re.compile(r"(?<![\d.,$-])\b1 (?:" + "|".join(PLURAL_NOUNS) + r")\b|[A-Za-z]\((?:s|es|ies)\)")
_TAG = re.compile(r"\{\{|\}\}|\{%|%\}|\{#")
_RAW_ID = re.compile(r"(?i)\b(?:finding|fact|kb|narrative|computed):(?=[a-z])"
                     r"|(?-i:\b[a-z]+\.[a-z][a-z0-9]*(?:-[a-z0-9]+)+\b(?!\.[a-z]))")   # criminal.firearm-felony
# snake_case, unless it is part of a file name or a path (audit_log.csv, logs/audit_log) or an address
_SNAKE = re.compile(r"(?<![\w/\\-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w@/\\-])(?!\.[A-Za-z0-9]{1,5}(?![A-Za-z0-9]))")
# None/nan as a value: the whole line, or after a label's colon, "=", "(" or a list's comma, and ending there
_EMPTY = re.compile(r"(?:^|(?<=[:=(,] )|(?<=[:=(]))(?:None|nan|NaN|NaT)(?=\s*(?:$|[.,;)\]|]))|\[\]|\{\}")
CHECKS: tuple[tuple[str, Callable[[str], Iterable[re.Match[str]]]], ...] = (
    ("section-number", _SECTION.finditer),
    ("punctuation", lambda text: (m for m in _PUNCT.finditer(text) if not _in_ellipsis(text, m))),
    ("escaped-quote", _ESCAPED.finditer),
    ("plural", _PLURAL.finditer),
    ("template-tag", _TAG.finditer),
    ("raw-id", _RAW_ID.finditer),
    ("raw-value", lambda text: (*(m for m in _SNAKE.finditer(text) if not _in_raw_id(text, m)), *_EMPTY.finditer(text))),
)
BODY = re.compile(r"paragraph|table")


def _in_ellipsis(text: str, m: re.Match[str]) -> bool:
    """Whether a " ." hit is part of a spaced ellipsis (". . .")."""
    return any(e.start() <= m.end() - 1 < e.end() for e in _ELLIPSIS.finditer(text))


def _in_raw_id(text: str, m: re.Match[str]) -> bool:
    """Whether a snake_case hit is part of a raw id ("fact:harm_to_subject"), reported once as that."""
    token = re.split(r"[\s,;(\[]", text[:m.start()])[-1]
    return bool(_RAW_ID.search(token + m.group()))


def excerpt(text: str, start: int, end: int, width: int = 60) -> str:
    """About `width` characters of `text` around [start, end) (the hit nearer the middle), on one line."""
    begin = max(0, min(start - max(0, (width - (end - start)) // 2), len(text) - width))
    return " ".join(text[begin:max(end, begin + width)].split())


def level(style: str) -> int | None:
    """The level of a "Heading n" style, None for any other style."""
    m = re.fullmatch(r"Heading ([1-9])", style)
    return int(m.group(1)) if m else None


def _empty_headings(body: list[Line]) -> Iterator[Defect]:
    """Headings with no text, or with nothing under them: the next heading or content after one is a
    heading of the same or a higher level (a smaller number), or nothing follows at all. Content is
    a paragraph or table cell with text, or a picture."""
    items = [(line, level(line.style)) for line in body if level(line.style) is not None or line.text.strip()
             or line.picture]
    for i, (line, lvl) in enumerate(items):
        if lvl is None:
            continue
        after = items[i + 1] if i + 1 < len(items) else None
        if not line.text.strip():
            why = "(a heading with no text)"
        elif after is None:
            why = "(the last heading, with nothing after it)"
        elif after[1] is not None and after[1] <= lvl:
            why = f"(followed directly by the heading {after[0].text.strip()[:40]!r})"
        else:
            continue
        yield Defect("empty-heading", line.place, f"{line.text.strip()[:40]!r} {why}")


def defects(docx: bytes) -> list[Defect]:
    """The defects of a rendered memo's text, in document order: section numbers run together,
    doubled punctuation, escaped quotes, wrong plurals, unrendered template tags, raw ids and raw
    values, per line; then the empty headings of the body."""
    all_lines = lines(docx)
    out = [Defect(kind, line.place, excerpt(line.text, m.start(), m.end()))
           for line in all_lines for kind, find in CHECKS for m in find(line.text)]
    return out + list(_empty_headings([line for line in all_lines if BODY.match(line.place)]))
