"""The memo's decision support (issue 18): what each outcome costs (a short table in the body, every cell with its
rule in Appendix G), what to investigate first (ranked in the body, every question with its answers, step and
request in Appendix I), and the chronology (figure and table in Appendix H, the deadlines ahead in the body)."""
import datetime as dt
import io

import pytest
from docx import Document

from assessment.core import casefile
from assessment.evidence import analyse as evidence
from assessment.law import engine
from assessment.memo import render as memo
from assessment.memo import templates as template_store

from conftest import DEMO

AS_OF = dt.date(2026, 11, 30)


@pytest.fixture(scope="module")
def memo_of(kb):
    folder = DEMO / "off-duty-lookups"
    case = casefile.load(folder / "case.yaml", kb)
    result = engine.assess(case, kb, evidence.analyse(case, folder), AS_OF)
    return result, Document(io.BytesIO(memo.render(result, case, template_store.builtin())))


def after(doc, heading: str) -> list:
    """The paragraphs after a heading, up to the next heading of the same or a higher level."""
    paras = doc.paragraphs
    start = next(i for i, p in enumerate(paras) if p.text == heading and p.style.name.startswith("Heading"))
    level = paras[start].style.name
    out = []
    for p in paras[start + 1:]:
        if p.style.name.startswith("Heading") and p.style.name <= level:
            break
        out.append(p)
    return out


def table_after(doc, first_header: str, header_count: int):
    return next(t for t in doc.tables if t.rows[0].cells[0].text == first_header and len(t.columns) == header_count)


def test_the_body_table_gives_each_open_outcome_in_a_few_words(memo_of):
    result, doc = memo_of
    table = table_after(doc, "Outcome", 7)
    rows = [[c.text for c in r.cells] for r in table.rows[1:]]
    open_rows = [d for d in result.dispositions if d.available]
    assert [r[0] for r in rows] == [d.label for d in open_rows]
    felony = next(r for r in rows if r[0] == "Felony conviction")
    cells = {c.column: c for c in next(d for d in result.dispositions if d.id == "felony").cells}
    assert felony[3].startswith(cells["post"].short)                 # POST column, the knowledge base's short form
    assert felony[3].endswith("\u2020") == (not cells["post"].verified)
    text = "\n".join(p.text for p in after(doc, "What each outcome costs"))
    assert "DPPA civil exposure:" in text
    closed = [d.label for d in result.dispositions if not d.available]
    assert all(label in text for label in closed) and "Not open in this case" in text


def test_appendix_g_gives_every_cell_in_full_with_its_rule(memo_of):
    result, doc = memo_of
    paras = after(doc, "Appendix G. What each outcome costs, in full")
    text = "\n".join(p.text for p in paras)
    for d in result.dispositions:
        assert d.label in text
        for c in d.cells:
            assert c.text[:60] in text, (d.id, c.column)
    assert any("UNVERIFIED" in p.text for p in paras) == any(not c.verified for d in result.dispositions for c in d.cells)


def test_the_body_ranks_what_to_investigate_and_appendix_i_gives_every_question(memo_of):
    result, doc = memo_of
    body = "\n".join(p.text for p in after(doc, "Open questions and investigation checklist"))
    moving = [p for p in result.investigation_priorities if p.changes]
    assert moving and f"1. {moving[0].question} {moving[0].impact}" in body
    appendix = "\n".join(p.text for p in after(doc, "Appendix I. Open questions, investigation and discovery"))
    for p in result.investigation_priorities:
        assert f"{p.rank}. {p.question}" in appendix
        assert p.investigation[:50] in appendix and p.discovery_request[:50] in appendix


def test_appendix_h_has_the_chronology_figure_and_every_entry(memo_of):
    result, doc = memo_of
    heading = next(i for i, p in enumerate(doc.paragraphs) if p.text == "Appendix H. Chronology")
    figure = doc.paragraphs[heading + 1]
    assert figure._p.xpath(".//pic:pic"), "the chronology figure follows the heading"
    assert doc.paragraphs[heading + 2].text.startswith("Figure: The case chronology")
    table = table_after(doc, "Date", 5)
    assert len(table.rows) - 1 == len(result.chronology)
    assert [r.cells[0].text for r in table.rows[1:]] == [e.date[:10] for e in result.chronology]


def test_the_deadlines_ahead_leave_out_passed_suggested_and_charged_ones(kb, memo_of):
    """The officer's count is charged (its clock stopped) and the POBR year is tolled while the criminal case is
    pending: no deadline is ahead, and the body says nothing of one. The dispatcher's count is only alleged: its
    limitation date is ahead and listed; suggested statutes' dates are not."""
    _, doc = memo_of
    assert "Deadlines ahead" not in [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    folder = DEMO / "front-counter-login"
    case = casefile.load(folder / "case.yaml", kb)
    result = engine.assess(case, kb, evidence.analyse(case, folder), AS_OF)
    doc = Document(io.BytesIO(memo.render(result, case, template_store.builtin())))
    listed = [p.text for p in after(doc, "Deadlines ahead") if p.text[:4].isdigit()]
    suggested = [s.citation for s in result.statutes if s.source == "suggested"]
    assert listed and all(x[:10] >= AS_OF.isoformat() for x in listed)
    assert any("PC 502(c)(7) (alleged)" in x for x in listed)
    assert not any(x[12:].startswith(tuple(f"{c} (" for c in suggested)) for x in listed)
