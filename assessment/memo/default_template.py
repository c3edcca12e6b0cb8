"""Builds the default memo template, templates/memo.docx (a docxtpl template).

Run `clets-assess build-template` to rebuild it; a firm replaces it with its own letterhead
and styles, keeping the tags. The tags are Jinja2, rendered in a sandbox (see memo/sandbox.py).
"""
from __future__ import annotations

import contextlib
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT  # noqa: F401  (kept for firms that switch orientation)
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

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


def _table(doc, headers: list[str], cells: list[str], loop: str, endloop: str = "{%tr endfor %}",
           notes: tuple[int, ...] = ()):
    """A table with a header row and one templated row repeated by a {%tr %} loop; the columns in
    `notes` are printed as grey source notes."""
    table = doc.add_table(rows=4, cols=len(headers))
    table.style = "Table Grid"
    for i, h in enumerate(headers):
        cell = table.rows[0].cells[i]
        cell.text = h
        cell.paragraphs[0].runs[0].bold = True
        _shade(cell, "D9E2F3")
    table.rows[1].cells[0].text = loop
    for i, c in enumerate(cells):
        if i in notes:
            table.rows[2].cells[i].paragraphs[0].add_run(c, style=NOTE_STYLE)
        else:
            table.rows[2].cells[i].text = c
    table.rows[3].cells[0].text = endloop
    return table


NOTE_STYLE = "Source Note"          # the grey note that carries each statement's basis


def p(doc, text: str, style: str | None = None, note: str | None = None):
    """A paragraph; `note` adds the grey source note after the text (a run in NOTE_STYLE)."""
    para = doc.add_paragraph(text, style=style) if style else doc.add_paragraph(text)
    if note:
        para.add_run(note, style=NOTE_STYLE)
    return para


def each(doc, loop: str, *lines: str, style: str | None = "List Bullet", note: str | None = None) -> None:
    """A paragraph-level loop: `{%p for ... %}`, its lines (the last one with the grey `note`), `{%p endfor %}`."""
    p(doc, f"{{%p for {loop} %}}")
    for i, line in enumerate(lines):
        p(doc, line, style, note if i == len(lines) - 1 else None)
    p(doc, "{%p endfor %}")


@contextlib.contextmanager
def when(doc, condition: str):
    """Paragraphs shown only when `condition` holds: `{%p if condition %}` ... `{%p endif %}`."""
    p(doc, f"{{%p if {condition} %}}")
    yield
    p(doc, "{%p endif %}")


def _styles(doc) -> None:
    normal = doc.styles["Normal"]
    normal.font.name = "Liberation Serif"
    normal.font.size = Pt(10)
    normal.paragraph_format.space_after = Pt(3)
    for name, size in (("Heading 1", 13), ("Heading 2", 11.5), ("Title", 20)):
        doc.styles[name].font.size = Pt(size)
        doc.styles[name].paragraph_format.space_before = Pt(8 if name == "Heading 1" else 5)
        doc.styles[name].paragraph_format.space_after = Pt(3)
    note = doc.styles.add_style(NOTE_STYLE, WD_STYLE_TYPE.CHARACTER)
    note.font.size = Pt(8)
    note.font.color.rgb = RGBColor(0x76, 0x76, 0x76)
    for name in ("List Bullet",):
        doc.styles[name].paragraph_format.space_after = Pt(2)
    section = doc.sections[0]
    section.left_margin = section.right_margin = Mm(20)
    section.top_margin = section.bottom_margin = Mm(18)


def _small_table(table, size: float = 9) -> None:
    """Table text a point or two under the body's, so that tables stay narrow and short."""
    style = table.style
    del style
    for row in table.rows:
        for cell in row.cells:
            for para in cell.paragraphs:
                for run in para.runs:
                    if run.style is None or run.style.name != NOTE_STYLE:
                        run.font.size = Pt(size)


def _keep_rows(table) -> None:
    """No row split across a page; the first row repeated at the top of each page."""
    for i, row in enumerate(table.rows):
        tr_pr = row._tr.get_or_add_trPr()
        tr_pr.append(OxmlElement("w:cantSplit"))
        if i == 0:
            tr_pr.append(OxmlElement("w:tblHeader"))


def _widths(table, mm: list[float]) -> None:
    """Fixed column widths (the grid, each cell and the table's layout), which Word and LibreOffice
    both honour."""
    table.autofit = False
    tbl_pr = table._tbl.tblPr
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    tbl_pr.append(layout)
    for col, w in zip(table._tbl.tblGrid.findall(qn("w:gridCol")), mm, strict=False):
        col.set(qn("w:w"), str(int(Mm(w).emu / 635)))
    for row in table.rows:
        for cell, w in zip(row.cells, mm, strict=False):
            cell.width = Mm(w)
    _keep_rows(table)


def _consequences(doc, line: str, note: str) -> None:
    """The consequences family by family: the body prints each one's title, Appendix C its text."""
    p(doc, "{%p for fam in collateral %}")
    para = doc.add_paragraph()
    para.add_run("{{ fam.title }}").bold = True
    each(doc, "c in fam.consequences", line, note=note)
    p(doc, "{%p endfor %}")


def _statute_block(doc, var: str, level: int = 2) -> None:
    """One statute in full (a count in the body, a suggested statute in Appendix A)."""
    doc.add_heading(f"{{{{ {var}.citation }}}}: {{{{ {var}.title }}}}", level=level)
    p(doc, f"{{{{ {var}.counts|capitalize }}}}.{{% if {var}.subdivision_summary %}} {{{{ {var}.subdivision_summary }}}}"
           "{% endif %}")
    with when(doc, f"{var}.why"):
        p(doc, f"Raised by the engine because: {{{{ {var}.why }}}}", note=f" {{{{ {var}.why_source }}}}")
    p(doc, f"Exposure: {{{{ {var}.max_exposure }}}}")
    p(doc, f"Limitation: {{{{ {var}.limitation.line }}}} {{{{ {var}.limitation.detail }}}}",
      note=f" {{{{ {var}.limitation.source }}}}")
    with when(doc, f"{var}.limitation.readings"):
        t = _table(doc, ["If punishable as", "Period", "Result", "Latest act until"],
                   ["{{ r.tier }}", "{{ r.period }}", "{{ r.status }}", "{{ r.until }}"],
                   f"{{%tr for r in {var}.limitation.readings %}}")
        _widths(t, [62, 58, 20, 26])
        _small_table(t)
    each(doc, f"n in {var}.notes", "{{ n }}")
    p(doc, f"{{%p for sp in {var}.splits %}}")
    p(doc, "Split of authority: {{ sp.question }}")
    p(doc, "For the defense: {{ sp.defense_line }}.", "List Bullet")
    p(doc, "For the prosecution: {{ sp.prosecution_line }}.", "List Bullet")
    p(doc, "{{ sp.analysis }}")
    p(doc, "{%p endfor %}")
    t = _table(doc, ["Element", "Status", "Basis"], ["{{ e.text }}", "{{ e.status }}", "{{ e.source }}"],
               f"{{%tr for e in {var}.elements %}}", notes=(2,))
    _widths(t, [96, 26, 44])
    _small_table(t)


def build(path: Path) -> Path:
    doc = Document()
    _styles(doc)
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
                                ("Prepared by", "{{ prepared_by }}, {{ prepared_on }} (facts and law as of {{ as_of_long }})"),
                                ("Re", "Draft assessment of CLETS-misuse exposure and defenses"))):
        cap.rows[i].cells[0].text = k
        cap.rows[i].cells[0].paragraphs[0].runs[0].bold = True
        cap.rows[i].cells[1].text = v
    _widths(cap, [30, 136])
    p(doc, "", note="A draft for attorney review, not legal advice, prepared with clets-defense from the knowledge base, "
                    "the case file and the audit evidence; the grey notes give the basis of each statement.")

    doc.add_heading("Question presented", level=1)
    p(doc, "{{ question }}")
    doc.add_heading("Brief answer", level=1)
    p(doc, "{{ brief.answer }}")
    bullet = p(doc, "{%p for pt in brief.points %}")
    del bullet
    para = doc.add_paragraph(style="List Bullet")
    para.add_run("{{ pt.label }}: ").bold = True
    para.add_run("{{ pt.text }}")
    para.add_run("{% if pt.source %} {{ pt.source }}{% endif %}", style=NOTE_STYLE)
    p(doc, "{%p endfor %}")
    with when(doc, "brief.questions"):
        para = doc.add_paragraph(style="List Bullet")
        para.add_run("Open questions that matter most: ").bold = True
        p(doc, "{%p for q in brief.questions %}")
        numbered = p(doc, "{{ loop.index }}. {{ q }}")
        numbered.paragraph_format.left_indent = Mm(12)
        numbered.paragraph_format.first_line_indent = Mm(-5)
        p(doc, "{%p endfor %}")
    with when(doc, "overrides"):
        doc.add_heading("The attorney's judgment", level=2)
        p(doc, "Where the reviewing attorney departed from the engine's computed answer, the memo states the attorney's "
               "judgment and keeps the engine's answer beside it:")
        _table(doc, ["Conclusion", "Engine", "Attorney", "Reason"],
               ["{{ o.what }}", "{{ o.engine }}", "{{ o.attorney }}", "{{ o.reason }}"], "{%tr for o in overrides %}")
    with when(doc, "notes"):
        doc.add_heading("Attorney's notes", level=2)
        each(doc, "n in notes_paragraphs", "{{ n }}", style=None)

    with when(doc, "sections.facts"):
        doc.add_heading("Facts", level=1)
        with when(doc, "summary.paragraphs and sections.narrative"):
            each(doc, "n in summary.paragraphs", "{{ n }}", style=None, note=" Narrative as entered by the attorney")
            with when(doc, "summary.continued"):
                p(doc, "The rest of the narrative is in Appendix F.")
        p(doc, "{{ client_line }}", note=" Case file: client")
        each(doc, "s in subjects", "{{ s.text }}", note=" {{ s.source }}")
        each(doc, "f in fact_groups", "{{ f.text }}", note=" {{ f.source }}")
        p(doc, "{{ dates_line }}", note=" Case file: dates")

    with when(doc, "sections.evidence"):
        doc.add_heading("Evidence findings", level=1)
        p(doc, "{{ evidence_intro }}")
        with when(doc, "findings"):
            t = _table(doc, ["Finding", "Count", "Audit rows (data rows, from 1)"],
                       ["{{ f.summary }}", "{{ f.count }}", "{{ f.rows_text }}"], "{%tr for f in findings %}")
            _widths(t, [100, 16, 50])
            _small_table(t)
        each(doc, "w in evidence_warnings", "Note: {{ w }}")
        each(doc, "ch in charts", "{{ ch.image }}", "Figure: {{ ch.title }}", style=None)
        with when(doc, "marked_events"):
            p(doc, "The events the attorney marked on the audit log are listed in Appendix E.")

    with when(doc, "sections.charges"):
        doc.add_heading("Charges, elements and exposure", level=1)
        with when(doc, "not charged"):
            p(doc, "The case file names no count; the statutes the facts suggest are under Other exposure.")
        p(doc, "{%p for s in charged %}")
        _statute_block(doc, "s")
        p(doc, "{%p endfor %}")
        with when(doc, "other_exposure"):
            doc.add_heading("Other exposure", level=1)
            p(doc, "Offenses not in the case file that the facts may support, each set out in full in Appendix A.")
            t = _table(doc, ["Citation", "Class", "Maximum exposure", "Why raised", "Limitation"],
                       ["{{ o.citation }}", "{{ o.classification }}", "{{ o.exposure }}", "{{ o.why }}",
                        "{{ o.limitation }}"], "{%tr for o in other_exposure %}")
            _widths(t, [20, 21, 42, 56, 31])
            _small_table(t, 8.5)

    with when(doc, "sections.defenses"):
        doc.add_heading("Defenses, ranked", level=1)
        p(doc, "Ranked by legal effect, not by a count of factors (the rule is in Appendix A).")
        p(doc, "{%p for d in ranked %}")
        doc.add_heading("{{ d.rank }}. {{ d.name }}: {{ d.strength }}", level=2)
        with when(doc, "d.judgment"):
            p(doc, "Strength stated: {{ d.strength }}, the {{ d.judgment }}.")
        each(doc, "r in d.reasons_for", "For: {{ r.reason }}", note=" {{ r.source }}")
        each(doc, "r in d.reasons_against", "Against: {{ r.reason }}", note=" {{ r.source }}")
        with when(doc, "d.pobr"):
            p(doc, "POBR year: {{ d.pobr }}")
        with when(doc, "d.authorities_for or d.authorities_against"):
            p(doc, "Authorities for the defense: {{ d.authorities_for or 'none listed' }}. "
                   "Against: {{ d.authorities_against or 'none listed' }}.")
        with when(doc, "d.to_strengthen"):
            p(doc, "To strengthen it: {{ d.to_strengthen|join(' ') }}")
        p(doc, "{%p endfor %}")
        with when(doc, "defenses_not_supported"):
            doc.add_heading("Not supported on these facts", level=2)
            each(doc, "d in defenses_not_supported", "{{ d.name }}: {{ d.why }}.")

    with when(doc, "sections.collateral"):
        doc.add_heading("Collateral consequences", level=1)
        p(doc, "Each in a line with its rule; the full statement of each is in Appendix C.")
        _consequences(doc, "{{ c.title }}", " {{ c.cite }}")

    with when(doc, "sections.collateral and dispositions"):
        doc.add_heading("What each outcome costs", level=1)
        p(doc, "For this client's role, in a few words; each cell in full, with its rule, is in Appendix G. "
               "\u2020 marks a rule not verified in its source.")
        headers = ["Outcome", "Criminal", "Employment", "POST", "Pension", "Firearms", "Disclosure, Brady"]
        cols = ["criminal", "employment", "post", "pension", "firearms", "disclosure"]
        t = _table(doc, headers, ["{{ d.label }}"] + [f"{{{{ d.by.{c}.short }}}}" for c in cols],
                   "{%tr for d in dispositions_open %}")
        _widths(t, [25] + [23.5] * 6)
        _small_table(t, 8)
        with when(doc, "dppa_line"):
            p(doc, "DPPA civil exposure: {{ dppa_line }}.")
        with when(doc, "dispositions_closed"):
            p(doc, "Not open in this case: {% for d in dispositions_closed %}{{ d.label }} ({{ d.why }})"
                   "{% if not loop.last %}; {% endif %}{% endfor %}.")

    with when(doc, "sections.recommendations"):
        doc.add_heading("Recommendations", level=1)
        each(doc, "r in recommendations", "{{ r.text }}", note=" {{ r.source }}")
        doc.add_heading("Open questions and investigation checklist", level=2)
        with when(doc, "priorities_top"):
            p(doc, "What to investigate first, ranked by what the answer would change (every question, with each answer "
                   "tried, the investigation step and the discovery request, is in Appendix I):")
            each(doc, "q in priorities_top", "{{ loop.index }}. {{ q.question }} {{ q.impact }}", style=None)
        with when(doc, "priorities_top and open_questions"):
            p(doc, "Other open questions:")
        each(doc, "q in open_questions", "{{ q }}")
        with when(doc, "not open_questions and not priorities_top"):
            p(doc, "None: every fact and date the rules need is in the case file.")
        with when(doc, "deadlines_ahead"):
            doc.add_heading("Deadlines ahead", level=2)
            each(doc, "dl in deadlines_ahead[:3]", "{{ dl.date }}: {{ dl.what }}.", note=" {{ dl.rule }}")
            p(doc, "Every dated event and deadline of the case, with a figure, is in Appendix H.")
        with when(doc, "timing_questions"):
            p(doc, "Every count is within its limitation period, so the questions of timing and tolling are in "
                   "Appendix A.")
        with when(doc, "discovery"):
            p(doc, "Discovery to demand: {{ discovery|length }} item{% if discovery|length != 1 %}s{% endif %}, each with "
                   "why and its source, listed in Appendix I with the request that answers each open question.")

    with when(doc, "sections.authorities"):
        doc.add_heading("Table of authorities", level=1)
        p(doc, "{{ authorities|length }} authorit{% if authorities|length == 1 %}y is{% else %}ies are{% endif %} cited, "
               "{{ authorities_unverified }} of them with a citation or holding not verified (listed in the box below); "
               "the table, with whom each helps, its verification status and its holding, is in Appendix D.")

    p(doc, "")
    box = doc.add_table(rows=1, cols=1)
    _box_borders(box)
    cell = box.rows[0].cells[0]
    _shade(cell, "FDECEA")
    cell.paragraphs[0].text = ("UNVERIFIED AUTHORITIES AND STATEMENTS: CHECK EACH BEFORE RELYING ON THIS MEMO "
                               "({{ unverified|length }})")
    cell.paragraphs[0].runs[0].bold = True
    cell.add_paragraph("{%p for u in unverified %}")
    item = cell.add_paragraph()
    item.add_run("{{ u.kind }}{% if u.label %} {{ u.label }}{% endif %}: {{ u.line }}")
    item.add_run("{% if u.note %} {{ u.note }}{% endif %}", style=NOTE_STYLE)
    for text in ("{%p endfor %}", "{%p if not unverified %}",
                 "None: every authority and statement this memo relies on is marked verified.", "{%p endif %}"):
        cell.add_paragraph(text)
    _small_table(box)

    # ---- appendices: on their own pages, after the body --------------------------------------------------
    doc.add_heading("Appendices", level=1).paragraph_format.page_break_before = True    # no blank page after a full one
    p(doc, "A. Other statutes in full. B. Code headings, statutory text quoted, and common misdescriptions. "
           "C. Collateral consequences in full. D. Table of authorities and their holdings. E. Evidence rows and files. "
           "F. The narrative as received. G. What each outcome costs, in full. H. Chronology. "
           "I. Open questions, investigation and discovery.")
    doc.add_heading("Appendix A. Other statutes in full", level=2)
    p(doc, "{{ defense_rule }}")
    p(doc, "{%p for s in appendix_statutes %}")
    _statute_block(doc, "s", level=3)
    with when(doc, "s.questions"):
        p(doc, "Open questions on {{ s.citation }}:")
        each(doc, "q in s.questions", "{{ q }}", style="List Bullet 2")
    p(doc, "{%p endfor %}")
    with when(doc, "not appendix_statutes"):
        p(doc, "None: the engine raises no statute beyond those in the case file.")
    with when(doc, "timing_questions"):
        p(doc, "Questions of timing and tolling on the counts in the case file (each is within its period now):")
        each(doc, "q in timing_questions", "{{ q }}", style="List Bullet 2")
    doc.add_heading("Appendix B. Code headings, statutory text quoted, and common misdescriptions", level=2)
    each(doc, "s in statutes", "Code heading of {{ s.citation }}: {{ s.official_heading }}.", style=None)
    each(doc, "pr in provisions", "{{ pr.label }}: {{ pr.text }}", style=None, note=" {{ pr.source }}")
    with when(doc, "not provisions"):
        p(doc, "None of the statutes above has a provision quoted in the knowledge base.")
    each(doc, "m in misdescriptions", "Often misdescribed: \u201c{{ m.claim }}\u201d. {{ m.correction }}", style=None)
    doc.add_heading("Appendix C. Collateral consequences in full", level=2)
    _consequences(doc, "{{ c.text }}", " {{ c.source }}{% if c.note %}. Note: {{ c.note }}{% endif %}")
    with when(doc, "not collateral"):
        p(doc, "None raised.")
    doc.add_heading("Appendix D. Table of authorities and their holdings", level=2)
    with when(doc, "authorities"):
        t = _table(doc, ["Authority", "Helps", "Verification"],
                   ["{{ a.cite }}", "{{ a.helps }}", "{{ a.status }}"], "{%tr for a in authorities %}")
        _widths(t, [104, 20, 46])
        _small_table(t, 8.5)
    each(doc, "a in authorities", "{{ a.cite }} ({{ a.helps }}; {{ a.status }}): {{ a.holding }}", style=None,
         note="{% if a.note %} Note: {{ a.note }}{% endif %}")
    with when(doc, "not authorities"):
        p(doc, "No authority is cited.")
    doc.add_heading("Appendix E. Evidence rows and files", level=2)
    each(doc, "ef in evidence_files", "{{ ef.file }} ({{ ef.kind }}, {{ ef.rows }} rows), SHA-256 {{ ef.sha256 }}",
         style=None)
    each(doc, "f in findings", "{{ f.label }} ({{ f.count }}): rows {{ f.all_rows }}.", style=None)
    with when(doc, "not evidence_files"):
        p(doc, "No evidence file was loaded.")
    with when(doc, "marked_events"):
        p(doc, "Events marked by the attorney (material, disputed, undisputed) with their notes:")
        _table(doc, ["When", "Audit row", "Subject", "Mark", "Note"],
               ["{{ e.time }}", "{{ e.where }}", "{{ e.subject }}", "{{ e.mark }}", "{{ e.note }}"],
               "{%tr for e in marked_events %}")
    doc.add_heading("Appendix F. The narrative as received", level=2)
    each(doc, "n in narrative_paragraphs", "{{ n }}", style=None)
    with when(doc, "not narrative"):
        p(doc, "No narrative was entered.")
    doc.add_heading("Appendix G. What each outcome costs, in full", level=2)
    p(doc, "{%p for d in dispositions %}")
    doc.add_heading("{{ d.label }}", level=3)
    with when(doc, "not d.available"):
        p(doc, "{{ d.availability }}")
    each(doc, "c in d.cells", "{{ c.heading }}: {{ c.text }}", note=" {{ c.rule }}")
    p(doc, "{%p endfor %}")
    with when(doc, "not dispositions"):
        p(doc, "The knowledge base holds no disposition matrix.")
    doc.add_heading("Appendix H. Chronology", level=2)
    each(doc, "ch in chronology_chart", "{{ ch.image }}", "Figure: {{ ch.title }}", style=None)
    with when(doc, "chronology"):
        t = _table(doc, ["Date", "Kind", "What", "Audit rows", "Rule, state"],
                   ["{{ e.date }}", "{{ e.kind }}", "{{ e.what }}", "{{ e.where }}",
                    "{{ e.rule }}{% if e.state %} ({{ e.state }}){% endif %}"], "{%tr for e in chronology %}")
        _widths(t, [22, 23, 59, 26, 36])
        _small_table(t, 8)
    with when(doc, "not chronology"):
        p(doc, "No date is known yet.")
    doc.add_heading("Appendix I. Open questions, investigation and discovery", level=2)
    p(doc, "Each question was answered every possible way and the case assessed again; ranked by what the answer "
           "would change (a defense that would decide the case first, then new or barred counts, then other "
           "defenses, collateral consequences and elements).")
    p(doc, "{%p for q in priorities %}")
    para = doc.add_paragraph()
    para.add_run("{{ q.rank }}. {{ q.question }}").bold = True
    p(doc, "{{ q.impact }} Answers tried: {{ q.answers }}.")
    with when(doc, "q.investigate"):
        p(doc, "Investigate: {{ q.investigate }}", style="List Bullet")
    with when(doc, "q.request"):
        p(doc, "Discovery request: {{ q.request }}", style="List Bullet", note="{% if q.source %} {{ q.source }}{% endif %}")
    p(doc, "{%p endfor %}")
    with when(doc, "not priorities"):
        p(doc, "None: every fact and date the rules need is in the case file.")
    with when(doc, "discovery"):
        doc.add_heading("Discovery to demand", level=3)
        each(doc, "d in discovery", "{{ d.item }} Why: {{ d.why }}", note=" {{ d.cite }}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path
