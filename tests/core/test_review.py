"""The attorney's review: overrides printed as the attorney's judgment beside the engine's answer,
notes, chosen sections, and memos kept with their inputs' hash, template and author."""
import io

import pytest
from docx import Document
from sqlalchemy import select

from assessment.core import review as rv
from assessment.core.errors import AssessmentError
from assessment.firm import db, matters
from assessment.firm.context import Actor
from assessment.firm.permissions import Forbidden
from assessment.firm.tables import Matter
from assessment.memo import archive as memo_archive
from assessment.memo import render as memo
from assessment.memo import templates as ts

from conftest import make_user

BUILTIN = ts.builtin()


@pytest.fixture(scope="module")
def demo():
    return memo.demo_case()


def render(result, case, **kw) -> bytes:
    return memo.render(result, case, BUILTIN, **kw)


def text(data: bytes) -> str:
    doc = Document(io.BytesIO(data))
    parts = [p.text for p in doc.paragraphs]
    for t in doc.tables:
        parts += [c.text for row in t.rows for c in row.cells]
    return "\n".join(parts)


def headings(data: bytes) -> list[str]:
    return [p.text for p in Document(io.BytesIO(data)).paragraphs if p.style.name.startswith("Heading")]


def test_every_conclusion_is_listed_for_review(demo):
    result, _ = demo
    rows = result.conclusions()
    assert {r.target for r in rows if r.kind == "defense"} == {d.id for d in result.defenses}
    n_elements = sum(len(s.elements) for s in result.statutes)
    assert sum(r.kind == "element" for r in rows) == n_elements
    assert all(r.basis for r in rows)


def test_an_override_is_the_attorneys_judgment_with_the_engines_answer_beside_it(demo):
    result, case = demo
    weakest = result.defenses[-1]
    element = result.statutes[0].elements[0]
    review = rv.Review().with_override("defense", weakest.id, "strong", "CAD shows a call at the address") \
        .with_override("element", rv.element_target(result.statutes[0].citation, element.id), "contested",
                       "the log shows another terminal")
    applied = result.reviewed(review)
    d = next(x for x in applied.defenses if x.id == weakest.id)
    assert (d.strength, d.override.engine) == ("strong", weakest.strength)
    assert applied.defenses[0].id == weakest.id                     # re-ranked by the strength stated
    assert result.defenses[-1].strength == weakest.strength          # the engine's result is untouched
    body = text(render(result, case, review=review))
    assert (f"Strength stated: strong, the attorney's judgment (the engine gives "
            f"{weakest.strength.replace('-', ' ')}): CAD shows a call at the address") in body
    assert f"contested; attorney's judgment (the engine gives {element.status}): the log shows another terminal" in body
    assert "The attorney's judgment" in headings(render(result, case, review=review))


def test_no_override_no_judgment_section(demo):
    result, case = demo
    data = render(result, case)
    assert "The attorney's judgment" not in headings(data) and "attorney's judgment" not in text(data)


def test_an_override_without_a_reason_or_on_a_conclusion_the_memo_no_longer_states_is_refused(demo):
    result, _ = demo
    rows = [{"kind": "defense", "target": result.defenses[0].id, "conclusion": "Defense X",
             "engine": result.defenses[0].strength, "your judgment": "weak", "reason": " "}]
    review, missing = rv.from_rows(rows, "", list(rv.SECTIONS))
    assert review is None and missing == ["Defense X"]
    rows[0]["your judgment"] = rows[0]["engine"]                    # same as the engine's: no override
    review, missing = rv.from_rows(rows, "", list(rv.SECTIONS))
    assert review.overrides == [] and missing == []
    stale = rv.Review().with_override("defense", "no-such-defense", "strong", "old note")
    assert [p.field for p in rv.check(result.conclusions(), stale)] == ["review.overrides[0]"]
    with pytest.raises(AssessmentError) as exc:
        result.reviewed(stale)
    assert "no longer states" in exc.value.problems[0].message and exc.value.problems[0].field == "review.overrides[0]"
    with pytest.raises(ValueError):
        rv.Review(sections=["facts", "gossip"])


def test_notes_and_chosen_sections(demo):
    result, case = demo
    review = rv.Review(notes="Client credible; {{ matter.id }} <b>x</b>", sections=["facts", "defenses"])
    data = render(result, case, review=review)
    hs = headings(data)
    assert {"Question presented", "Brief answer", "Attorney's notes", "Facts", "Defenses, ranked"} <= set(hs)
    for gone in ("Evidence findings", "Charges, elements and exposure", "Collateral consequences", "Recommendations",
                 "Table of authorities"):
        assert gone not in hs
    body = text(data)
    assert "Client credible; {{ matter.id }} <b>x</b>" in body                       # printed, not interpreted
    assert "UNVERIFIED AUTHORITIES AND STATEMENTS" in body                          # always there


def test_generated_memos_are_kept_with_inputs_hash_template_and_author(demo):
    result, case = demo
    pat = make_user("pat", "paralegal")
    review = rv.Review(notes="n1")
    data = render(result, case, review=review)
    h1 = memo_archive.inputs_sha(case, result, review, [], "Firm")
    assert h1 == memo_archive.inputs_sha(case, result, review, [], "Firm")         # deterministic
    assert h1 != memo_archive.inputs_sha(case, result, rv.Review(notes="n2"), [], "Firm")
    with db.session() as s:
        c = matters.Ctx(s, pat, "test", "test")
        pk = s.execute(select(Matter.id).where(Matter.ref == case.matter.id)).scalar_one()
        rec = memo_archive.store(c, pk, data, inputs=h1, template_sha=ts.active_sha(s), template_version="built-in",
                                 review=review)
    with db.session() as s:
        c = matters.Ctx(s, pat, "test", "test")
        (got,) = memo_archive.records(c, pk)
        assert got == rec and got.generated_by == "Pat" and got.template_sha == ts.sha(ts.builtin().read_bytes())
        assert memo_archive.read(c, pk, got.id) == data
        assert memo_archive.review_of(c, pk, got.id).notes == "n1"
    pat_here = Actor(pat, "test", "test")               # the Memo page's services: their own transaction each
    again = memo_archive.keep(pat_here, pk, data, inputs=h1, template_sha=rec.template_sha, template_version="built-in",
                              review=review)
    assert [r.id for r in memo_archive.listing(pat_here, pk)] == [again.id, rec.id]
    outsider = Actor(make_user("oz", "attorney", demo=False), "test", "test")     # not listed on the matter
    with pytest.raises(Forbidden):
        memo_archive.listing(outsider, pk)
