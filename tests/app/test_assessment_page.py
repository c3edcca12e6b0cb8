"""The Assessment page as a user reads it (issue 19, item 5): the bottom line first and the details
folded away; each defense with its reasons for and against in words, its authorities (verified or
not) and what would strengthen it; every basis in words, each a link to the page it comes from."""
import re

import pytest

from assessment.memo import brief
from assessment.memo.words import Words

from conftest import app_session, make_user

RAW_ID = re.compile(r"\b(?:finding|fact|kb|narrative|computed|audit):[a-z_]|#row")
PAGES = {"audit": "evidence", "fact": "facts", "narrative": "facts", "kb": "knowledge_view",
         "computed": "chronology_view"}
CASE_PAGE = {"client", "dates", "allegations", "subjects", "matter"}      # facts entered on the Case page


def page_of(part) -> str:
    """Where a basis piece links: the client, dates and charges to the Case page, other facts to Facts."""
    if part.kind == "fact" and any(i.split(":", 1)[-1].split(".")[0] in CASE_PAGE for i in part.ids):
        return "case_view"
    return PAGES[part.kind]


@pytest.fixture
def at():
    make_user("ann", "admin")
    return app_session("ann", timeout=90)


def assessment(at, title_part: str | None = None):
    """The Assessment page of a demo matter (the newest, Riley Tran, is open already)."""
    if title_part:
        from sqlalchemy import select

        from assessment.firm import db
        from assessment.firm.tables import Matter
        with db.session() as s:
            pk = s.execute(select(Matter.id).where(Matter.title.contains(title_part))).scalar_one()
        at.switch_page("assessment/app/pages/cases.py")
        at.run()
        next(b for b in at.button if b.key == f"open-{pk}").click().run()
    at.switch_page("assessment/app/pages/assessment_view.py")
    at.run()
    assert not at.exception, at.exception
    return at


def walk(block, folded: tuple = ()):
    """Every element of the page in order, with the expanders it sits in."""
    for key in sorted(block.children):
        node = block.children[key]
        if getattr(node, "children", None) is not None and node.type != "page_link":
            yield from walk(node, folded + ((node,) if node.type == "expander" else ()))
        else:
            yield node, folded


def text(node) -> str:
    """What the user reads: an element's text less Markdown's escapes."""
    value = node.value if node.type in ("markdown", "caption", "header", "page_link", "alert") else ""
    return value.replace("\\", "") if isinstance(value, str) else ""


def unescape(label: str) -> str:
    return label.replace("\\", "")


def test_the_brief_answer_comes_first_and_the_details_are_folded(at):
    assessment(at)
    result = at.session_state.result
    shown = list(walk(at.main))
    texts = [text(n) for n, _ in shown]

    def first(test) -> int:
        return next(i for i, (n, _) in enumerate(shown) if test(n))
    brief_at = first(lambda n: n.type == "header" and n.value == "Brief answer")
    details_at = first(lambda n: n.type in ("dataframe", "table", "expander")
                       or (n.type == "header" and n.value != "Brief answer"))
    labels = ["Most serious exposure", "Limitation", "Strongest defenses", "Largest collateral risk"]
    points = {label: next(i for i, t in enumerate(texts) if t.startswith(f"- **{label}:**")) for label in labels}
    questions = next(i for i, t in enumerate(texts) if t.startswith("**Open questions that matter most**"))
    assert brief_at < min(points.values()) and max(points.values()) < questions < details_at   # the answer first

    top = brief.most_serious(result)                                   # and each of the five says what it must
    assert top.citation in texts[points["Most serious exposure"]]
    assert all(s.citation in texts[points["Limitation"]] for s in brief.case_counts(result))
    lead = [d.name for d in result.defenses if d.strength != "not-supported"][:2]
    assert len(lead) == 2 and all(name in texts[points["Strongest defenses"]] for name in lead)
    assert "Administrative and licensing" in texts[points["Largest collateral risk"]]
    assert len(re.findall(r"^\d\. ", texts[questions], re.M)) == 3

    assert at.expander and not any(e.proto.expanded for e in at.expander)       # the details are folded away
    assert any(n.type in ("dataframe", "table") and "element" in n.value.columns for n, _ in shown)
    for node, folded in shown:
        if node.type in ("dataframe", "table") and "element" in node.value.columns:   # each charge's elements
            assert folded, "an elements table outside an expander"
        if node.type == "table":                             # the outcome table, every answer tried, the elements
            assert folded, "a table outside an expander"
    cell = result.dispositions[0].cells[0]
    assert all(folded for n, folded in shown if text(n).startswith(f"**{cell.heading}**"))   # the disposition cells
    listed = [(n, folded) for n, folded in shown if text(n).startswith("- ") and any(   # all open questions
        q in text(n) for q in result.open_questions)]
    assert listed and all(folded for _, folded in listed)


def test_a_defense_shows_its_reasons_for_and_against_its_authorities_and_what_would_strengthen_it(at):
    assessment(at)
    result = at.session_state.result
    words = Words(result, at.session_state.case)
    d = next(d for d in result.defenses if d.id == "access-with-permission")
    assert d.reasons_for and d.reasons_against and d.strength == "weak"
    (box,) = [e for e in at.expander if unescape(e.label).startswith(f"{d.name}: weak")]
    inside = [n for n, _ in walk(box)]
    said = "\n".join(text(n) for n in inside)
    links = [(text(n), n.proto.page) for n in inside if n.type == "page_link"]

    assert "Strength: weak." in said and "(supporting)" in said and "(substantial)" in said  # as the engine computed it
    for title, reasons in (("For it", d.reasons_for), ("Against it", d.reasons_against)):
        assert f"**{title}**" in said
        for r in reasons:                                           # each reason in words, with its basis as links
            assert r.reason.rstrip(".") in said
            for part in words.parts(r.basis):
                assert (part.text, page_of(part)) in links
    assert "(legal effect: substantial)" in said                   # the knowledge base's weight of a factor
    for cite in d.authorities_for + d.authorities_against:
        line = next(t for t in said.splitlines() if cite in t)
        a = next(a for a in result.authorities if a.cite == cite)
        assert ("(verified)" in line) == (a.verified and a.holding_verified)
    assert "Chrisman v. City of Los Angeles (2007) 155 Cal.App.4th 29 (:red[**UNVERIFIED: holding**])" in said
    assert "UNVERIFIED" in unescape(box.label)                     # seen without opening it
    assert "**What would strengthen it**" in said
    assert all(t.rstrip(".") in said for t in d.to_strengthen)
    assert ("Knowledge base: Access with permission", "knowledge_view") in links


def test_what_an_answer_would_change_is_shown_with_the_defense_it_strengthens(at):
    assessment(at, "Pat Quinlan")
    result = at.session_state.result
    p = next(p for p in result.investigation_priorities if p.fact == "fact:prior_discipline")
    (box,) = [e for e in at.expander if unescape(e.label).startswith("Mitigation and plea negotiation: not supported")]
    said = "\n".join(text(n) for n, _ in walk(box))
    assert f"{p.question} If no: not supported \u2192 **weak**" in said


def test_provenance_reads_as_words_and_links_to_where_it_comes_from(at):
    assessment(at, "Pat Quinlan")
    result = at.session_state.result
    shown = list(walk(at.main))
    everything = [text(n) for n, _ in shown] + [unescape(e.label) for e in at.expander]
    everything += [v for n, _ in shown if n.type in ("dataframe", "table")
                   for v in n.value.astype(str).to_numpy().ravel()]
    assert not [t for t in everything if RAW_ID.search(t)]                     # words, never ids

    links = [(n.value, n.proto.page) for n, _ in shown if n.type == "page_link"]
    assert links and {page for _, page in links} <= set(PAGES.values()) | {"case_view"}
    assert ("Charges in the case file", "case_view") in links
    assert all(not re.search(r"(?<!\\)[()\[\]:]", label) for label, _ in links)  # case text stays text
    plain = {(unescape(label), page) for label, page in links}
    assert ("Audit log rows 506, 507 and 528 (unassigned terminal)", "evidence") in plain
    assert ("Fact: credentials shared (yes)", "facts") in plain
    assert ("Knowledge base: PC 502(c)(7)", "knowledge_view") in plain
    assert ("Knowledge base: Mistaken identity", "knowledge_view") in plain

    texts = [text(n) for n, _ in shown]                                 # the brief answer's sources, each a link
    start = next(i for i, t in enumerate(texts) if t.startswith("- **Strongest defenses:**"))
    end = next(i for i, t in enumerate(texts) if t.startswith("- **Largest collateral risk:**"))
    under = [text(n) for n, _ in shown[start:end] if n.type == "page_link"]
    answer = brief.brief(result, at.session_state.case)
    assert "; ".join(under) == next(pt.source for pt in answer.points if pt.label == "Strongest defenses")
