"""Memo templates that firm staff own: upload a .docx, check it, keep every version, revert.

A template is refused, with the place named (paragraph, table cell, header or footer, and the
tag), unless
- it is a plain Word document: a ZIP within the size limits (no zip bomb), no macros, no
  embedded or ActiveX objects, no external links or fields that fetch content (INCLUDETEXT,
  INCLUDEPICTURE, DDE), no DTD in any XML part;
- its Jinja tags parse, use no `macro`, `call`, `include`, `import` or `extends`, and name only
  variables the memo provides;
- a test render on the built-in demo case succeeds in the sandbox (autoescape, strict undefined).

Versions live in `$CLETS_DATA_DIR/templates/`: `versions/<time>-<sha>.docx` and `log.jsonl`, one
line per save (time, author, reason, file name, SHA-256). The newest entry is the active template;
none means the built-in `templates/memo.docx`. A save names the version it replaces, and is
refused when someone else saved in between."""
from __future__ import annotations

import copy
import functools
import datetime as dt
import hashlib
import io
import re
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from jinja2 import TemplateSyntaxError, meta, nodes

from . import journal, uploads
from .datadir import data_dir
from .errors import AssessmentError, Problem
from .yamlio import write_atomic

FORBIDDEN_PARTS = (r"vbaProject\.bin$", r"(^|/)embeddings/", r"(^|/)activeX/", r"oleObject", r"\.(exe|dll|js|vbs)$")
FORBIDDEN_XML = [(re.compile(rb"<w:object\b"), "an embedded object"),
                 (re.compile(rb"<w:altChunk\b"), "an imported external chunk (altChunk)")]
# field codes, in <w:instrText> runs or <w:fldSimple w:instr="...">, that fetch or link outside content
FIELD_CODE = re.compile(rb"<w:instrText\b[^>]*>([^<]*)<|<w:fldSimple\b[^>]*\bw:instr=\"([^\"]*)\"")
FORBIDDEN_FIELDS = re.compile(rb"^\s*(INCLUDETEXT|INCLUDEPICTURE|DDEAUTO|DDE|IMPORT|LINK|HYPERLINK)\b", re.I)
FORBIDDEN_TAGS = {nodes.Macro: "macro", nodes.CallBlock: "call", nodes.Include: "include",
                  nodes.Import: "import", nodes.FromImport: "from ... import", nodes.Extends: "extends"}
DOCXTPL_PREFIX = re.compile(r"(\{[%{])\s*(?:p|tr|tc|r)\s")


@dataclass
class Version:
    time: str
    author: str
    reason: str
    name: str          # the file name as uploaded
    sha: str
    file: str          # path under the store, versions/...


class Conflict(Exception):
    """The active template changed since the page was opened."""


def store_dir() -> Path:
    return data_dir() / "templates"


def builtin() -> Path:
    return Path(__file__).resolve().parent.parent / "templates" / "memo.docx"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---- checks ----------------------------------------------------------------------------------------
def _p(message: str, name: str, where: str | None = None, hint: str | None = None) -> Problem:
    return Problem("TP001", message, file=name, field=where, hint=hint)


def check_package(data: bytes, name: str) -> list[Problem]:
    """The container: size, ZIP, zip bomb and DTDs (uploads.check_zip), then macros, embedded
    objects, external links and fields that fetch outside content."""
    if problems := uploads.check_zip(data, name, "TP001", uploads.DOCX_LIMITS, must_have="word/document.xml",
                                     kind="Word .docx file",
                                     hint="save it from Word as 'Word Document (.docx)'; .doc and .docm are refused"):
        return problems
    zf = zipfile.ZipFile(io.BytesIO(data))
    infos = zf.infolist()
    problems = []
    names = [i.filename for i in infos]
    if "[Content_Types].xml" not in names or "word/document.xml" not in names:
        return [_p("this ZIP is not a Word document (no word/document.xml)", name)]
    for n in names:
        for rx in FORBIDDEN_PARTS:
            if re.search(rx, n, re.I):
                what = "macros" if "vba" in n.lower() else "an embedded object or program"
                problems.append(_p(f"the template holds {what} ({n})", name, n,
                                   hint="templates may hold text, styles, tables and pictures only"))
    try:
        ctypes = zf.read("[Content_Types].xml")
        if b"macroEnabled" in ctypes:
            problems.append(_p("the template is macro-enabled", name, "[Content_Types].xml",
                               hint="save it as 'Word Document (.docx)', not .docm"))
        for n in names:
            if not n.endswith((".xml", ".rels")):
                continue
            part = zf.read(n)
            if n.endswith(".rels"):
                for m in re.finditer(rb'<Relationship\b[^>]*>', part):
                    rel = m.group(0)
                    if re.search(rb'TargetMode\s*=\s*"External"', rel):
                        target = re.search(rb'Target\s*=\s*"([^"]*)"', rel)
                        problems.append(_p(f"an external link to {target.group(1).decode('utf-8', 'replace') if target else '?'}",
                                           name, n, hint="templates may not link or load anything from outside"))
            elif n.startswith("word/"):
                for rx, what in FORBIDDEN_XML:
                    if rx.search(part):
                        problems.append(_p(f"the template holds {what}", name, n))
                for m in FIELD_CODE.finditer(part):
                    field = FORBIDDEN_FIELDS.match(m.group(1) or m.group(2) or b"")
                    if field:
                        problems.append(_p(f"the template holds a {field.group(1).decode().upper()} field, which fetches "
                                           "or links outside content", name, n,
                                           hint="write a web address as plain text; paste pictures in, do not link them"))
                        break
    except (KeyError, zipfile.BadZipFile, OSError, RuntimeError) as exc:
        problems.append(_p(f"the .docx cannot be read: {exc}", name))
    return problems


def located_text(data: bytes) -> list[tuple[str, str]]:
    """(place, text) for every paragraph of the body, each table cell, headers and footers, in order."""
    from docx import Document
    from docx.table import Table
    from docx.text.paragraph import Paragraph
    doc = Document(io.BytesIO(data))
    out: list[tuple[str, str]] = []
    para = table = 0
    for child in doc.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            para += 1
            out.append((f"paragraph {para}", Paragraph(child, doc).text))
        elif tag == "tbl":
            table += 1
            for r, row in enumerate(Table(child, doc).rows, 1):
                for c, cell in enumerate(row.cells, 1):
                    out += [(f"table {table}, row {r}, cell {c}", p.text) for p in cell.paragraphs]
    for s, section in enumerate(doc.sections, 1):
        for part, label in ((section.header, "header"), (section.footer, "footer")):
            out += [(f"{label} of section {s}, paragraph {i}", p.text) for i, p in enumerate(part.paragraphs, 1)]
    return out


def _where(lines: list[tuple[str, str]], lineno: int | None) -> tuple[str | None, str]:
    if not lineno or lineno > len(lines):
        return None, ""
    place, text = lines[lineno - 1]
    return place, text


def check_tags(data: bytes, name: str, variables: set[str]) -> list[Problem]:
    """Jinja syntax, forbidden statements and unknown variables, each with its place."""
    from .memo import sandbox
    try:
        lines = located_text(data)
    except Exception as exc:  # noqa: BLE001 - python-docx raises many kinds on a broken part
        return [_p(f"the document body cannot be read: {exc}", name)]
    source = "\n".join(DOCXTPL_PREFIX.sub(r"\1 ", t) for _, t in lines)
    env = sandbox()
    try:
        ast = env.parse(source)
    except TemplateSyntaxError as exc:
        place, text = _where(lines, exc.lineno)
        return [_p(f"the tags do not parse: {exc.message}", name, place,
                   hint=f"the text there reads: {text[:120]!r}" if text else "check that every {% if %} and {% for %} "
                   "has its {% endif %} or {% endfor %}")]
    problems = []
    for cls, word in FORBIDDEN_TAGS.items():
        for node in ast.find_all(cls):
            place, text = _where(lines, node.lineno)
            problems.append(_p(f"`{word}` is not allowed in a memo template", name, place,
                               hint=f"the text there reads: {text[:120]!r}"))
    for var in sorted(meta.find_undeclared_variables(ast) - variables):
        i = next((n for n, (_, t) in enumerate(lines, 1) if re.search(rf"\b{re.escape(var)}\b", t)), None)
        place, text = _where(lines, i)
        problems.append(_p(f"unknown variable `{var}`", name, place,
                           hint="the memo provides: " + ", ".join(sorted(variables))))
    return problems


def check(data: bytes, name: str = "template.docx") -> list[Problem]:
    """Every check, ending with a test render on the built-in demo case."""
    problems = check_package(data, name)
    if problems:
        return problems
    from . import memo
    result, case = demo_case()
    variables = set(memo.context(result, case)) | {"charts"}
    problems = check_tags(data, name, variables)
    if problems:
        return problems
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.docx"
        path.write_bytes(data)
        try:
            memo.render(result, case, template=path)
        except AssessmentError as exc:
            lines = located_text(data)
            out = []
            for p in exc.problems:
                attr = re.search(r"has no attribute '([^']+)'|'([^']+)' is undefined|attribute '([^']+)'", p.message)
                word = next((g for g in attr.groups() if g), None) if attr else None
                i = next((n for n, (_, t) in enumerate(lines, 1) if word and re.search(rf"\b{re.escape(word)}\b", t)), None)
                place, _ = _where(lines, i)
                out.append(_p(f"the test render on the demo case failed: {p.message}", name, place,
                              hint="the tag names a field the memo does not provide, or uses it the wrong way"))
            return out
    return []


@functools.lru_cache(maxsize=1)
def _demo() -> tuple[dict, object]:
    from . import assess, casefile, kb as kbmod, synth
    kb = kbmod.load()
    folder = synth.demo_dir() / "off-duty-lookups"
    case = casefile.load(folder / "case.yaml", kb)
    return assess.assess(case, kb, folder), case


def demo_case() -> tuple[dict, object]:
    """The assessment of the built-in demo case the checks render (computed once per process)."""
    result, case = _demo()
    return copy.deepcopy(result), case


# ---- versions --------------------------------------------------------------------------------------
def history() -> list[Version]:
    return [Version(**r) for r in journal.read(store_dir() / "log.jsonl")]


def active() -> tuple[Path, Version | None]:
    """The template memos use now, and its version (None: the built-in one)."""
    versions = history()
    if versions:
        return store_dir() / versions[0].file, versions[0]
    return builtin(), None


def active_sha() -> str:
    path, _ = active()
    return sha(path.read_bytes())


def save(data: bytes, name: str, *, author: str, reason: str, base_sha: str,
         now: dt.datetime | None = None, checked: bool = False) -> Version:
    """Check and store a template as the new active version, or raise AssessmentError (refused;
    nothing stored) or Conflict (someone saved since `base_sha` was read)."""
    if not author.strip() or not reason.strip():
        raise AssessmentError([_p("a template change needs the editor's name and a reason", name)])
    problems = [] if checked else check(data, name)
    if problems:
        raise AssessmentError(problems)
    with journal.locked(store_dir()):
        current_path, current = active()
        if sha(current_path.read_bytes()) != base_sha:
            who = f" by {current.author} at {current.time} ({current.reason})" if current else ""
            raise Conflict(f"the memo template was changed{who} after you opened this page; nothing was saved. "
                           "Reload the page and upload again.")
        stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y%m%dT%H%M%S.%fZ")
        digest = sha(data)
        rel = f"versions/{stamp}-{digest[:12]}.docx"
        write_atomic(store_dir() / rel, data)
        version = Version(time=stamp, author=author.strip(), reason=reason.strip(), name=Path(name).name, sha=digest,
                          file=rel)
        journal.append(store_dir() / "log.jsonl", asdict(version))
    return version


def revert(version: Version | None, *, author: str, reason: str, base_sha: str) -> Version:
    """Make an earlier version (None: the built-in template) active again, as a new version."""
    path = builtin() if version is None else store_dir() / version.file
    label = "the built-in template" if version is None else f"the version of {version.time} ({version.name})"
    return save(path.read_bytes(), path.name if version is None else version.name, author=author,
                reason=f"revert to {label}: {reason}", base_sha=base_sha)
