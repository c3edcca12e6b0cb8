"""Page counts of a memo PDF: its pages' text (pdftotext), the number of pages, and the body's pages before the appendices."""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from assessment.firm.tmpfiles import root as private_tmp

APPENDICES = "Appendices"        # the contract with the memo: the appendices open with a Heading 1 of exactly this text
_CONTENTS = re.compile(r"(?i)(table of )?contents")


class MissingTool(RuntimeError):
    """pdftotext (poppler-utils) is not installed."""


def page_texts(pdf: bytes) -> list[str]:
    """The text of each page of the PDF, in order (pdftotext from poppler-utils, UTF-8, reading order).
    Raises MissingTool, naming the package to install, where pdftotext is not installed: a count of
    zero pages would read as a short memo."""
    tool = shutil.which("pdftotext")
    if not tool:
        raise MissingTool("pdftotext is not installed: install poppler-utils to count a memo's pages")
    with tempfile.TemporaryDirectory(dir=private_tmp()) as tmp:     # the memo's text: in the data folder's private tmp/
        src = Path(tmp) / "memo.pdf"
        src.write_bytes(pdf)
        out = subprocess.run([tool, "-enc", "UTF-8", str(src), "-"], check=True, capture_output=True, timeout=120)
    pages = out.stdout.decode("utf-8", errors="replace").split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages     # pdftotext ends each page with a form feed


def count(pdf: bytes) -> int:
    """The number of pages of the PDF."""
    return len(page_texts(pdf))


def first_appendix(texts: list[str]) -> int | None:
    """The index of the first page with a line that is exactly "Appendices", None without one. A page
    of contents (a line "Contents" or "Table of contents") is passed over: its "Appendices" is an entry."""
    for i, text in enumerate(texts):
        found = [line.strip() for line in text.splitlines()]
        if APPENDICES in found and not any(_CONTENTS.fullmatch(line) for line in found):
            return i
    return None


def body_pages(pdf: bytes) -> int:
    """The pages of the memo's body: those before the page the appendices begin on (the first page
    with a line exactly "Appendices"), or every page when the memo has no appendices."""
    texts = page_texts(pdf)
    start = first_appendix(texts)
    return len(texts) if start is None else start
