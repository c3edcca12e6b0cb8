"""The app, driven by Streamlit's AppTest: a demo case from Cases to Memo."""
import pytest
from streamlit.testing.v1 import AppTest

from assessment import memo
from conftest import ROOT, case_text

APP = str(ROOT / "streamlit_app.py")


@pytest.fixture
def at():
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def page(at, name):
    at.switch_page(f"assessment/pages/{name}.py")
    at.run()
    assert not at.exception, at.exception
    return at


def test_walks_demo_case_from_cases_to_memo(at):
    assert at.title[0].value == "Cases"
    assert "People v. Riley Tran" in at.info[0].value
    next(b for b in at.button if b.label == "Open demo: front-counter-login").click().run()
    assert "In re Dispatcher Pat Quinlan" in at.info[0].value

    page(at, "facts")
    box = next(s for s in at.selectbox if s.label.startswith("Results disclosed"))
    box.set_value("no")
    at.button[0].click().run()  # the form's submit button
    assert at.success[0].value == "Facts saved."
    assert at.session_state.case.facts.information_disclosed == "no"

    page(at, "evidence")
    assert [m.value for m in at.metric][:2] == ["272", "3"]

    page(at, "assessment_view")
    defenses = at.dataframe[-1].value
    assert defenses.iloc[0]["defense"] == "Mistaken identity" and defenses.iloc[0]["strength"] == "strong"

    page(at, "memo_view")
    assert any("queries on case subjects" in m.value for m in at.markdown)
    case = at.session_state.case
    data = memo.render(at.session_state.result, case)  # what the download button serves
    assert data[:2] == b"PK"


def test_bad_case_file_upload_keeps_the_open_case(at, monkeypatch):
    # AppTest cannot drive a file_uploader; call the loader the page uses with what it would receive.
    from assessment import casefile, ui
    from assessment.errors import AssessmentError
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
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    assert "knowledge base does not validate" in at.error[0].value
    assert "pc-92.yaml" in at.error[0].value and "KB002" in at.error[0].value
