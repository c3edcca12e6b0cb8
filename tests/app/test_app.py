"""The app, driven by Streamlit's AppTest: a demo case from Cases to Memo."""
import io
import re

import pytest
from docx import Document
from streamlit.testing.v1 import AppTest

from assessment.core import review
from assessment.memo import render as memo
from assessment.memo import templates as template_store

from conftest import ROOT, case_text, make_user, sign_in, stored_memos

APP = str(ROOT / "streamlit_app.py")


@pytest.fixture
def at():
    make_user("ann", "admin")
    at = sign_in(AppTest.from_file(APP, default_timeout=60))
    at.run()
    assert not at.exception, at.exception
    return at


def saved(title_part: str):
    """The matter's row in the database, as another session would read it."""
    from sqlalchemy import select

    from assessment.firm import db
    from assessment.firm.tables import Matter
    with db.session() as s:
        return s.execute(select(Matter).where(Matter.title.contains(title_part))).scalar_one()


def open_matter(at, title_part: str):
    next(b for b in at.button if b.key == f"open-{saved(title_part).id}").click().run()
    assert not at.exception, at.exception
    return at


def page(at, name):
    at.switch_page(f"assessment/app/pages/{name}.py")
    at.run()
    assert not at.exception, at.exception
    return at


def test_walks_demo_case_from_cases_to_memo(at):
    assert at.title[0].value == "Matters"
    assert "Riley Tran" in at.info[0].value       # the newest matter opens by itself
    open_matter(at, "In re Dispatcher Pat Quinlan")
    assert "In re Dispatcher Pat Quinlan" in at.info[0].value
    version = saved("Pat Quinlan").version

    page(at, "facts")
    box = next(s for s in at.selectbox if s.label.startswith("Results disclosed"))
    box.set_value("no").run()                                # no button: saved as the user works
    assert not at.exception, at.exception
    assert at.session_state.case.facts.information_disclosed == "no"
    row = saved("Pat Quinlan")                               # saved as the user works
    assert "information_disclosed: no" in row.casefile and row.version == version + 1

    page(at, "evidence")
    assert [m.value for m in at.metric][:2] == ["272", "3"]

    page(at, "assessment_view")
    assert at.header[0].value == "Brief answer"                 # the bottom line first, as the memo opens
    shown = [m.value.replace("\\", "") for m in at.markdown]          # as written, less Markdown's escapes
    assert any("No charge has been filed against Pat Quinlan. The allegation is PC 502(c)(7). PC 502(c)(7) is an "
               "infraction." in m for m in shown)
    assert not any(re.search(r"\b(fact|finding|kb):[a-z]", m) for m in shown)               # words, not ids
    assert "fact:" not in at.dataframe[-1].value.to_string() and "finding:" not in at.dataframe[-1].value.to_string()
    assert any("**Strongest defenses:** Mistaken identity (moderate)" in m for m in shown)
    defenses = at.dataframe[-1].value
    assert defenses.iloc[0]["defense"] == "Mistaken identity" and defenses.iloc[0]["strength"] == "moderate"
    assert "(substantial)" in defenses.iloc[0]["why"]          # the deciding factor and its legal effect

    page(at, "review_view")
    assert at.title[0].value == "Review" and len(at.session_state.review.overrides) == 0
    stated = next(d.value for d in at.dataframe if "memo states" in d.value.columns)   # no judgment changes these
    assert "PC 502(c)(7): classification" in set(stated["conclusion"])
    assert any(c.startswith("finding subject-queries") for c in stated["conclusion"])
    top = at.session_state.result.defenses[0]
    edits = {"edited_rows": {0: {"your judgment": "weak", "reason": ""}}, "added_rows": [], "deleted_rows": []}
    grid = f"case-review-{at.session_state.case_form_gens['review'][0]}-defenses"
    at.session_state[grid] = edits
    at.run()                                                    # no button: a judgment without a reason waits
    assert any("Not saved yet: give a reason" in w.value for w in at.warning)
    assert len(at.session_state.review.overrides) == 0
    edits["edited_rows"][0]["reason"] = "the ORI mismatch is explained"
    at.session_state[grid] = edits
    at.run()
    assert not at.warning and any(c.value.startswith("Saved as you work: 1 judgment(s)") for c in at.caption)
    assert at.session_state.review.overrides == [review.Override(kind="defense", target=top.id, value="weak",
                                                                 reason="the ORI mismatch is explained")]
    assert review.Review.model_validate_json(saved("Pat Quinlan").review) == at.session_state.review

    page(at, "memo_view")
    next(t for t in at.toggle if t.label.startswith("Also make a PDF")).set_value(False)
    next(b for b in at.button if b.label == "Generate memo").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value.startswith("Memo generated and kept with the matter")
    ((rec, data),) = stored_memos(at)
    assert rec.overrides == 1 and rec.template_version == "built-in" and rec.generated_by == "Ann"
    doc = Document(io.BytesIO(data))
    assert len(doc.inline_shapes) == 3        # the two charts drawn in the background after analysis, the chronology
    assert doc.tables[0].rows[2].cells[1].text.startswith("Ann")          # prepared by the signed-in attorney
    body = "\n".join(p.text for p in doc.paragraphs)
    assert "Strength stated: weak, the attorney's judgment" in body and "the ORI mismatch is explained" in body
    assert any(b.label == "Download memo (.docx)" for b in at.get("download_button"))


def test_the_assessment_page_ranks_what_to_investigate_and_tables_what_each_outcome_costs(at):
    """Issue 18 on the Assessment page: the open questions ranked by what the answer changes, with the step and the
    request; the disposition matrix for the client's role, every cell with its rule; answering the first question
    on the Facts page removes it from the ranking."""
    open_matter(at, "In re Dispatcher Pat Quinlan")
    page(at, "assessment_view")
    heads = [h.value for h in at.header]
    assert heads[:3] == ["Brief answer", "What to investigate first", "What each outcome costs"]
    result = at.session_state.result
    first = next(p for p in result.investigation_priorities if p.changes)
    shown = [m.value.replace("\\", "") for m in at.markdown]
    assert any(m.startswith(f"1. **{first.question}**") and first.impact in m and "Investigate:" in m for m in shown)
    table = next(t.value for t in at.table if t.value.index.name == "outcome")
    assert list(table.index)[:2] == ["Dismissal", "Diversion"]
    post = next(c for c in table.columns if c.startswith("POST"))
    felony = next(d for d in result.dispositions if d.id == "felony")
    row = felony.label if felony.available else felony.label + " (not open)"
    cell = next(c for c in felony.cells if c.column == "post")
    assert table.loc[row, post] == (cell.short + ("" if cell.verified else " \u2020") if felony.available
                                    else "")
    assert any(m.startswith(f"**{cell.heading}**") and cell.rule[:20] in m for m in shown)   # in full, with its rule
    fact = next(p for p in result.investigation_priorities if p.changes and "." not in p.fact)
    page(at, "facts")
    box = next(s for s in at.selectbox if s.label.startswith(fact.label))
    box.set_value(fact.answer).run()
    page(at, "assessment_view")
    assert fact.fact not in [p.fact for p in at.session_state.result.investigation_priorities]


def test_bad_case_file_upload_keeps_the_open_case(at, monkeypatch):
    # AppTest cannot drive a file_uploader; call the loader the page uses with what it would receive.
    from assessment.app import state as ui
    from assessment.core import casefile
    from assessment.core.errors import AssessmentError
    before = at.session_state.case
    with pytest.raises(AssessmentError) as err:
        casefile.loads(case_text(matter='matter:\n  id: "X"\n  title: t\n  stage: chargd'), "upload.yaml", ui.knowledge())
    assert "upload.yaml:5:3: CF004 at matter.stage" in str(err.value)
    assert at.session_state.case == before


def test_knowledge_base_page_lists_statutes(at):
    page(at, "knowledge_view")
    labels = [e.label for e in at.expander]
    assert any(label.startswith("PC 92: Bribery") for label in labels)


def test_broken_knowledge_base_is_a_visible_located_error(tmp_path, monkeypatch):
    import shutil
    shutil.copytree(ROOT / "knowledge", tmp_path / "knowledge")
    path = tmp_path / "knowledge" / "statutes" / "pc-92.yaml"
    path.write_text(path.read_text().replace("classification: felony", "classification: serious"))
    monkeypatch.setenv("CLETS_KB_DIR", str(tmp_path / "knowledge"))
    make_user("ann", "admin", demo=False)
    at = sign_in(AppTest.from_file(APP, default_timeout=60))
    at.run()
    assert not at.exception
    assert "knowledge base does not validate" in at.error[0].value
    assert "pc-92.yaml" in at.error[0].value and "KB002" in at.error[0].value


def test_staff_edit_broken_then_valid_then_history(tmp_path, monkeypatch):
    import shutil

    from assessment.law import edit as kb_edit
    kb_dir = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", kb_dir)
    monkeypatch.setenv("CLETS_KB_DIR", str(kb_dir))
    monkeypatch.setenv("CLETS_KB_HISTORY", str(tmp_path / "history"))
    rel = "statutes/pc-92.yaml"
    original = (kb_dir / rel).read_text()
    make_user("sam", "staff", demo=False)
    at = sign_in(AppTest.from_file(APP, default_timeout=120), "sam")
    at.run()
    page(at, "knowledge_view")
    at.selectbox(key="kb_file").set_value(rel).run()
    assert at.text_area(key="kb_text").value == original

    at.text_area(key="kb_text").input(original.replace("classification: felony", "classification: serious")).run()
    assert any("KB002" in e.value and "pc-92.yaml" in e.value for e in at.error)
    at.text_input(key="kb_reason").input("typo test").run()
    next(b for b in at.button if b.label == "Save").click().run()
    assert (kb_dir / rel).read_text() == original  # refused: nothing written

    edited = original.replace("State prison for 2, 3 or 4 years", "State prison for two, three or four years")
    at.text_area(key="kb_text").input(edited).run()
    assert any("scenarios pass" in s.value for s in at.success)
    next(b for b in at.button if b.label == "Save").click().run()
    assert any(s.value.startswith(f"Saved {rel}") for s in at.success)
    assert (kb_dir / rel).read_text() == edited
    (record,) = kb_edit.history(kb_dir, rel)
    assert (record.author, record.reason) == ("Sam (sam)", "typo test")     # the signed-in user, not a typed name
    from assessment.app.state import md_escape
    assert any(e.label.endswith(md_escape("Sam (sam): typo test")) for e in at.expander)     # escaped Markdown


def test_facts_page_suggests_from_the_narrative_and_an_accepted_fact_cites_its_sentence(at):
    page(at, "facts")
    assert any("STATUTE" in m.value or "DATE" in m.value for m in at.markdown)     # the highlighted narrative
    accept = next(b for b in at.button if b.key == "accept-compelled_statement-yes-3")
    assert "Lybarger" in at.text[0].value or any("Lybarger" in t.value for t in at.text)
    accept.click().run()
    assert not at.exception, at.exception
    assert at.session_state.case.facts.compelled_statement == "yes"
    assert at.session_state.narrative_basis["compelled_statement"]["sentence"] == 3
    assert not any(b.key == "accept-compelled_statement-yes-3" for b in at.button)
    # the assessment cites the sentence beside the fact, and the memo's facts section shows it
    page(at, "assessment_view")
    cited = [b for d in at.session_state.result.defenses for r in d.reasons_for + d.reasons_against
             for b in r.basis]
    assert "fact:compelled_statement" in cited and "narrative:3" in cited
    ctx = memo.context(at.session_state.result, at.session_state.case)
    line = next(f for f in ctx["fact_groups"] if f["text"].startswith("From the narrative: compelled statement"))
    assert line["text"].endswith("(yes).") and line["source"].startswith("Narrative, sentence 3: \u201c")
    assert "Lybarger" in line["source"]


def test_rejecting_a_suggestion_changes_nothing(at):
    page(at, "facts")
    before = at.session_state.case.facts
    next(b for b in at.button if b.key == "reject-compelled_statement-yes-3").click().run()
    assert at.session_state.case.facts == before
    assert not any(b.key == "accept-compelled_statement-yes-3" for b in at.button)


def test_templates_page_shows_the_active_template_and_its_history(at):
    from assessment.firm import db
    data = template_store.builtin().read_bytes()
    with db.session() as s:
        template_store.save(s, at.session_state.user, data, "firm.docx", author="Dana", reason="first letterhead",
                            base_sha=template_store.active_sha(s), check=memo.check_template)
    page(at, "templates_view")
    assert "firm\\.docx" in at.markdown[0].value and "Dana" in at.markdown[0].value   # escaped Markdown
    assert any("first letterhead" in m.value for m in at.markdown)


def test_review_page_offers_to_drop_judgments_that_no_longer_fit(at):
    at.session_state.review = review.Review().with_override("defense", "no-longer-there", "strong", "old reason")
    page(at, "review_view")
    assert "no longer fit" in at.warning[0].value
    next(b for b in at.button if b.label == "Drop the judgments that no longer fit").click().run()
    assert not at.exception and at.session_state.review.overrides == [] and not at.warning


def test_facts_page_puts_confident_suggestions_first_and_hides_low_ones_until_asked(at):
    case = at.session_state.case
    client = case.client.name
    narrative = (f"ALLEGATIONS\n{client} disclosed the address to a neighbor.\n\nFINDINGS\n"
                 f"{client} was ordered to answer questions in a compelled interview.")
    at.session_state.case = case.model_copy(update={"facts": case.facts.model_copy(update={"narrative": narrative})})
    page(at, "facts")
    captions = [c.value for c in at.caption if "confidence \u00b7 sentence" in c.value]
    assert captions and captions[0].startswith("High confidence") and "Trigger words" in captions[0]
    assert not any((b.key or "").startswith("accept-information_disclosed") for b in at.button)   # hidden
    at.toggle(key="show-low-suggestions").set_value(True).run()
    low = [c.value for c in at.caption if c.value.startswith("Low confidence")]
    assert low and "allegation" in low[0]
    assert any((b.key or "").startswith("accept-information_disclosed-yes") for b in at.button)
    assert at.session_state.case.facts.information_disclosed == case.facts.information_disclosed   # no click, no change
