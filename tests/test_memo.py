import datetime as dt
import io
import re
import shutil
import subprocess

import pytest
from docx import Document

from assessment import assess, casefile, memo
from assessment.errors import AssessmentError
from conftest import DEMO, ROOT, run_cli

AS_OF = dt.date(2026, 11, 30)


def render(kb, name="off-duty-lookups", **edits):
    folder = DEMO / name
    case = casefile.load(folder / "case.yaml", kb)
    if edits:
        case = case.model_copy(update=edits)
    result = assess.assess(case, kb, folder, AS_OF)
    return result, case, memo.render(result, case)


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
              "Defenses, ranked", "Collateral consequences", "Recommendations",
              "Open questions and investigation checklist", "Table of authorities"):
        assert h in headings
    assert "PC 502(c)(2): Unauthorized access to computers, computer systems and computer data" in headings
    assert not any("{{" in t or "{%" in t for t in all_text(doc).splitlines())


GOLDEN = ["Question presented", "Brief answer", "Facts", "Evidence findings", "Charges, elements and exposure",
          "Defenses, ranked", "Collateral consequences", "Recommendations", "Open questions and investigation checklist",
          "Discovery to demand", "Table of authorities"]


@pytest.mark.parametrize("name", ["off-duty-lookups", "front-counter-login"])
def test_golden_structure_of_each_demo_memo(kb, name):
    result, case, data = render(kb, name)
    doc = Document(io.BytesIO(data))
    heads = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert [h for h in heads if h in GOLDEN] == GOLDEN                                # all, in this order
    charges = heads[heads.index("Charges, elements and exposure") + 1:heads.index("Defenses, ranked")]
    assert charges == [f"{s['citation']}: {s['title']}" for s in result["statutes"]]
    ranked = heads[heads.index("Defenses, ranked") + 1:heads.index("Collateral consequences")]
    assert ranked == [f"{i}. {d['name']}: {d['strength'].replace('-', ' ')}" for i, d in enumerate(result["defenses"], 1)]
    tables = {tuple(c.text for c in t.rows[0].cells) for t in doc.tables}
    assert {("Finding", "Count", "Audit rows (1-based data rows)"), ("Element", "Status", "Basis"),
            ("Authority", "Helps", "Holding (as stored)", "Verification")} <= tables
    box = doc.tables[-1].rows[0].cells[0].text
    assert box.startswith(f"UNVERIFIED AUTHORITIES AND STATEMENTS: CHECK EACH BEFORE RELYING ON THIS MEMO "
                          f"({len(result['unverified'])})")
    for u in result["unverified"]:
        assert f"{u['id']}: {u['what']}" in box
    body = all_text(doc)
    assert memo.question_presented(result, case) in body and "{{" not in body and "{%" not in body
    lead = [d for d in result["defenses"] if d["strength"] in ("strong", "moderate")]
    if lead:
        assert f"Lead with {lead[0]['name']} ({lead[0]['strength']})" in body


def test_findings_table_lists_rows(rendered):
    result, _, doc = rendered
    rows = next(f for f in result["findings"] if f["id"] == "subject-queries")["rows"]
    text = all_text(doc)
    assert ", ".join(map(str, rows)) in text
    assert "[finding:off-duty-subject-queries]" in text


def test_unverified_box_lists_every_unverified_item(rendered):
    result, _, doc = rendered
    box = doc.tables[-1]
    text = box.rows[0].cells[0].text
    assert text.startswith(f"UNVERIFIED AUTHORITIES AND STATEMENTS: CHECK EACH BEFORE RELYING ON THIS MEMO ({len(result['unverified'])})")
    assert result["unverified"]
    for u in result["unverified"]:
        assert u["id"] in text


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
    assert "For the prosecution: People v. Childs (2013) 164 Cal.Rptr.3d 287; People v. Hawkins" in text


def test_section_provisions_are_printed_once(rendered):
    _, _, doc = rendered  # PC 502(c)(2) charged and (c)(7) suggested share § 502(h)
    assert sum(p.text.startswith("§ 502(h)(1):") for p in doc.paragraphs) == 1


def test_discovery_checklist_follows_the_facts(rendered):
    result, _, doc = rendered
    ids = {d["id"] for d in result["discovery"]}
    assert {"journal", "presence", "compelled-statement", "charge-evaluation"} <= ids  # off duty, Lybarger, officer
    assert "sessions" not in ids  # credentials were not shared
    assert "Discovery to demand" in [p.text for p in doc.paragraphs]


def test_case_text_is_escaped_not_interpreted(kb):
    folder = DEMO / "off-duty-lookups"
    case = casefile.load(folder / "case.yaml", kb)
    hostile = "A & B <w:p>{{ 7*7 }}</w:p> O'Neil \"quoted\""
    case = case.model_copy(update={"facts": case.facts.model_copy(update={"narrative": hostile})})
    data = memo.render(assess.assess(case, kb, folder, AS_OF), case)
    assert hostile in all_text(Document(io.BytesIO(data)))


def _template_with(tmp_path, text):
    from docx import Document as New
    d = New()
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
    result = assess.assess(case, kb, folder, AS_OF)
    with pytest.raises(AssessmentError) as err:
        memo.render(result, case, _template_with(tmp_path, tag))
    (p,) = err.value.problems
    assert p.code == "TP001" and expect in p.message and p.file.endswith("t.docx")


def test_memo_command_writes_docx(tmp_path):
    out = tmp_path / "memo.docx"
    res = run_cli("memo", str(DEMO / "front-counter-login" / "case.yaml"), "-o", str(out), "--as-of", "2026-11-30")
    assert res.returncode == 0, res.stderr
    doc = Document(str(out))
    assert "Mistaken identity: strong" in [p.text.split(". ", 1)[-1] for p in doc.paragraphs]


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
