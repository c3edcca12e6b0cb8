"""A saved knowledge-base edit reaches every browser session, not only the one that saved it."""
import shutil

from streamlit.testing.v1 import AppTest

from assessment.firm.context import Actor
from assessment.law import edit as kb_edit

from conftest import ROOT, make_user, sign_in

APP = str(ROOT / "streamlit_app.py")
OLD, NEW = "State prison for 2, 3 or 4 years", "State prison for two, three or four years"


def _pc_136_1(at) -> str:
    """The custody of PC 136.1's penalty tiers in the session's assessment (other statutes share the wording)."""
    (st,) = [s for s in at.session_state.result.statutes if s.statute_id == "pc-136.1"]
    return " | ".join(t.custody for t in st.penalty_tiers or [])


def test_an_edit_saved_elsewhere_reaches_a_session_that_already_has_its_assessment(tmp_path, monkeypatch):
    kb_dir = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", kb_dir)
    monkeypatch.setenv("CLETS_KB_DIR", str(kb_dir))
    monkeypatch.setenv("CLETS_KB_HISTORY", str(tmp_path / "history"))
    make_user("ann", "admin")
    staff = make_user("sam", "staff", demo=False)

    at = sign_in(AppTest.from_file(APP, default_timeout=120))
    at.run()                                           # the newest matter (Riley Tran, PC 136.1) opens
    at.switch_page("assessment/app/pages/assessment_view.py")
    at.run()
    assert not at.exception, at.exception
    assert OLD in _pc_136_1(at)                        # this session now keeps its assessment

    rel = "statutes/pc-136.1.yaml"                     # another user saves an edit, in another session
    text = (kb_dir / rel).read_text()
    kb_edit.save(Actor(staff, "test", "Knowledge base"), kb_dir, rel, text.replace(OLD, NEW),
                 author="Sam (sam)", reason="spell the numbers", base_sha=kb_edit.sha(text))

    at.run()                                           # this session's next run: nothing of its own changed
    assert not at.exception, at.exception
    tiers = _pc_136_1(at)
    assert NEW in tiers and OLD not in tiers
