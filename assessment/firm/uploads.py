"""Checks on every uploaded file before anything reads it, and on every cell the app exports.

- size: at most 25 MB as uploaded (Streamlit's `maxUploadSize` enforces the same on the server);
- type by content, not by name: the first bytes must fit the kind of file expected;
- ZIP packages (XLSX, DOCX, case bundles): a bounded number of parts, total unpacked size and
  expansion ratio (zip bombs), no absolute or `..` paths, no macros; every XML part's prolog is
  free of DTDs and entities, and the small XML parts are parsed with defusedxml;
- gzip: the whole stream is decompressed once, counting, and refused past its limit;
- exports: a text cell that a spreadsheet would run as a formula is prefixed with a quote."""
from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from xml.etree.ElementTree import ParseError
from xml.parsers import expat
from xml.parsers.expat import ExpatError

from defusedxml import DefusedXmlException, DTDForbidden, ElementTree, EntitiesForbidden, ExternalReferenceForbidden

from assessment.core.errors import EV002, Code, Problem

MB = 2**20
MAX_UPLOAD = 25 * MB


@dataclass(frozen=True)
class ZipLimits:
    parts: int
    unpacked: int      # all parts together
    ratio: int         # unpacked / packed, for any part above 1 MB
    packed: int = MAX_UPLOAD
    part_caps: tuple[tuple[str, int], ...] = ()    # (regular expression on the part's name, most it may unpack to)

    def part_cap(self, name: str) -> int | None:
        """The most the part `name` may unpack to, if a cap names it (the first that matches)."""
        return next((cap for pattern, cap in self.part_caps if re.fullmatch(pattern, name, re.IGNORECASE)), None)


# A worksheet part is read streaming, row by row, and the shared strings are held as their text: the caps
# bound the time and the memory of one workbook. A 25 MB upload of an agency log (the most the app
# takes) unpacked to 168 MB of sheet XML and 15 MB of shared strings written as Excel writes them, to
# 140 MB and 49 MB when every text cell differs (benchmarks/xlsx_scale.py --mb 25), and to 235 MB of
# sheet when the strings are inline (openpyxl's way: 9.4 times the upload); the caps leave room above.
XLSX_SHEET_PART = 320 * MB
XLSX_STRINGS_PART = 128 * MB
XLSX_LIMITS = ZipLimits(parts=10_000, unpacked=500 * MB, ratio=250,
                        part_caps=((r"xl/worksheets/[^/]+\.xml", XLSX_SHEET_PART),
                                   (r"xl/sharedStrings\.xml", XLSX_STRINGS_PART)))
BUNDLE = ZipLimits(parts=200, unpacked=500 * MB, ratio=250)
DOCX_LIMITS = ZipLimits(parts=1000, unpacked=60 * MB, ratio=100, packed=10 * MB)
GZIP_UNPACKED = 1024 * MB
SMALL_XML = 2 * MB                              # parts parsed in full with defusedxml
XML_CHUNK = 1 << 16                             # XML read this much at a time (and expat's text buffer)

BINARY_MAGIC = [(b"PK\x03\x04", "a ZIP package"), (b"\xd0\xcf\x11\xe0", "an old Office file (.xls or .doc)"),
                (b"%PDF", "a PDF"), (b"MZ", "a Windows program"), (b"\x7fELF", "a program"),
                (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
                (b"\x1f\x8b", "a gzip file"), (b"7z\xbc\xaf", "a 7-Zip archive"), (b"Rar!", "a RAR archive")]
_MACRO_PART = re.compile(r"vbaProject\.bin$|(^|/)activeX/|\.(exe|dll|js|vbs|bat|cmd|ps1)$", re.I)


def _p(code: Code, message: str, name: str, where: str | None = None, hint: str | None = None) -> Problem:
    return Problem(code, message, file=name, field=where, hint=hint)


def safe_cell(value):
    """A value for a CSV or spreadsheet export: text starting with = + - @ or a control character
    gets a leading quote, so no spreadsheet runs it as a formula."""
    if isinstance(value, str) and value and (value[0] in "=+-@" or ord(value[0]) < 32):
        return "'" + value
    return value


def what_is(head: bytes) -> str | None:
    for magic, what in BINARY_MAGIC:
        if head.startswith(magic):
            return what
    return None


def check_size(data: bytes, name: str, code: Code, limit: int = MAX_UPLOAD, hint: str = "split the export by date range"
               ) -> list[Problem]:
    if len(data) > limit:
        return [_p(code, f"the file is {len(data) / MB:.1f} MB; it may be at most {limit // MB} MB", name, hint=hint)]
    return []


def check_text(data: bytes, name: str, code: Code) -> list[Problem]:
    """A text file (CSV, YAML): no binary signature, no NUL bytes outside UTF-16."""
    if problems := check_size(data, name, code):
        return problems
    what = what_is(data[:8])
    if what:
        return [_p(code, f"this is {what}, not a text file", name,
                   hint="save it as CSV (UTF-8)" if "Office" in what or "ZIP" in what else None)]
    head = data[:65536]
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        line = head[:head.index(b"\x00")].count(b"\n") + 1
        return [Problem(code, "the file holds NUL bytes: it is binary or damaged", file=name, line=line)]
    return []


def check_zip(data: bytes, name: str, code: Code, limits: ZipLimits, must_have: str | None = None,
              kind: str = "package", hint: str | None = None) -> list[Problem]:
    """A ZIP package within its limits: see the module's docstring."""
    if problems := check_size(data, name, code, limits.packed, hint or "split it"):
        return problems
    if not data.startswith(b"PK\x03\x04"):
        what = what_is(data[:8])
        return [_p(code, f"this is not a {kind} (no ZIP signature{': it is ' + what if what else ''})", name, hint=hint)]
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return [_p(code, f"the {kind} is damaged: {exc}", name)]
    if len(infos) > limits.parts:
        return [_p(code, f"the {kind} holds {len(infos)} parts (at most {limits.parts})", name)]
    total = sum(i.file_size for i in infos)
    if total > limits.unpacked:
        return [_p(code, f"the {kind} unpacks to {total / MB:.0f} MB (at most {limits.unpacked // MB} MB): refused as "
                         "a possible zip bomb", name)]
    problems = []
    for i in infos:
        cap = limits.part_cap(i.filename)
        if cap is not None and i.file_size > cap:
            return [_p(code, f"part {i.filename} unpacks to {i.file_size / MB:.0f} MB (at most {cap // MB} MB for this "
                             "part): refused as too large to read", name, i.filename,
                       hint="split the export by date range, or export it as CSV")]
        if i.file_size > MB and i.file_size > limits.ratio * max(i.compress_size, 1):
            return [_p(code, f"part {i.filename} expands {i.file_size / max(i.compress_size, 1):.0f} times (at most "
                             f"{limits.ratio}): refused as a possible zip bomb", name, i.filename)]
        if i.filename.startswith(("/", "\\")) or ".." in re.split(r"[\\/]", i.filename) or ":" in i.filename:
            problems.append(_p(code, f"part {i.filename!r} points outside the package", name, i.filename))
        if _MACRO_PART.search(i.filename):
            problems.append(_p(code, f"the {kind} holds macros or a program ({i.filename})", name, i.filename))
    if problems:
        return problems
    names = {i.filename for i in infos}
    if must_have and must_have not in names:
        return [_p(code, f"this ZIP is not a {kind} (no {must_have})", name)]
    for i in infos:
        if not i.filename.endswith((".xml", ".rels")):
            continue
        try:
            problems += _check_xml(zf, i, name, code)
        except (zipfile.BadZipFile, OSError, zlib.error, EOFError, RuntimeError) as exc:
            return [_p(code, f"part {i.filename} cannot be read: {exc}", name, i.filename)]
    return problems


def defused_expat():
    """An expat parser that refuses a DTD, entity declarations and external references with
    defusedxml's exceptions, as defusedxml's own parsers do: the one XML reader of the upload
    checks here and of the workbook reader (evidence/sniff.py). Handlers on the bare parser build
    no element objects: defusedxml's iterparse (pure-Python ElementTree) took longer to walk the
    benchmark's 46 MB sheet than this reader takes to read every cell of it."""

    def doctype(name, sysid, pubid, has_internal_subset):
        raise DTDForbidden(name, sysid, pubid)

    def entity(name, is_parameter_entity, value, base, sysid, pubid, notation_name):
        raise EntitiesForbidden(name, value, base, sysid, pubid, notation_name)

    def unparsed(name, base, sysid, pubid, notation_name):
        raise EntitiesForbidden(name, None, base, sysid, pubid, notation_name)

    def external(context, base, sysid, pubid):
        raise ExternalReferenceForbidden(context, base, sysid, pubid)

    p = expat.ParserCreate()
    p.StartDoctypeDeclHandler, p.EntityDeclHandler = doctype, entity
    p.UnparsedEntityDeclHandler, p.ExternalEntityRefHandler = unparsed, external
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    p.buffer_text, p.buffer_size = True, XML_CHUNK
    return p


def _check_xml(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, code: Code) -> list[Problem]:
    """No DTD in the part's prolog, and a small part parses with defusedxml. A DTD may only stand in
    the prolog, before the first element, so the whole prolog is read, however long, streaming, by
    an XML parser (comments, processing instructions, a UTF-16 part: a byte search of the first
    4 KB missed a DTD behind any of them); it stops at the first element."""
    class FirstElement(Exception):
        pass

    def first(tag, attrs):
        raise FirstElement

    p = defused_expat()
    p.StartElementHandler = first
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(XML_CHUNK):
                p.Parse(chunk, False)
            p.Parse(b"", True)
    except FirstElement:
        pass
    except DefusedXmlException:
        return [_p(code, "an XML part declares a DTD or entities (refused: entity expansion and external entities)",
                   name, info.filename)]
    except ExpatError as exc:
        return [Problem(code, f"an XML part is not well-formed: {exc}", file=f"{name}!{info.filename}",
                        line=exc.lineno, column=exc.offset + 1)]
    if info.file_size <= SMALL_XML:
        try:
            ElementTree.fromstring(zf.read(info), forbid_dtd=True, forbid_entities=True, forbid_external=True)
        except DefusedXmlException as exc:
            return [_p(code, f"an XML part is refused: {exc}", name, info.filename)]
        except ParseError as exc:
            line, col = exc.position
            return [Problem(code, f"an XML part is not well-formed: {exc}", file=f"{name}!{info.filename}",
                            line=line, column=col + 1)]
    return []


def check_gzip(data: bytes, name: str, code: Code, limit: int = GZIP_UNPACKED) -> list[Problem]:
    """Decompress once, counting; refuse past `limit` or at a damaged or cut stream."""
    if problems := check_size(data, name, code):
        return problems
    d, pos, total = zlib.decompressobj(16 + zlib.MAX_WBITS), 0, 0
    try:
        while True:
            buf = d.unconsumed_tail or data[pos:pos + 65536]
            if not d.unconsumed_tail:
                pos += len(buf)
            if not buf:
                return [_p(code, "the gzip file is cut short", name, hint="export it again")]
            total += len(d.decompress(buf, MB))
            if total > limit:
                return [_p(code, f"the gzip file unpacks to more than {limit // MB} MB: refused as a possible "
                                 "decompression bomb", name)]
            if d.eof:
                rest = d.unused_data + data[pos:]
                if not rest.strip(b"\x00"):
                    return []
                d, pos, data = zlib.decompressobj(16 + zlib.MAX_WBITS), 0, rest   # the next gzip member
    except zlib.error as exc:
        return [_p(code, f"the gzip file is damaged: {exc}", name)]


def check_evidence(data: bytes, name: str) -> list[Problem]:
    """An uploaded audit log, shift schedule or CAD export: gzip, XLSX or text, by its first bytes."""
    if data.startswith(b"\x1f\x8b"):
        return check_gzip(data, name, EV002, GZIP_UNPACKED)
    if data.startswith(b"PK\x03\x04"):
        return check_zip(data, name, EV002, XLSX_LIMITS, must_have="xl/workbook.xml", kind="Excel workbook (.xlsx)")
    return check_text(data, name, EV002)
