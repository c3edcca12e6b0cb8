"""The memo's clean text and its length: the proofreader (memo/proofread.py) and the page counter
(memo/pdfpages.py) on small documents built here, then on the memo of every demo case and of a case
with every fact unknown: no defect, the body in 8 pages or fewer (with LibreOffice), and every
charged statute, every authority and the box of unverified items still named."""
import datetime as dt
import io
import shutil
import unicodedata
import zlib

import pytest
from docx import Document

from assessment.core import casefile
from assessment.core.casefile import FACT_KEYS, Dates
from assessment.evidence import analyse as evidence
from assessment.evidence import charts
from assessment.law import engine
from assessment.memo import pdfpages, proofread, templates
from assessment.memo import render as memo

from conftest import DEMO

AS_OF = dt.date(2026, 11, 30)
UNKNOWN = "every-fact-unknown"
CASES = sorted(p.name for p in DEMO.iterdir() if (p / "case.yaml").exists()) + [UNKNOWN]
BODY_PAGES = 8
BOX = "UNVERIFIED AUTHORITIES AND STATEMENTS"
NAMED_SOURCES = ("charged", "alleged", "possible")
no_office = pytest.mark.skipif(not memo.soffice(), reason="LibreOffice is not installed (./dev test installs it)")
no_poppler = pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler-utils) is not installed")


# ---- small documents ---------------------------------------------------------------------------------------------
def docx(*paragraphs: str | tuple[str, str]) -> bytes:
    """A .docx of the given paragraphs: text (style Normal) or (style, text)."""
    doc = Document()
    for p in paragraphs:
        style, text = p if isinstance(p, tuple) else ("Normal", p)
        doc.add_paragraph(text, style=style)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def kinds(text: str) -> list[str]:
    """The kinds of defect found in one paragraph under a heading."""
    return [d.kind for d in proofread.defects(docx(("Heading 1", "Facts"), text))]


FLAGGED = [
    ("section-number", "Gov. Code § 1515315154: The Attorney General administers CLETS."),
    ("section-number", "18 § USC 27242723(a): a person who knowingly obtains"),
    ("section-number", "§ U.S.C. 2721(b)(1)"),
    ("section-number", "Pen. Code §§ 502502 and 11142"),
    ("section-number", "Veh. Code § 1808.451808.46"),
    ("punctuation", "County jail up to one year (364 days, § 18.5).. Fine: up to $5,000."),
    ("punctuation", "Misdemeanor: up to $5,000.."),
    ("punctuation", "a felony under 18 U.S.C.. The"),
    ("punctuation", "the client, the agency,, and the subject"),
    ("punctuation", "custody;; fine"),
    ("punctuation", "the subject,. The client"),
    ("punctuation", "the subject;. The client"),
    ("punctuation", "the basis:. none"),
    ("punctuation", "The client queried the plate ."),
    ("punctuation", "The client queried the plate . Then"),
    ("escaped-quote", 'the order says \\"stay away\\"'),
    ("escaped-quote", "the client\\'s queries"),
    ("plural", "1 queries on case subjects"),
    ("plural", "Source: charged, 1 counts."),
    ("plural", "Audit rows: 1 rows"),
    ("plural", "1 subjects, 1 questions, 1 items"),
    ("plural", "1 statements or authorities are unverified"),
    ("plural", "1 authorities; 1 defenses; 1 acts"),
    ("plural", "within 1 days"),
    ("plural", "1 months after assignment"),
    ("plural", "up to 1 years"),
    ("plural", "1 files, 1 events, 1 judgments"),
    ("plural", "Source: charged, 4 count(s)."),
    ("plural", "the statute(s) named"),
    ("template-tag", "Client: {{ client.name }}"),
    ("template-tag", "{% for s in statutes %}"),
    ("template-tag", "a stray }} here"),
    ("template-tag", "a stray %} here"),
    ("template-tag", "{# a comment #}"),
    ("raw-id", "The subject was harmed. [finding:subject-queries]"),
    ("raw-id", "Basis: fact:stated"),
    ("raw-id", "kb:pc-502"),
    ("raw-id", "narrative:sentence"),
    ("raw-id", "computed:pobr"),
    ("raw-id", "Consequence criminal.firearm-felony: any felony conviction"),
    ("raw-value", "Role: peace_officer"),
    ("raw-value", "Protective order: protects_subject."),
    ("raw-value", "charges_filed (2025-08-14) is taken as the date"),
    ("raw-value", "Custody: None. Fine: up to $1,000."),
    ("raw-value", "Custody: None"),
    ("raw-value", "Rows: nan"),
    ("raw-value", "Fine: None; agency discipline"),
    ("raw-value", "None"),
    ("raw-value", "Terminals: MDT0907, None"),
    ("raw-value", "Terminals: []"),
    ("raw-value", "Mapping: {}"),
]

CLEAN = [
    "18 U.S.C. § 2724(a) and 42 U.S.C. § 1983 give a civil action.",
    "Chrisman v. City of Los Angeles (2007) 155 Cal.App.4th 29, 35.",
    "Smith et al., supra, at p. 12.",
    "United States v. Christensen (9th Cir. 2016) 828 F.3d 763.",
    "People v. Superior Court, No. 25-0012.",
    "the statute reaches a person who ... without permission",
    "the statute reaches a person who . . . without permission . . . .",
    "and ends there....",
    "Pen. Code §§ 801.7 and 803(c); Gov. Code § 7920.000 et seq.; Pen. Code § 1203.097(a)(2); § 12301.",
    "Gov. Code §§ 15153-15154; Veh. Code §§ 1808-1810.2.",
    'Part 1, Title 13, Chapter 5, "Larceny" [484. - 502.9.].',
    "A blood alcohol level of .08 and a file named .env.",
    "11 queries, 21 rows, 1 query, 1 count, 1 row, 0.1 days, 1 day, 31 days, $1 items, 1,000 events.",
    "§ 502(c)(7) and § 832.7(a); Cal. Const., art. I, § 28, subd. (f)(2).",
    "The {braces} and 50% of queries; a set {a, b}.",
    "Fact: stated purpose. Finding: the audit log rows 80, 195. Narrative: sentence 3. Audit log rows 80, 195.",
    "[kb: verified status] and a time of 10:30.",
    "Audit log: audit_log.csv; logs/shift_schedule; jane_doe@example.com; https://example.com/a_b",
    "The report-writing terminal, e.g. a stay-away order; the off-duty queries; U.S. v. Nosal.",
    "None of the queries carried a case number; none of the rows.",
    "None: the engine raises no statute beyond those in the case file.",
    "Other exposure: none. Nothing was None-like here.",
    "Nan Smith is a witness; the subject's name is Nanette.",
    "www.cal-courts.gov and leginfo.legislature.ca.gov",
    "subdivisions (a)(s) do not exist, but § 1808(s) might",
]


@pytest.mark.parametrize("kind, text", FLAGGED)
def test_each_kind_of_defect_is_found(kind, text):
    assert kind in kinds(text), (text, kinds(text))


@pytest.mark.parametrize("text", CLEAN)
def test_legal_text_that_looks_like_a_defect_is_not_flagged(text):
    assert kinds(text) == []


def test_a_raw_id_is_reported_once_not_again_as_a_raw_value():
    assert kinds("The subject was harmed. [fact:harm_to_subject, fact:subjects.protective_order]") == ["raw-id"] * 2


def test_a_defect_names_its_place_and_a_short_excerpt():
    (d,) = proofread.defects(docx(("Heading 1", "Charges"), "Intro.", "x" * 100 + " Source: charged, 4 count(s). " + "y" * 100))
    assert (d.kind, d.place) == ("plural", "paragraph 3")
    assert "count(s)" in d.excerpt and 50 <= len(d.excerpt) <= 70


EMPTY_HEADINGS = [
    # (paragraphs, places of the empty headings)
    ([("Heading 1", "Facts"), "A fact.", ("Heading 1", "Law"), "A statute."], []),
    ([("Heading 1", "Facts"), ("Heading 2", "Client"), "A fact."], []),                # a section holding a subsection
    ([("Heading 1", "Facts"), ("Heading 1", "Law"), "A statute."], ["paragraph 1"]),
    ([("Heading 1", "Facts"), "A fact.", ("Heading 2", "Narrative"), ("Heading 1", "Law"), "x"], ["paragraph 3"]),
    ([("Heading 1", "Facts"), "A fact.", ("Heading 2", "Narrative"), ("Heading 2", "Dates"), "x"], ["paragraph 3"]),
    ([("Heading 1", "Facts"), "", ("Heading 1", "Law"), "x"], ["paragraph 1"]),         # a blank paragraph is nothing
    ([("Heading 1", "Facts"), "A fact.", ("Heading 1", "")], ["paragraph 3"]),          # no text, and last
    ([("Heading 1", "Facts"), "A fact.", ("Heading 1", "Appendices")], ["paragraph 3"]),
    ([("Heading 1", "  "), "A fact."], ["paragraph 1"]),
]


@pytest.mark.parametrize("paragraphs, empty", EMPTY_HEADINGS)
def test_empty_headings(paragraphs, empty):
    found = [d for d in proofread.defects(docx(*paragraphs)) if d.kind == "empty-heading"]
    assert [d.place for d in found] == empty


def test_a_heading_over_a_table_or_a_picture_is_not_empty():
    doc = Document()
    doc.add_heading("Findings", 1)
    doc.add_table(rows=1, cols=1).cell(0, 0).text = "6 queries"
    doc.add_heading("Charts", 1)
    doc.add_paragraph().add_run().add_picture(io.BytesIO(PNG))
    buf = io.BytesIO()
    doc.save(buf)
    assert proofread.defects(buf.getvalue()) == []


def test_lines_read_body_tables_and_headers_in_order_each_merged_cell_once():
    doc = Document()
    doc.add_paragraph("Before")
    table = doc.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "merged across"
    table.cell(0, 2).text = "right"
    table.cell(0, 2).add_paragraph("second paragraph")
    table.cell(1, 0).text = "below"
    table.cell(1, 1).merge(table.cell(1, 2))
    nested = table.cell(1, 1).add_table(rows=1, cols=1)
    nested.cell(0, 0).text = "nested"
    doc.add_paragraph("After", style="Heading 1")
    doc.sections[0].header.paragraphs[0].text = "PRIVILEGED"
    doc.sections[0].footer.paragraphs[0].text = "Page"
    buf = io.BytesIO()
    doc.save(buf)
    got = [(x.place, x.text) for x in proofread.lines(buf.getvalue()) if x.text]
    assert got == [("paragraph 1", "Before"), ("table 1 row 1 cell 1", "merged across"),
                   ("table 1 row 1 cell 2", "right"), ("table 1 row 1 cell 2", "second paragraph"),
                   ("table 1 row 2 cell 1", "below"), ("table 1 row 2 cell 2 table 1 row 1 cell 1", "nested"),
                   ("paragraph 2", "After"), ("header", "PRIVILEGED"), ("footer", "Page")]
    assert [x.style for x in proofread.lines(buf.getvalue()) if x.text == "After"] == ["Heading 1"]


def test_a_vertically_merged_cell_is_read_once():
    doc = Document()
    table = doc.add_table(rows=2, cols=2)
    table.cell(0, 0).merge(table.cell(1, 0)).text = "tall"
    table.cell(1, 1).text = "x"
    buf = io.BytesIO()
    doc.save(buf)
    assert [x.text for x in proofread.lines(buf.getvalue()) if x.text] == ["tall", "x"]


# ---- page counts -------------------------------------------------------------------------------------------------
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde\x00\x00"
       b"\x00\x0cIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\r\xefF\xb8\x00\x00\x00\x00IEND\xaeB`\x82")


def pdf(*pages: list[str]) -> bytes:
    """A PDF with one page per list of lines (Helvetica, one line under another)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for lines in pages:
        text = b"".join(b"(" + line.encode("latin-1") + b") Tj 0 -16 Td " for line in lines)
        stream = zlib.compress(b"BT /F1 12 Tf 72 720 Td " + text + b"ET")
        objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream")
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
                       b"/Contents %d 0 R >>" % len(objects))
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [" + b" ".join(kids) + b"] /Count %d >>" % len(pages)
    out, offsets = b"%PDF-1.4\n", []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


@no_poppler
@pytest.mark.parametrize("pages, body", [
    ([["Memorandum"], ["Facts"], ["Appendices", "PC 136.1"], ["more"]], 2),
    ([["Memorandum", "see the Appendices below"], ["Facts"]], 2),                 # no appendix heading: every page
    ([["Contents", "Facts", "Appendices"], ["Facts"], ["Appendices"]], 2),         # an entry of the contents passed over
    ([["Memorandum"], ["  Appendices  "]], 1),
])
def test_body_pages_are_the_pages_before_the_appendices(pages, body):
    data = pdf(*pages)
    assert pdfpages.count(data) == len(pages)
    assert pdfpages.body_pages(data) == body
    assert [t.split() for t in pdfpages.page_texts(data)] == [" ".join(p).split() for p in pages]


def test_without_pdftotext_the_count_says_what_to_install(monkeypatch):
    monkeypatch.setattr(pdfpages.shutil, "which", lambda name: None)
    with pytest.raises(pdfpages.MissingTool, match="poppler-utils"):
        pdfpages.body_pages(b"%PDF-1.4")


# ---- the memos themselves ----------------------------------------------------------------------------------------
def assessed(kb, name: str):
    """The assessment, case and evidence of a demo case; UNKNOWN is off-duty-lookups with every
    tri-state fact and the prior discipline unknown, no dates and no evidence."""
    if name != UNKNOWN:
        folder = DEMO / name
        case = casefile.load(folder / "case.yaml", kb)
        ev = evidence.analyse(case, folder)
        return engine.assess(case, kb, ev, AS_OF), case, ev
    case = casefile.load(DEMO / "off-duty-lookups" / "case.yaml", kb)
    case = case.model_copy(update={
        "facts": case.facts.model_copy(update=dict.fromkeys(FACT_KEYS, "unknown")),
        "client": case.client.model_copy(update={"prior_discipline": "unknown"}),
        "dates": Dates()})
    return engine.assess(case, kb, None, AS_OF), case, None


def render_memo(kb, name: str):
    """The assessment and the memo's .docx, rendered as the app does (built-in template, charts)."""
    result, case, ev = assessed(kb, name)
    return result, memo.render(result, case, templates.builtin(), charts=charts.memo_charts(ev))


def memo_text(docx_bytes: bytes) -> str:
    return " ".join(" ".join(line.text for line in proofread.lines(docx_bytes)).split())


def pdf_text(pdf_bytes: bytes) -> str:
    return " ".join(unicodedata.normalize("NFKC", "\n".join(pdfpages.page_texts(pdf_bytes))).split())


def missing_names(result, text: str) -> list[str]:
    """The charged statutes, authorities and the unverified box the text fails to name."""
    names = [s.citation for s in result.statutes if s.source in NAMED_SOURCES]
    names += [a.cite for a in result.authorities] + [BOX]
    return [n for n in names if " ".join(n.split()) not in text]


def report(found: list) -> str:
    return "\n".join(f"{d.kind:<15} {d.place:<30} {d.excerpt}" for d in found)


@pytest.fixture(scope="module", params=CASES)
def rendered(request, kb):
    """Each memo rendered once for the module: (case name, assessment, .docx bytes)."""
    result, data = render_memo(kb, request.param)
    return request.param, result, data


@pytest.fixture(scope="module")
def as_pdf(rendered, tmp_path_factory):
    """The memo converted by LibreOffice (once per case); None where it is not installed."""
    name, _, data = rendered
    out = memo.to_pdf(data, tmp_path_factory.mktemp(f"pdf-{name}")) if memo.soffice() else None
    return out.read_bytes() if out else None


def test_the_memo_text_has_no_defect(rendered):
    name, _, data = rendered
    found = proofread.defects(data)
    print(f"{name}: {len(found)} defects\n{report(found)}")
    assert found == [], f"{name}: {len(found)} defects\n{report(found)}"


def test_the_memo_names_every_charged_statute_every_authority_and_the_unverified_box(rendered):
    name, result, data = rendered
    assert missing_names(result, memo_text(data)) == [], name


@no_office
@no_poppler
def test_the_body_fits_in_eight_pages_and_the_pdf_still_names_everything(rendered, as_pdf):
    name, result, _ = rendered
    body, total = pdfpages.body_pages(as_pdf), pdfpages.count(as_pdf)
    print(f"{name}: body {body} pages of {total}")
    assert body <= BODY_PAGES, f"{name}: the body runs to {body} pages (of {total}); at most {BODY_PAGES}"
    assert missing_names(result, pdf_text(as_pdf)) == [], name
