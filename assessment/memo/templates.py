"""Memo templates that firm staff own: upload a .docx, check it, keep every version, revert.

A template is refused, with the place named (paragraph, table cell, header or footer, and the
tag), unless
- it is a plain Word document: a ZIP within the size limits (no zip bomb), no macros, no
  embedded or ActiveX objects, no external links, no DTD in any XML part, and only the Word
  fields of ALLOWED_FIELDS (PAGE, DATE, TOC, REF, ...: none that fetches or links, such as
  INCLUDETEXT, INCLUDEPICTURE, HYPERLINK or DDE), each read whole across its runs;
- its Jinja tags parse and compile, use no `macro`, `call`, `include`, `import` or `extends`, and
  name only variables the memo provides;
- a test render on the built-in demo case succeeds (memo/sandbox.py: the bounded sandbox, in a
  process with CPU-time and memory limits), and the memo it renders passes the same scan of
  fields and links (check_rendered, which every memo passes before it is returned).
The checks of the package and the tags are here; the whole check with its test render is
`render.check_template`, which a save is handed (`check=`): this module keeps versions and never
renders, so it does not import render.

Versions live in the database (`template_versions`, the files encrypted in `blobs`), one row
per save (time, author, reason, file name, SHA-256), each save logged. The newest is the active
template; none means the built-in `templates/memo.docx`. A save names the version it replaces,
and is refused when someone else saved in between; only staff and administrators may save.
The services at the end open their own transaction, check the role and log, for the pages and
the command line."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from docx import Document
from docx.table import Table
from docx.text.paragraph import Paragraph
from jinja2 import TemplateSyntaxError, meta, nodes
from lxml import etree
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from assessment.core import settings
from assessment.core.errors import TP001, TP004, AssessmentError, Code, Problem
from assessment.firm import access_log, blobs, db, journal, uploads
from assessment.firm.context import Actor
from assessment.firm.matters import Ctx
from assessment.firm.tables import TemplateVersion
from assessment.memo.sandbox import sandbox

Checker = Callable[[bytes, str], list[Problem]]
"""The whole check of a template (render.check_template): its problems, [] when it may be used."""

FORBIDDEN_PARTS = (r"vbaProject\.bin$", r"(^|/)embeddings/", r"(^|/)activeX/", r"oleObject", r"\.(exe|dll|js|vbs)$")
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
RELATIONSHIP = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
FORBIDDEN_ELEMENTS = {W + "object": "an embedded object", W + "altChunk": "an imported external chunk (altChunk)",
                      W + "control": "an ActiveX control", W + "subDoc": "a linked subdocument"}
# Word fields (a <w:fldSimple w:instr="...">, or the <w:instrText> runs between a fldChar begin and
# its separate or end, joined) are judged by their first word against this ALLOW-list: each of
# these only numbers, dates, cross-references or repeats what the document holds.
ALLOWED_FIELDS = frozenset({
    "PAGE", "NUMPAGES", "SECTIONPAGES", "SECTION", "DATE", "TIME", "CREATEDATE", "SAVEDATE", "PRINTDATE", "EDITTIME",
    "TOC", "TC", "TOA", "TA", "XE", "INDEX", "PAGEREF", "REF", "NOTEREF", "SEQ", "STYLEREF", "LISTNUM", "AUTONUM",
    "AUTONUMLGL", "AUTONUMOUT", "SYMBOL", "NUMWORDS", "NUMCHARS", "TITLE", "SUBJECT", "AUTHOR", "KEYWORDS", "COMMENTS",
    "DOCPROPERTY", "QUOTE", "EQ", "ADVANCE", "="})
# named in the message as fetching or linking (everything not allowed is refused anyway)
FETCHING_FIELDS = frozenset({"INCLUDETEXT", "INCLUDEPICTURE", "INCLUDE", "HYPERLINK", "DDE", "DDEAUTO", "LINK",
                             "IMPORT", "DATABASE", "EMBED", "AUTOTEXT", "AUTOTEXTLIST", "GLOSSARY", "MACROBUTTON"})
FIELD_NAME = re.compile(r"\s*([^\s\\]+)")
FORBIDDEN_TAGS = {nodes.Macro: "macro", nodes.CallBlock: "call", nodes.Include: "include",
                  nodes.Import: "import", nodes.FromImport: "from ... import", nodes.Extends: "extends"}
DOCXTPL_PREFIX = re.compile(r"(\{[%{])\s*(?:p|tr|tc|r)\s")


@dataclass
class Version:
    id: int
    time: str
    author: str
    reason: str
    name: str          # the file name as uploaded
    sha: str


class Conflict(Exception):
    """The active template changed since the page was opened."""


def builtin() -> Path:
    return settings.REPO / "templates" / "memo.docx"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---- checks ----------------------------------------------------------------------------------------
def _p(message: str, name: str, where: str | None = None, hint: str | None = None) -> Problem:
    return Problem(TP001, message, file=name, field=where, hint=hint)


def check_package(data: bytes, name: str) -> list[Problem]:
    """The container: size, ZIP, zip bomb and DTDs (uploads.check_zip), then macros, embedded
    objects, external links and fields that fetch outside content."""
    if problems := uploads.check_zip(data, name, TP001, uploads.DOCX_LIMITS, must_have="word/document.xml",
                                     kind="Word .docx file",
                                     hint="save it from Word as 'Word Document (.docx)'; .doc and .docm are refused"):
        return problems
    zf = zipfile.ZipFile(io.BytesIO(data))
    infos = zf.infolist()
    problems = []
    names = [i.filename for i in infos]
    if "[Content_Types].xml" not in names or "word/document.xml" not in names:
        return [_p("this ZIP is not a Word document (no word/document.xml)", name)]
    try:
        ctypes = zf.read("[Content_Types].xml")
        if b"macroEnabled" in ctypes:
            problems.append(_p("the template is macro-enabled", name, "[Content_Types].xml",
                               hint="save it as 'Word Document (.docx)', not .docm"))
        problems += scan_parts(zf, name)
    except (KeyError, zipfile.BadZipFile, OSError, RuntimeError) as exc:
        problems.append(_p(f"the .docx cannot be read: {exc}", name))
    return problems


def check_rendered(data: bytes, name: str) -> list[Problem]:
    """The memo a template rendered, checked as an upload is (scan_parts): a field that fetches or
    links, an external link or an embedded object in the OUTPUT is refused (TP004), whatever tag
    wrote it. `name` is the template's."""
    try:
        return scan_parts(zipfile.ZipFile(io.BytesIO(data)), name, code=TP004, what="the rendered memo")
    except (KeyError, zipfile.BadZipFile, OSError, RuntimeError) as exc:
        return [Problem(TP004, f"the rendered memo cannot be read: {exc}", file=name)]


def scan_parts(zf: zipfile.ZipFile, name: str, code: Code = TP001, what: str = "the template") -> list[Problem]:
    """Parts that are macros, embedded objects or programs; external relationships in every .rels
    part; embedded objects, altChunk, ActiveX controls and fields outside ALLOWED_FIELDS in every
    word/ part. Parts are parsed (namespaces, not prefixes, decide), with entities and DTDs left
    unresolved. One problem per part and kind."""
    problems: list[Problem] = []
    where = "" if what == "the template" else f" of {what}"          # a place in the output, not the template
    for info in zf.infolist():
        n = info.filename
        if any(re.search(rx, n, re.IGNORECASE) for rx in FORBIDDEN_PARTS):
            kind = "macros" if "vba" in n.lower() else "an embedded object or program"
            problems.append(Problem(code, f"{what} holds {kind} ({n})", file=name, field=n,
                                    hint="templates may hold text, styles, tables and pictures only"))
        if not (n.endswith(".rels") or (n.startswith("word/") and n.endswith(".xml"))):
            continue
        part = zf.read(n)
        if not _may_hold(part, SCANNED_NAMES[n.endswith(".rels")]):
            continue
        try:
            root = etree.fromstring(part, etree.XMLParser(resolve_entities=False, no_network=True,
                                                          load_dtd=False, huge_tree=False))
        except etree.XMLSyntaxError as exc:
            problems.append(Problem(code, f"part {n} of {what} is not well-formed XML: {exc}", file=name, field=n))
            continue
        if n.endswith(".rels"):
            for rel in root.iter(RELATIONSHIP):
                if (rel.get("TargetMode") or "").strip().lower() == "external":
                    problems.append(Problem(code, f"{what} holds an external link to {rel.get('Target', '?')[:200]}",
                                            file=name, field=n,
                                            hint="templates may not link or load anything from outside"))
                    break
            continue
        seen = set()
        for el in root.iter(*FORBIDDEN_ELEMENTS):
            if el.tag not in seen:
                seen.add(el.tag)
                problems.append(Problem(code, f"{what} holds {FORBIDDEN_ELEMENTS[el.tag]}", file=name,
                                        field=_xml_place(el, n) + where))
        for instr, el in _fields(root):
            match = FIELD_NAME.match(instr)
            word = match.group(1).upper() if match else ""
            if not word or word.startswith("=") or word in ALLOWED_FIELDS or word in seen:
                continue
            seen.add(word)
            if word in FETCHING_FIELDS:
                message = f"{what} holds a {word} field, which fetches or links outside content"
            elif "{" in word:
                message = f"{what} holds a field whose name is a template tag ({word[:40]})"
            else:
                message = f"{what} holds a {word} field, which is not among the fields a memo may hold"
            problems.append(Problem(code, message, file=name, field=_xml_place(el, n) + where,
                                    hint=f"the field reads {instr.strip()[:120]!r}; a memo may hold only the fields "
                                         "PAGE, NUMPAGES, DATE, TOC, REF, PAGEREF, SEQ and the like; write a web address "
                                         "as plain text; paste pictures in, do not link them"))
    return problems


def _may_hold(part: bytes, names: tuple[bytes, ...]) -> bool:
    """False only for a UTF-8 (or ASCII) part whose bytes hold none of `names`, the element and
    attribute names the scan looks for: such a part need not be parsed (styles.xml is 350 KB).
    Names cannot be written with character references, so the test is exact; a part in any other
    encoding is always parsed."""
    declared = re.match(rb"(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']*)", part[:300])
    if part[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in part[:300] or \
            (declared and declared.group(1).lower().replace(b"-", b"") not in (b"utf8", b"ascii", b"usascii")):
        return True
    return any(name in part for name in names)


# what must appear, byte for byte, in a part the scan has to parse: [word part, .rels part]
SCANNED_NAMES = ((b"nstrText", b"fldSimple", b"object", b"altChunk", b"control", b"subDoc"), (b"TargetMode",))


def _fields(root) -> Iterator[tuple[str, object]]:
    """(instruction, element) of every field in a part, in document order: a fldSimple's
    instruction; a complex field's <w:instrText> runs from its fldChar begin to its separate (or
    end) joined, so `INCL` + `UDEPICTURE` in two runs reads INCLUDEPICTURE; nested fields each
    on their own; an instruction run outside any field on its own."""
    stack: list[list] = []         # [instruction texts, first element, finished]
    for el in root.iter(W + "fldSimple", W + "fldChar", W + "instrText", W + "delInstrText"):
        if el.tag == W + "fldSimple":
            yield el.get(W + "instr") or "", el
        elif el.tag == W + "fldChar":
            kind = el.get(W + "fldCharType")
            if kind == "begin":
                stack.append([[], el, False])
            elif stack and kind in ("separate", "end"):
                texts, first, finished = stack[-1]
                if not finished:
                    stack[-1][2] = True
                    yield "".join(texts), first
                if kind == "end":
                    stack.pop()
        elif stack and not stack[-1][2]:
            stack[-1][0].append(el.text or "")
        else:
            yield el.text or "", el
    for texts, first, finished in stack:
        if not finished:
            yield "".join(texts), first


def _xml_place(el, part: str) -> str:
    """Where an element sits, named as located_text names places: paragraph N or table T, row R,
    cell C of the body; in other parts the part and its paragraph."""
    chain = [el, *el.iterancestors()]
    if part == "word/document.xml":
        body = next((i for i, a in enumerate(chain) if a.tag == W + "body"), None)
        if body:
            top = chain[body - 1]
            if top.tag == W + "p":
                return f"paragraph {sum(1 for _ in top.itersiblings(W + 'p', preceding=True)) + 1}"
            if top.tag == W + "tbl":
                where = f"table {sum(1 for _ in top.itersiblings(W + 'tbl', preceding=True)) + 1}"
                row = next((a for a in chain if a.tag == W + "tr" and a.getparent() is top), None)
                cell = next((a for a in chain if a.tag == W + "tc" and row is not None and a.getparent() is row), None)
                if row is not None:
                    where += f", row {sum(1 for _ in row.itersiblings(W + 'tr', preceding=True)) + 1}"
                if cell is not None:
                    where += f", cell {sum(1 for _ in cell.itersiblings(W + 'tc', preceding=True)) + 1}"
                return where
    para = next((a for a in chain if a.tag == W + "p"), None)
    if para is not None:
        root = chain[-1]
        index = next((i for i, p in enumerate(root.iter(W + "p"), 1) if p is para), None)
        if index:
            return f"{part}, paragraph {index}"
    return part


def located_text(data: bytes) -> list[tuple[str, str]]:
    """(place, text) for every paragraph of the body, each table cell, headers and footers, in order."""
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


def line_place(lines: list[tuple[str, str]], lineno: int | None) -> tuple[str | None, str]:
    """(place, text) of line `lineno` (1-based) of `located_text`; (None, "") when there is none."""
    if not lineno or lineno > len(lines):
        return None, ""
    place, text = lines[lineno - 1]
    return place, text


def check_tags(data: bytes, name: str, variables: set[str]) -> list[Problem]:
    """Jinja syntax, forbidden statements and unknown variables, each with its place."""
    try:
        lines = located_text(data)
    except Exception as exc:  # noqa: BLE001 - python-docx raises many kinds on a broken part
        return [_p(f"the document body cannot be read: {exc}", name)]
    source = "\n".join(DOCXTPL_PREFIX.sub(r"\1 ", t) for _, t in lines)
    env = sandbox()
    try:
        ast = env.parse(source)
    except TemplateSyntaxError as exc:
        place, text = line_place(lines, exc.lineno)
        return [_p(f"the tags do not parse: {exc.message}", name, place,
                   hint=f"the text there reads: {text[:120]!r}" if text else "check that every {% if %} and {% for %} "
                   "has its {% endif %} or {% endfor %}")]
    problems = []
    for cls, word in FORBIDDEN_TAGS.items():
        for node in ast.find_all(cls):
            place, text = line_place(lines, node.lineno)
            problems.append(_p(f"`{word}` is not allowed in a memo template", name, place,
                               hint=f"the text there reads: {text[:120]!r}"))
    try:
        undeclared = meta.find_undeclared_variables(ast)     # compiles: an unknown filter or test fails here
    except TemplateSyntaxError as exc:
        place, text = line_place(lines, exc.lineno)
        return problems + [_p(f"the tags cannot be compiled: {exc.message}", name, place,
                              hint=(f"the text there reads: {text[:120]!r}; " if text else "") +
                              "a memo template has Jinja's filters except safe, urlize and xmlattr")]
    for var in sorted(undeclared - variables):
        i = next((n for n, (_, t) in enumerate(lines, 1) if re.search(rf"\b{re.escape(var)}\b", t)), None)
        place, text = line_place(lines, i)
        problems.append(_p(f"unknown variable `{var}`", name, place,
                           hint="the memo provides: " + ", ".join(sorted(variables))))
    return problems



# ---- versions ----------------------------------------------------------------------------------------
def _version(row: TemplateVersion) -> Version:
    return Version(id=row.id, time=row.time.strftime("%Y%m%dT%H%M%S.%fZ"), author=row.author, reason=row.reason,
                   name=row.name, sha=row.sha256)


def history(s: Session) -> list[Version]:
    """Every saved version, newest first."""
    return [_version(r) for r in s.execute(select(TemplateVersion).order_by(TemplateVersion.id.desc())).scalars()]


def active(s: Session) -> tuple[bytes, Version | None]:
    """The template memos use now (its bytes, decrypted and checked against its SHA-256) and its
    version (None: the built-in one)."""
    row = s.execute(select(TemplateVersion).order_by(TemplateVersion.id.desc()).limit(1)).scalar_one_or_none()
    if row is None:
        return builtin().read_bytes(), None
    return blobs.get(s, row.sha256, row.name), _version(row)


def active_sha(s: Session) -> str:
    row = s.execute(select(TemplateVersion.sha256).order_by(TemplateVersion.id.desc()).limit(1)).scalar_one_or_none()
    return row or sha(builtin().read_bytes())


def save(s: Session, user, data: bytes, name: str, *, author: str, reason: str, base_sha: str, check: Checker,
         source: str = "", place: str = "") -> Version:
    """Check a template with `check` (render.check_template) and store it (encrypted) as the new
    active version, logged; or raise AssessmentError (refused; nothing stored), Conflict (someone
    saved since `base_sha` was read) or Forbidden (the user's role may not edit templates)."""
    return _store(s, user, data, name, author=author, reason=reason, base_sha=base_sha, check=check, source=source,
                  place=place)


def _store(s: Session, user, data: bytes, name: str, *, author: str, reason: str, base_sha: str,
           check: Checker | None, source: str, place: str) -> Version:
    """`save`; `check` None only for the built-in template, which ships with the code."""
    access_log.authorize(s, Actor(user, source, place), "template.edit", event="template-save",
                         object_type="template")
    if not author.strip() or not reason.strip():
        raise AssessmentError([_p("a template change needs the editor's name and a reason", name)])
    problems = check(data, name) if check else []
    if problems:
        raise AssessmentError(problems)
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})      # one save at a time
    current = s.execute(select(TemplateVersion).order_by(TemplateVersion.id.desc()).limit(1)).scalar_one_or_none()
    if active_sha(s) != base_sha:
        who = f" by {current.author} at {current.time:%Y-%m-%d %H:%M:%S} UTC ({current.reason})" if current else ""
        raise Conflict(f"the memo template was changed{who} after you opened this page; nothing was saved. "
                       "Reload the page and upload again.")
    row = TemplateVersion(author=author.strip()[:120], author_id=getattr(user, "id", None), reason=reason.strip()[:500],
                          name=Path(name).name[:255], sha256=blobs.put(s, data))
    s.add(row)
    s.flush()
    access_log.record(s, actor=access_log.actor_id(user), event="template-save", object_type="template",
                      object_id=row.id, reason=f"{row.name}, SHA-256 {row.sha256[:16]}", source=source, place=place)
    return _version(row)


def revert(s: Session, user, version: Version | None, *, author: str, reason: str, base_sha: str, check: Checker,
           source: str = "", place: str = "") -> Version:
    """Make an earlier version (None: the built-in template) active again, as a new version; an old
    upload is checked again with `check`."""
    if version is None:
        data, name, label = builtin().read_bytes(), builtin().name, "the built-in template"
    else:
        data, name, label = blobs.get(s, version.sha, version.name), version.name, \
            f"the version of {version.time} ({version.name})"
    return _store(s, user, data, name, author=author, reason=f"revert to {label}: {reason}", base_sha=base_sha,
                  check=None if version is None else check, source=source, place=place)


_PG_LOCK = 731_143


# ---- services: each in its own transaction, for the pages and the command line -----------------------
def current() -> tuple[bytes, Version | None]:
    """The template memos use now and its version (None: the built-in one), read to render a memo."""
    with db.session() as s:
        return active(s)


def listing(who: Actor) -> tuple[Version | None, str, list[Version]]:
    """For the Memo templates page (staff and administrators): the active version (None: the
    built-in template), the SHA-256 a save must name as the one it replaces, and every version,
    newest first. A refusal is logged, as "template-list"."""
    with db.session() as s:
        access_log.authorize(s, who, "template.edit", event="template-list", object_type="template")
        return active(s)[1], active_sha(s), history(s)


def export_active(ctx: Ctx) -> bytes:
    """The active template as a download (in the caller's transaction, for a session checked just
    now): for staff and administrators, logged as an export (a refusal too)."""
    access_log.authorize(ctx.s, ctx.who, "template.edit", event="export", object_type="template")
    data, version = active(ctx.s)
    ctx.log("export", None, object_type="template", object_id=str(version.id) if version else "built-in",
            reason="memo template")
    return data


def upload(who: Actor, data: bytes, name: str, *, author: str, reason: str, base_sha: str, check: Checker) -> Version:
    """`save` in its own transaction, for `who`."""
    with db.session() as s:
        return save(s, who.user, data, name, author=author, reason=reason, base_sha=base_sha, check=check,
                    source=who.source, place=who.place)


def restore(who: Actor, version: Version | None, *, author: str, reason: str, base_sha: str,
            check: Checker) -> Version:
    """`revert` in its own transaction, for `who`."""
    with db.session() as s:
        return revert(s, who.user, version, author=author, reason=reason, base_sha=base_sha, check=check,
                      source=who.source, place=who.place)


def import_files(s: Session, folder: Path) -> tuple[int, list[str]]:
    """Template versions an earlier version of the app kept as files (`templates/log.jsonl` and
    `versions/`): each into the database, oldest first, with its author, reason and time, if its
    file matches the SHA-256 the log recorded. Returns how many, and the versions left out."""
    log = folder / "log.jsonl"
    if not log.exists():
        return 0, []
    n, left = 0, []
    for rec in reversed(journal.read(log)):            # oldest first, so the newest stays active
        try:
            data = (folder / rec["file"]).read_bytes()
            when = dt.datetime.strptime(rec["time"], "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=dt.UTC)
            if sha(data) != rec["sha"] or "/.." in f"/{rec['file']}":
                raise ValueError("does not match its SHA-256")
        except (OSError, KeyError, ValueError, TypeError):
            left.append(str(rec.get("file")))
            continue
        s.add(TemplateVersion(time=when, author=str(rec.get("author", ""))[:120], reason=str(rec.get("reason", ""))[:500],
                              name=str(rec.get("name", ""))[:255], sha256=blobs.put(s, data)))
        n += 1
    s.flush()
    return n, left
