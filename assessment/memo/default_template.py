"""Builds the default memo template, templates/memo.docx (a docxtpl template).

Run `clets-assess build-template` to rebuild it; a firm replaces it with its own letterhead
and styles, keeping the tags. The tags are Jinja2, rendered in a sandbox (see memo/sandbox.py).
"""
from __future__ import annotations

import contextlib
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT  # noqa: F401  (kept for firms that switch orientation)
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor

HEADER = "PRIVILEGED & CONFIDENTIAL - ATTORNEY WORK PRODUCT - DRAFT"


def _field(paragraph, instr: str) -> None:
    run = paragraph.add_run()
    for kind, text in (("begin", None), (None, instr), ("separate", None), (None, "1"), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
            run._r.append(el)
        elif text == instr:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = f" {instr} "
            run._r.append(el)
        else:
            el = OxmlElement("w:t")
            el.text = text
            run._r.append(el)


def _shade(cell, fill: str) -> None:
    tc_pr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tc_pr.append(shd)


def _box_borders(table, color: str = "C00000", size: int = 18) -> None:
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "single")
        el.set(qn("w:sz"), str(size))
        el.set(qn("w:color"), color)
        borders.append(el)
    tbl_pr.append(borders)


def _table(doc, headers: list[str], cells: list[str], loop: str, endloop: str = "{%tr endfor %}"):
    """A table with a header row and one templated row repeated by a {%tr %} loop."""
    table = doc.add_table(rows=4, cols=len(headers))
    table.style = "Table Grid"
    for i, h in enumerate(headers):
        cell = table.rows[0].cells[i]
        cell.text = h
        cell.paragraphs[0].runs[0].bold = True
        _shade(cell, "D9E2F3")
    table.rows[1].cells[0].text = loop
    for i, c in enumerate(cells):
        table.rows[2].cells[i].text = c
    table.rows[3].cells[0].text = endloop
    return table


def p(doc, text: str, style: str | None = None):
    return doc.add_paragraph(text, style=style) if style else doc.add_paragraph(text)


def each(doc, loop: str, *lines: str, style: str | None = "List Bullet") -> None:
    """A paragraph-level loop: `{%p for ... %}`, its lines, `{%p endfor %}`."""
    p(doc, f"{{%p for {loop} %}}")
    for line in lines:
        p(doc, line, style)
    p(doc, "{%p endfor %}")


@contextlib.contextmanager
def when(doc, condition: str):
    """Paragraphs shown only when `condition` holds: `{%p if condition %}` ... `{%p endif %}`."""
    p(doc, f"{{%p if {condition} %}}")
    yield
    p(doc, "{%p endif %}")


def build(path: Path) -> Path:
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = "Liberation Serif"
    normal.font.size = Pt(11)
    section = doc.sections[0]
    hp = section.header.paragraphs[0]
    hp.text = HEADER
    hp.alignment = WD_ALIGN_PARAGRAPH.CENTER
    hp.runs[0].bold = True
    hp.runs[0].font.size = Pt(9)
    hp.runs[0].font.color.rgb = RGBColor(0xC0, 0x00, 0x00)
    fp = section.footer.paragraphs[0]
    fp.alignment = WD_ALIGN_PARAGRAPH.CENTER
    fp.add_run("DRAFT - {{ matter.id }} - Page ")
    _field(fp, "PAGE")
    fp.add_run(" of ")
    _field(fp, "NUMPAGES")

    title = p(doc, "{{ firm.name }}")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.runs[0].bold = True
    head = doc.add_heading("MEMORANDUM", level=0)
    head.alignment = WD_ALIGN_PARAGRAPH.CENTER
    cap = doc.add_table(rows=4, cols=2)
    cap.style = "Table Grid"
    for i, (k, v) in enumerate((("Matter", "{{ matter.title }} (No. {{ matter.id }}; stage: {{ matter.stage }})"),
                                ("Client", "{{ client.name }}, {{ client.role_label }}"
                                           "{% if client.agency %}, {{ client.agency }}{% endif %}"),
                                ("Prepared", "{{ prepared_by }}; engine assessment as of {{ as_of }}"),
                                ("Re", "Draft assessment of CLETS-misuse exposure and defenses"))):
        cap.rows[i].cells[0].text = k
        cap.rows[i].cells[0].paragraphs[0].runs[0].bold = True
        cap.rows[i].cells[1].text = v

    doc.add_heading("Question presented", level=1)
    p(doc, "{{ question }}")
    doc.add_heading("Brief answer", level=1)
    each(doc, "line in brief_answer", "{{ line }}", style=None)
    with when(doc, "overrides"):
        doc.add_heading("The attorney's judgment", level=2)
        p(doc, "Where the reviewing attorney departed from the engine's computed answer, the memo states the attorney's "
               "judgment and keeps the engine's answer beside it:")
        _table(doc, ["Conclusion", "Engine", "Attorney", "Reason"],
               ["{{ o.what }}", "{{ o.engine }}", "{{ o.attorney }}", "{{ o.reason }}"], "{%tr for o in overrides %}")
    with when(doc, "notes"):
        doc.add_heading("Attorney's notes", level=2)
        p(doc, "{{ notes }}")

    with when(doc, "sections.facts"):
        doc.add_heading("Facts", level=1)
        p(doc, "Each fact is followed by its source in the case file.")
        each(doc, "f in facts", "{{ f.label }}: {{ f.value }} [{{ f.source }}]")
    with when(doc, "narrative and sections.narrative"):
        doc.add_heading("Narrative as received", level=2)
        p(doc, "{{ narrative }}")

    with when(doc, "sections.evidence"):
        doc.add_heading("Evidence findings", level=1)
        p(doc, "{{ evidence_intro }}")
        _table(doc, ["Finding", "Count", "Audit rows (1-based data rows)"],
               ["{{ f.summary }} [finding:{{ f.id }}]", "{{ f.count }}", "{{ f.rows_text }}"],
               "{%tr for f in findings %}")
        each(doc, "w in evidence_warnings", "Note: {{ w }}")
        each(doc, "ch in charts", "{{ ch.image }}", "Figure: {{ ch.title }}", style=None)
        with when(doc, "marked_events"):
            doc.add_heading("Events marked by the attorney", level=2)
            p(doc, "The attorney's marks (material, disputed, undisputed) and notes on individual audit rows.")
            _table(doc, ["When", "Audit row", "Subject", "Mark", "Note"],
                   ["{{ e.time }}", "{{ e.where }}", "{{ e.subject }}", "{{ e.mark }}", "{{ e.note }}"],
                   "{%tr for e in marked_events %}")

    with when(doc, "sections.charges"):
        doc.add_heading("Charges, elements and exposure", level=1)
        p(doc, "{%p for s in statutes %}")
        doc.add_heading("{{ s.citation }}: {{ s.title }}", level=2)
        p(doc, "Source: {{ s.source_label }}.{% if s.why %} Raised by the engine because: {{ s.why }}{% endif %}")
        p(doc, "Code heading: {{ s.official_heading }}.")
        with when(doc, "s.subdivision_summary"):
            p(doc, "{{ s.subdivision_summary }}")
        p(doc, "Classification: {{ s.classification }}. Exposure: {{ s.max_exposure }}")
        p(doc, "Limitation: {{ s.limitation_text }}")
        each(doc, "m in s.misdescriptions", "Common misdescription: \"{{ m.claim }}\" Correction: {{ m.correction }}")
        p(doc, "{%p for sp in s.splits %}")
        p(doc, "Split of authority: {{ sp.question }}")
        p(doc, "For the defense: {{ sp.defense_line }}.", "List Bullet")
        p(doc, "For the prosecution: {{ sp.prosecution_line }}.", "List Bullet")
        p(doc, "{{ sp.analysis }}")
        p(doc, "{%p endfor %}")
        _table(doc, ["Element", "Status", "Basis"],
               ["{{ e.text }}", "{{ e.status }}", "{{ e.basis }}"], "{%tr for e in s.elements %}")
        each(doc, "pr in s.provisions", "§ {{ s.section }}{{ pr.id }}: {{ pr.text }}")
        p(doc, "{%p endfor %}")

    with when(doc, "sections.defenses"):
        doc.add_heading("Defenses, ranked", level=1)
        p(doc, "{{ defense_rule }}")
        p(doc, "{%p for d in defenses %}")
        doc.add_heading("{{ loop.index }}. {{ d.name }}: {{ d.strength }}", level=2)
        with when(doc, "d.judgment"):
            p(doc, "Strength stated: {{ d.strength }}, the {{ d.judgment }}")
        p(doc, "{{ d.summary }}{% if d.applies_to %} Bears on: {{ d.applies_to }}.{% endif %}")
        each(doc, "r in d.reasons_for", "For: {{ r.reason }} [{{ r.basis }}]")
        each(doc, "r in d.reasons_against", "Against: {{ r.reason }} [{{ r.basis }}]")
        with when(doc, "d.authorities_for or d.authorities_against"):
            p(doc, "Authorities for the defense: {{ d.authorities_for or 'none listed' }}. "
                   "Against: {{ d.authorities_against or 'none listed' }}.")
        each(doc, "t in d.to_strengthen", "To strengthen: {{ t }}")
        p(doc, "{%p endfor %}")

    with when(doc, "sections.collateral"):
        doc.add_heading("Collateral consequences", level=1)
        p(doc, "{%p for fam in collateral %}")
        doc.add_heading("{{ fam.title }}", level=2)
        each(doc, "c in fam.consequences", "{{ c.text }} [{{ c.source }}{% if not c.verified %}; UNVERIFIED{% endif %}]")
        p(doc, "{%p endfor %}")

    with when(doc, "sections.recommendations"):
        doc.add_heading("Recommendations", level=1)
        each(doc, "r in recommendations", "{{ r.text }} [{{ r.source }}]")
        doc.add_heading("Open questions and investigation checklist", level=2)
        each(doc, "q in open_questions", "{{ q }}")
        doc.add_heading("Discovery to demand", level=2)
        each(doc, "d in discovery", "{{ d.item }} Why: {{ d.why }} [{{ d.source }}{{ d.status }}]")

    with when(doc, "sections.authorities"):
        doc.add_heading("Table of authorities", level=1)
        _table(doc, ["Authority", "Helps", "Holding (as stored)", "Verification"],
               ["{{ a.cite }}", "{{ a.helps }}", "{{ a.holding }}", "{{ a.status }}"], "{%tr for a in authorities %}")

    p(doc, "")
    box = doc.add_table(rows=1, cols=1)
    _box_borders(box)
    cell = box.rows[0].cells[0]
    _shade(cell, "FDECEA")
    cell.paragraphs[0].text = ("UNVERIFIED AUTHORITIES AND STATEMENTS: CHECK EACH BEFORE RELYING ON THIS MEMO "
                               "({{ unverified|length }})")
    cell.paragraphs[0].runs[0].bold = True
    for text in ("{%p for u in unverified %}",
                 "{{ u.kind|capitalize }} {{ u.id }}: {{ u.what }}. Source: {{ u.source }}."
                 "{% if u.note %} {{ u.note }}{% endif %}",
                 "{%p endfor %}", "{%p if not unverified %}",
                 "None: every authority and statement this memo relies on is marked verified.",
                 "{%p endif %}"):
        cell.add_paragraph(text)
    p(doc, "")
    p(doc, "Prepared by clets-defense from the knowledge base, the case file and the audit evidence. "
           "Every statement above is traceable to its basis in brackets. This is a draft for attorney review, not legal advice.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path
