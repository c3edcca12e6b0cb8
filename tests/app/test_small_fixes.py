"""What a browser walk saw (issue 19, item 9): the knowledge base's statutes in code and section
order, every earlier memo downloadable, the Memo templates page showing an upload at once, and an
empty evidence upload reported once, by the file's own name."""
import pytest
from streamlit.testing.v1 import AppTest

from assessment.memo import templates as template_store

from conftest import ROOT, make_user, sign_in

APP = str(ROOT / "streamlit_app.py")


def start(role="attorney", page=None):
    make_user("ann", role)
    at = sign_in(AppTest.from_file(APP, default_timeout=120))
    at.run()
    if page:
        at.switch_page(f"assessment/app/pages/{page}.py")
        at.run()
    assert not at.exception, at.exception
    return at


# ---- the knowledge base ---------------------------------------------------------------------------
def test_statutes_are_listed_by_code_then_section_number():
    at = start(page="knowledge_view")
    cites = [e.label.split(":")[0] for e in at.expander if not e.label.startswith("Defense")]
    for earlier, later in [("PC 67.5", "PC 68"), ("PC 92", "PC 484"), ("PC 484", "PC 502"), ("PC 502", "PC 11142"),
                           ("PC 135", "PC 135.5"), ("PC 530.5", "PC 632"), ("PC 13304", "VC 1808.45"),
                           ("VC 1808.45", "VC 1808.46"), ("VC 1808.46", "GC 6200"), ("GC 6200", "GC 7920.000"),
                           ("GC 7920.000", "GC 15153"), ("GC 15153", "18 USC 1030")]:
        assert cites.index(earlier) < cites.index(later), (earlier, later, cites)
    assert cites[0] == "PC 67.5" and cites[-1] == "18 USC 2724"


# ---- earlier memos --------------------------------------------------------------------------------
def test_every_memo_generated_for_the_matter_can_be_downloaded(monkeypatch):
    from assessment.app import state as ui
    from assessment.firm import db, matters
    from assessment.memo import archive
    at = start()
    pk = at.session_state.matter_pk
    with db.session() as s:
        c = matters.Ctx(s, at.session_state.user, "t", "t")
        first = archive.store(c, pk, b"first memo", inputs="0" * 64, template_sha="1" * 64, template_version="built-in",
                              review=None, pdf=b"first pdf")
        second = archive.store(c, pk, b"second memo", inputs="2" * 64, template_sha="1" * 64,
                               template_version="built-in", review=None)
    offered = {}
    original = ui.download

    def spy(label, make, file_name, mime, container=None, **kw):
        offered[kw.get("key") or label] = (label, make, file_name)
        return original(label, make, file_name, mime, container, **kw)
    monkeypatch.setattr(ui, "download", spy)
    at.switch_page("assessment/app/pages/memo_view.py")
    at.run()
    assert not at.exception, at.exception
    labels = [b.label for b in at.get("download_button")]
    assert labels.count(".docx") == 2 and labels.count("PDF") == 1       # one row per memo, the PDF where there is one
    rows = [m.value.replace("\\", "") for m in at.markdown]
    rows = [m for m in rows if "judgment(s)" in m]
    assert len(rows) == 2 and rows[0].startswith(second.time) and rows[1].startswith(first.time)
    with db.session() as s:                   # what each button hands out when clicked (made then, and logged)
        c = matters.Ctx(s, at.session_state.user, "t", "t")
        assert offered[f"memo-docx-{first.id}"][1](c) == b"first memo"
        assert offered[f"memo-pdf-{first.id}"][1](c) == b"first pdf"
        assert offered[f"memo-docx-{second.id}"][1](c) == b"second memo"
        from assessment.firm import access_log
        assert {r.reason for r in access_log.query(s, event="export")} >= {f"memo {first.id} (docx)",
                                                                            f"memo {first.id} (pdf)"}
    assert offered[f"memo-docx-{first.id}"][2] == f"DEMO-001-assessment-memo-{first.time}.docx"


# ---- memo templates -------------------------------------------------------------------------------
def test_an_uploaded_template_is_shown_as_the_active_one_at_once():
    at = start("admin", "templates_view")
    assert "the built-in template" in at.markdown[0].value
    at.get("file_uploader")[0].upload("firm.docx", template_store.builtin().read_bytes(),
                                      "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    next(t for t in at.text_input if t.label == "Reason for the change").input("letterhead")
    next(b for b in at.button if b.label == "Check and save").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.success[0].value.startswith("Saved and active: firm\\.docx")
    active = at.markdown[0].value
    assert active.startswith("**Active template:** firm\\.docx") and "built-in" not in active and "letterhead" in active
    assert any("firm\\.docx" in m.value and "(active)" in m.value for m in at.markdown)   # and first in the history


# ---- an empty evidence file -----------------------------------------------------------------------
@pytest.fixture
def evidence_page():
    return start(page="evidence")


def load(at, name, data, which=0):
    at.get("file_uploader")[which].upload(name, data, "text/csv")
    next(b for b in at.button if b.label == "Load evidence").click().run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("which, name", [(0, "Empty log.csv"), (1, "shifts (1).csv")])
def test_an_empty_upload_is_reported_once_by_its_own_name(evidence_page, which, name):
    at = evidence_page
    before = at.session_state.case.evidence
    load(at, name, b"", which)
    errors = [e.value.replace("\\", "") for e in at.error]
    assert errors == [f"The evidence was not loaded. Nothing was changed.\n\n- `{name}:1: EV002: the file is empty "
                      "(export the log again with a header row and at least one data row)`"]
    assert at.session_state.case.evidence == before
    assert not any(s.value == "Column mapping of the upload" for s in at.subheader)   # nothing to map in an empty file
    at.run()                                   # and it does not come back on the next run
    assert not at.error and [m.label for m in at.metric][:1] == ["Client queries"]


def test_a_problem_naming_the_sessions_folder_names_the_file_only(evidence_page, monkeypatch):
    """An error a reader words with the file's path (an OS error: "[Errno 5] ...: '/.../tmp/clets-session-
    .../log.xlsx'") shows the file as the user named it, once."""
    from assessment.core.errors import EV002, AssessmentError, Problem
    from assessment.evidence import sniff
    real = sniff._sample

    def failing(path, vocab):
        if path.name == "log.xlsx":
            raise AssessmentError([Problem(EV002, f"cannot read the workbook: [Errno 5] Input/output error: '{path}'",
                                           file=str(path), hint=f"save {path} again from Excel")])
        return real(path, vocab)
    monkeypatch.setattr(sniff, "_sample", failing)
    at = evidence_page
    load(at, "log.xlsx", b"x,y\n1,2\n")
    errors = [e.value.replace("\\", "") for e in at.error]
    assert len(errors) == 1, errors
    assert ("- `log.xlsx: EV002: cannot read the workbook: [Errno 5] Input/output error: 'log.xlsx' (save log.xlsx "
            "again from Excel)`") in errors[0]
    assert "/tmp" not in errors[0] and "clets-" not in errors[0]
