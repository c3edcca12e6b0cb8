import datetime as dt
import shutil

import pytest

from assessment.law import kb as kbmod
from assessment.law import edit as kb_edit
from assessment.core.errors import AssessmentError
from conftest import ROOT

REL = "statutes/pc-92.yaml"


@pytest.fixture
def kb_dir(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "knowledge", tmp_path / "knowledge")
    monkeypatch.setenv("CLETS_KB_HISTORY", str(tmp_path / "history"))
    return tmp_path / "knowledge"


def test_valid_edit_is_saved_with_author_reason_and_history(kb_dir):
    old, base = kb_edit.read(kb_dir, REL)
    new = old.replace("State prison for 2, 3 or 4 years", "State prison for two, three or four years")
    record = kb_edit.save(kb_dir, REL, new, author="S. Staff", reason="spell out numbers", base_sha=base)
    assert (kb_dir / REL).read_text() == new
    assert kbmod.load(kb_dir).statutes["pc-92"].penalties[0].custody == "State prison for two, three or four years"
    (h,) = kb_edit.history(kb_dir, REL)
    assert (h.author, h.reason, h.before_sha, h.after_sha) == ("S. Staff", "spell out numbers", base, kb_edit.sha(new))
    assert kb_edit.version_text(kb_dir, h.before) == old


@pytest.mark.parametrize("breakage, code", [
    (lambda t: t.replace("classification: felony", "classification: serious"), "KB002"),
    (lambda t: t + "  - oops: [unclosed\n", "KB001"),
    (lambda t: t.replace("id: pc-92", "id: pc-529"), "KB004"),
    (lambda t: t.replace("classification: felony", "classification: misdemeanor"), "KB006"),  # a scenario expects felony
])
def test_broken_edit_is_refused_and_nothing_changes(kb_dir, breakage, code):
    old, base = kb_edit.read(kb_dir, REL)
    with pytest.raises(AssessmentError) as err:
        kb_edit.save(kb_dir, REL, breakage(old), author="S. Staff", reason="test", base_sha=base)
    assert code in {p.code for p in err.value.problems}
    assert all(p.file for p in err.value.problems)
    assert (kb_dir / REL).read_text() == old
    assert kb_edit.history(kb_dir) == []


def test_edit_needs_author_and_reason(kb_dir):
    old, base = kb_edit.read(kb_dir, REL)
    with pytest.raises(AssessmentError):
        kb_edit.save(kb_dir, REL, old + "\n", author=" ", reason="x", base_sha=base)


def test_second_editor_is_told_of_the_conflict(kb_dir):
    old, base = kb_edit.read(kb_dir, REL)  # both open the same version
    first = old.replace("Any violation", "Every violation")
    kb_edit.save(kb_dir, REL, first, author="First", reason="wording", base_sha=base)
    second = old.replace("State prison", "Prison")
    with pytest.raises(kb_edit.Conflict) as err:
        kb_edit.save(kb_dir, REL, second, author="Second", reason="other wording", base_sha=base)
    assert "by First" in str(err.value) and err.value.theirs == first
    assert (kb_dir / REL).read_text() == first


def test_revert_restores_the_earlier_text(kb_dir):
    old, base = kb_edit.read(kb_dir, REL)
    new = old.replace("Any violation", "Every violation")
    rec = kb_edit.save(kb_dir, REL, new, author="A", reason="wording", base_sha=base)
    kb_edit.revert(kb_dir, REL, rec, author="B", reason="back", base_sha=kb_edit.sha(new))
    assert (kb_dir / REL).read_text() == old
    assert [r.author for r in kb_edit.history(kb_dir, REL)] == ["B", "A"]


def test_form_edits_keep_comments_quotes_and_key_order(kb_dir):
    old, _ = kb_edit.read(kb_dir, REL)
    new = kb_edit.set_fields(old, {("verified",): False, ("verified_on",): dt.date(2026, 12, 1)})
    assert new.splitlines()[0] == old.splitlines()[0] and old.splitlines()[0].startswith("#")
    assert [line.split(":")[0] for line in new.splitlines() if line and not line.startswith((" ", "#", "-"))] == \
           [line.split(":")[0] for line in old.splitlines() if line and not line.startswith((" ", "#", "-"))]
    assert "verified: false" in new and "verified_on: 2026-12-01" in new
    assert 'section: "92"' in new  # quoting kept
    assert len(new.splitlines()) == len(old.splitlines())


def test_paths_outside_the_knowledge_base_are_refused(kb_dir):
    with pytest.raises(AssessmentError):
        kb_edit.check(kb_dir, "../pyproject.toml", "x")
