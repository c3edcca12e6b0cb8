import datetime as dt
import shutil

import pytest

from assessment.core.errors import AssessmentError
from assessment.firm import access_log, db
from assessment.firm.context import Actor
from assessment.firm.permissions import Forbidden
from assessment.law import edit as kb_edit
from assessment.law import kb as kbmod
from assessment.law import validation
from assessment.narrative import pipeline as narrative

from conftest import ROOT, make_user

REL = "statutes/pc-92.yaml"


@pytest.fixture
def kb_dir(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "knowledge", tmp_path / "knowledge")
    monkeypatch.setenv("CLETS_KB_HISTORY", str(tmp_path / "history"))
    return tmp_path / "knowledge"


@pytest.fixture
def who():
    """A signed-in member of staff, as the editor page names them to the save."""
    return Actor(make_user("sam", "staff", demo=False), "session test", "Knowledge base")


def kb_log() -> list:
    with db.session() as s:
        return access_log.query(s, event="kb-edit")


def test_valid_edit_is_saved_with_author_reason_and_history(kb_dir, who):
    old, base = kb_edit.read(kb_dir, REL)
    new = old.replace("State prison for 2, 3 or 4 years", "State prison for two, three or four years")
    record = kb_edit.save(who, kb_dir, REL, new, author="S. Staff", reason="spell out numbers", base_sha=base)
    assert (kb_dir / REL).read_text() == new
    assert kbmod.load(kb_dir).statutes["pc-92"].penalties[0].custody == "State prison for two, three or four years"
    (h,) = kb_edit.history(kb_dir, REL)
    assert h == record
    assert (h.author, h.reason, h.before_sha, h.after_sha) == ("S. Staff", "spell out numbers", base, kb_edit.sha(new))
    assert kb_edit.version_text(kb_dir, h.before) == old


@pytest.mark.parametrize("breakage, code", [
    (lambda t: t.replace("classification: felony", "classification: serious"), "KB002"),
    (lambda t: t + "  - oops: [unclosed\n", "KB001"),
    (lambda t: t.replace("id: pc-92", "id: pc-529"), "KB004"),
    (lambda t: t.replace("classification: felony", "classification: misdemeanor"), "KB006"),  # a scenario expects felony
])
def test_broken_edit_is_refused_and_nothing_changes(kb_dir, who, breakage, code):
    old, base = kb_edit.read(kb_dir, REL)
    with pytest.raises(AssessmentError) as err:
        kb_edit.save(who, kb_dir, REL, breakage(old), author="S. Staff", reason="test", base_sha=base)
    assert code in {p.code for p in err.value.problems}
    assert all(p.file for p in err.value.problems)
    assert (kb_dir / REL).read_text() == old
    assert kb_edit.history(kb_dir) == []


def test_edit_needs_author_and_reason(kb_dir, who):
    old, base = kb_edit.read(kb_dir, REL)
    with pytest.raises(AssessmentError):
        kb_edit.save(who, kb_dir, REL, old + "\n", author=" ", reason="x", base_sha=base)


def test_second_editor_is_told_of_the_conflict(kb_dir, who):
    old, base = kb_edit.read(kb_dir, REL)  # both open the same version
    first = old.replace("Any violation", "Every violation")
    kb_edit.save(who, kb_dir, REL, first, author="First", reason="wording", base_sha=base)
    second = old.replace("State prison", "Prison")
    with pytest.raises(kb_edit.Conflict) as err:
        kb_edit.save(who, kb_dir, REL, second, author="Second", reason="other wording", base_sha=base)
    assert "by First" in str(err.value) and err.value.theirs == first
    assert (kb_dir / REL).read_text() == first


def test_revert_restores_the_earlier_text(kb_dir, who):
    old, base = kb_edit.read(kb_dir, REL)
    new = old.replace("Any violation", "Every violation")
    rec = kb_edit.save(who, kb_dir, REL, new, author="A", reason="wording", base_sha=base)
    back = kb_edit.revert(who, kb_dir, REL, rec, author="B", reason="back", base_sha=kb_edit.sha(new))
    assert (kb_dir / REL).read_text() == old
    assert [r.author for r in kb_edit.history(kb_dir, REL)] == ["B", "A"]
    assert [row.reason.split(",")[0] for row in kb_log()] == [f"version {back.time}", f"version {rec.time}"]


def test_every_save_is_in_the_access_log_with_user_file_and_version(kb_dir, who):
    old, base = kb_edit.read(kb_dir, REL)
    new = old.replace("Any violation", "Every violation")
    record = kb_edit.save(who, kb_dir, REL, new, author="Sam (sam)", reason="wording", base_sha=base)
    (row,) = kb_log()
    assert (row.actor, row.object_type, row.object_id, row.outcome) == (f"{who.user.id}:sam", "kb-file", REL, "success")
    assert f"version {record.time}" in row.reason and record.after_sha[:16] in row.reason
    assert (row.place, row.source) == ("Knowledge base", "session test")
    assert "wording" not in row.reason          # ids in the log; the words stay in the history


def test_a_refused_or_forbidden_save_writes_nothing_and_logs_only_the_refusal(kb_dir, who):
    old, base = kb_edit.read(kb_dir, REL)
    with pytest.raises(AssessmentError):
        kb_edit.save(who, kb_dir, REL, old.replace("classification: felony", "classification: serious"),
                     author="S", reason="r", base_sha=base)
    pat = make_user("pat", "paralegal", demo=False)
    reader = Actor(pat, "session test", "Knowledge base")
    with pytest.raises(Forbidden):
        kb_edit.save(reader, kb_dir, REL, old.replace("Any violation", "Every violation"), author="P", reason="r",
                     base_sha=base)
    assert (kb_dir / REL).read_text() == old and kb_edit.history(kb_dir) == []
    assert [(r.actor, r.outcome, r.object_id, r.reason) for r in kb_log()] == [
        (access_log.actor_id(pat), "denied", REL, "the paralegal role may not kb edit")]


# ---- the narrative-mining data: the same validator as `clets-assess validate-kb`, caches emptied on save
BROKEN_NLP = [
    ("nlp/entities.yaml", "normalize: statute", "normalize: statue", "patterns[0].normalize"),
    ("nlp/entities.yaml", "(?P<code>(?i:cal(?:ifornia)?", "(?P<code>((?i:cal(?:ifornia)?", "patterns[0].regex"),
    ("nlp/facts.yaml", "  financial_gain:\n", "  financial_gains:\n", "facts"),
    ("nlp/gold.yaml", "\nnarratives:", "\nnarrative:", "narrative"),
]


@pytest.mark.parametrize("rel, old, new, field", BROKEN_NLP, ids=[f"{b[0]}:{b[3]}" for b in BROKEN_NLP])
def test_a_broken_pattern_file_is_refused_by_the_editor_with_its_place(kb_dir, who, rel, old, new, field):
    text, base = kb_edit.read(kb_dir, rel)
    assert old in text
    with pytest.raises(AssessmentError) as err:
        kb_edit.save(who, kb_dir, rel, text.replace(old, new, 1), author="S", reason="r", base_sha=base)
    p = next(p for p in err.value.problems if p.field and p.field.startswith(field))
    assert p.code == "KB002" and p.file == f"knowledge/{rel}" and p.line is not None
    assert (kb_dir / rel).read_text() == text and kb_edit.history(kb_dir) == [] and kb_log() == []
    assert kb_edit.check(kb_dir, rel, text.replace(old, new, 1))[0]          # what the page shows before a save


def test_the_editor_offers_exactly_the_files_the_validator_reads(kb_dir):
    offered = kb_edit.files(kb_dir)
    assert {"nlp/entities.yaml", "nlp/facts.yaml", "nlp/gold.yaml", REL, "statutes/pc-92.scenarios.yaml",
            "authorities.yaml"} <= set(offered)
    assert offered == [str(p.relative_to(kb_dir)) for p in validation.files(kb_dir)]
    (kb_dir / "nlp" / "notes.yaml").write_text("anything: goes\n")       # read by nothing: not offered, not saved
    assert "nlp/notes.yaml" not in kb_edit.files(kb_dir)
    with pytest.raises(AssessmentError):
        kb_edit.check(kb_dir, "nlp/notes.yaml", "anything: else\n")


def test_a_valid_nlp_edit_takes_effect_in_the_next_extraction_without_restart(kb_dir, who, monkeypatch):
    monkeypatch.setenv("CLETS_KB_DIR", str(kb_dir))
    text = "The query came from QX-4471 at noon."
    before = narrative.extract(text, None, ["Riley Tran"])       # fills the caches from the saved files
    assert before["entities"] == []
    entities, base = kb_edit.read(kb_dir, "nlp/entities.yaml")
    pattern = ("  - label: TERMINAL\n    name: test-qx-terminal\n    normalize: ident\n"
               "    regex: '\\bQX-\\d{4}\\b'\n")
    kb_edit.save(who, kb_dir, "nlp/entities.yaml", entities.replace("patterns:\n", "patterns:\n" + pattern, 1),
                 author="S", reason="a new terminal form", base_sha=base)
    after = narrative.extract(text, None, ["Riley Tran"])
    assert [(e["label"], e["text"]) for e in after["entities"]] == [("TERMINAL", "QX-4471")]


def test_a_valid_fact_rule_edit_takes_effect_without_restart(kb_dir, who, monkeypatch):
    monkeypatch.setenv("CLETS_KB_DIR", str(kb_dir))
    text = "Riley Tran zorbled the plate for his cousin."
    assert narrative.extract(text, None, ["Riley Tran"])["facts"] == []
    rules, base = kb_edit.read(kb_dir, "nlp/facts.yaml")
    assert "  information_disclosed:\n" in rules
    edited = rules.replace("  information_disclosed:\n", "  information_disclosed:\n    client_acts: [zorbled]\n", 1)
    kb_edit.save(who, kb_dir, "nlp/facts.yaml", edited, author="S", reason="a new verb", base_sha=base)
    assert {(f["key"], f["value"]) for f in narrative.extract(text, None, ["Riley Tran"])["facts"]} == \
        {("information_disclosed", "yes")}


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
