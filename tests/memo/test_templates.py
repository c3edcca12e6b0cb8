"""Staff-owned memo templates: a broken or malicious .docx is refused with its place named;
good ones are versioned, and any version (or the built-in one) can be made active again."""
import io
import zipfile

import pytest
from docx import Document
from sqlalchemy import text as sql

from assessment.core.errors import TP001, AssessmentError, Problem
from assessment.firm import access_log, crypto, db
from assessment.firm.context import Actor
from assessment.firm.matters import Ctx
from assessment.firm.permissions import Forbidden
from assessment.memo import render as memo
from assessment.memo import templates as ts

from conftest import DEMO, make_user, run_cli

BUILTIN = ts.builtin().read_bytes()
CHECK = memo.check_template


def docx(*paragraphs: str, cell: str | None = None, footer: str | None = None) -> bytes:
    d = Document()
    for text in paragraphs:
        d.add_paragraph(text)
    if cell is not None:
        t = d.add_table(rows=2, cols=2)
        t.rows[1].cells[1].text = cell
    if footer is not None:
        d.sections[0].footer.paragraphs[0].text = footer
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def repack(data: bytes, add: dict[str, bytes] | None = None, edit: dict[str, tuple[bytes, bytes]] | None = None,
           compress: int = zipfile.ZIP_DEFLATED) -> bytes:
    """The same package with parts added, or with text replaced inside parts."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as out:
        for info in src.infolist():
            part = src.read(info.filename)
            if edit and info.filename in edit:
                old, new = edit[info.filename]
                assert old in part
                part = part.replace(old, new, 1)
            out.writestr(info.filename, part)
        for name, part in (add or {}).items():
            out.writestr(name, part)
    return buf.getvalue()


GOOD = docx("{{ firm.name }}", "{{ question }}", "LINK and IMPORT are words here, not fields",
            "{%p for line in brief_answer %}", "{{ line }}", "{%p endfor %}", footer="DRAFT {{ matter.id }}")
# a field whose instruction is split over two runs: `INCL` + `UDEPICTURE`, each harmless to a per-run check
SPLIT = (b'<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>INCL</w:instrText></w:r><w:r>'
         b'<w:instrText xml:space="preserve">UDEPICTURE "http://x.example/{{ client.name }}" </w:instrText></w:r>'
         b'<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>x</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/>'
         b'</w:r></w:p>')
REL = b'<Relationship Id="rIdX" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" ' \
      b'Target="https://tracker.example/pixel.png" TargetMode="External"/>'


def refusal(data: bytes) -> list:
    problems = memo.check_template(data, "firm.docx")
    assert problems, "the template was accepted"
    assert all(p.code.startswith("TP") and p.file == "firm.docx" for p in problems)
    return problems


@pytest.mark.parametrize("data, message, where", [
    (docx("{{ firm.name }}", cell="{{ s.citation "), "do not parse", "table 1, row 2, cell 2"),
    (docx("Intro", "{%p for d in defenses %}", "{{ d.name }}"), "do not parse", None),      # a loop never closed
    (docx("Dear {{ client.name }}", "{{ secret_key }}"), "unknown variable `secret_key`", "paragraph 2"),
    (docx("{% macro x() %}hi{% endmacro %}{{ x() }}"), "`macro` is not allowed", "paragraph 1"),
    (docx("ok", "{% include 'other.docx' %}"), "`include` is not allowed", "paragraph 2"),
    (docx("ok", footer="{% import 'os' as os %}"), "`import` is not allowed", "footer of section 1, paragraph 1"),
    (docx("{{ client.ssn }}"), "'ssn'", "paragraph 1"),                                     # a field the memo lacks
    (docx("x", "{{ ''.__class__.__mro__ }}"), "unsafe", "paragraph 2"),                      # sandbox escape
    (docx("{{ cycler.__init__.__globals__.os }}"), "unknown variable `cycler`", "paragraph 1"),  # a global, removed
])
def test_broken_or_malicious_tags_are_refused_with_their_place(data, message, where):
    problems = refusal(data)
    assert any(message in p.message and (where is None or p.field == where) for p in problems), \
        [(p.message, p.field) for p in problems]


@pytest.mark.parametrize("data, message", [
    (b"plain text, not a document", "not a Word .docx"),
    (b"PK\x03\x04broken", "damaged"),
    (repack(GOOD, add={"word/vbaProject.bin": b"\x00" * 64}), "macros"),
    (repack(GOOD, edit={"[Content_Types].xml": (b"document.main+xml", b"document.macroEnabled.main+xml")}),
     "macro-enabled"),
    (repack(GOOD, add={"word/embeddings/oleObject1.bin": b"\xd0\xcf\x11\xe0" + b"\x00" * 60}), "embedded object"),
    (repack(GOOD, edit={"word/_rels/document.xml.rels": (b"</Relationships>", REL + b"</Relationships>")}),
     "external link to https://tracker.example/pixel.png"),
    (repack(GOOD, edit={"word/document.xml": (b"<w:body>", b'<w:body><w:p><w:r><w:instrText> INCLUDETEXT '
                                                          b'"\\\\\\\\host\\\\share\\\\x.docx" </w:instrText></w:r></w:p>')}),
     "INCLUDETEXT field"),
    (repack(GOOD, edit={"word/document.xml": (b"<w:body>", b'<w:body><w:p><w:fldSimple w:instr=" HYPERLINK &quot;'
                                                          b'https://tracker.example&quot; "><w:r><w:t>site</w:t></w:r>'
                                                          b'</w:fldSimple></w:p>')}), "HYPERLINK field"),
    (repack(GOOD, edit={"word/document.xml": (b"<w:body>", b"<w:body>" + SPLIT)}), "INCLUDEPICTURE field"),
    (repack(GOOD, edit={"word/document.xml": (b"<w:body>", b'<w:body><w:p xmlns:v="http://schemas.openxmlformats.org/'
                                                          b'wordprocessingml/2006/main"><v:r><v:instrText> INCLUDETEXT '
                                                          b'"/etc/passwd" </v:instrText></v:r></w:p>')}),
     "INCLUDETEXT field"),                                       # another prefix for Word's namespace
    (repack(GOOD, edit={"word/_rels/document.xml.rels": (b"</Relationships>", REL.replace(b'"', b"'") +
                                                         b"</Relationships>")}),
     "external link to https://tracker.example/pixel.png"),      # attributes in single quotes
    (repack(GOOD, edit={"word/document.xml": (b"<w:body>", b'<w:body><w:p><w:fldSimple w:instr=" ASK pw &quot;Your '
                                                          b'password?&quot; "/></w:p>')}), "ASK field, which is not"),
    (repack(GOOD, edit={"word/document.xml": (b"<w:body>", b"<w:body><w:p><w:r><w:instrText> {{ 'INCLUDE' ~ 'TEXT' }} "
                                                          b"/etc/passwd </w:instrText></w:r></w:p>")}),
     "a field whose name is a template tag"),
    (repack(GOOD, edit={"word/document.xml": (b"?>", b'?><!DOCTYPE x [<!ENTITY a "aaaa">]>')}), "DTD"),
    (repack(GOOD, add={"word/media/bomb.bin": b"\x00" * (70 * 2**20)}), "zip bomb"),
    (repack(GOOD, add={"word/media/dense.bin": b"\x00" * (3 * 2**20)}), "expands"),
])
def test_dangerous_packages_are_refused(data, message):
    problems = refusal(data)
    assert any(message in p.message for p in problems), [p.message for p in problems]


def test_a_good_template_passes_and_renders_a_memo(kb):
    assert memo.check_template(GOOD, "firm.docx") == []
    assert memo.check_template(BUILTIN, "memo.docx") == []


def test_a_field_instruction_is_read_whole_and_judged_by_an_allow_list(kb):
    """Issue 13, H4: `INCL` + `UDEPICTURE` in two runs passed the per-run check of a forbidden list;
    the instruction is now joined from its fldChar begin to its separate, and only fields that
    number, date or cross-reference pass."""
    (p,) = memo.check_template(repack(GOOD, edit={"word/document.xml": (b"<w:body>", b"<w:body>" + SPLIT)}), "firm.docx")
    assert p.message == "the template holds a INCLUDEPICTURE field, which fetches or links outside content"
    assert p.field == "paragraph 1" and "INCLUDEPICTURE \"http://x.example/{{ client.name }}\"" in p.hint
    fields = (b'<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> DATE \\@ "MMMM d, yyyy" '
              b'</w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
              b'<w:p><w:fldSimple w:instr=" = 2 * 3 "/><w:fldSimple w:instr="PAGEREF _Toc1 \\h"/></w:p>')
    assert memo.check_template(repack(GOOD, edit={"word/document.xml": (b"<w:body>", b"<w:body>" + fields)}), "firm.docx") == []


def test_versions_history_conflict_and_revert(kb):
    """Through the Memo templates page's services: each call its own transaction, the role checked
    and the save logged."""
    dana = Actor(make_user("dana", "staff", demo=False), "test", "Memo templates")
    ann = Actor(make_user("ann", "attorney", demo=False), "test", "Memo templates")
    data, version = ts.current()
    assert version is None and data == BUILTIN
    _, base, history = ts.listing(dana)
    assert base == ts.sha(BUILTIN) and history == []
    v1 = ts.upload(dana, GOOD, "firm letterhead.docx", author="Dana (staff)", reason="new letterhead", base_sha=base,
                   check=CHECK)
    assert ts.current() == (GOOD, v1) and ts.listing(dana)[1] == ts.sha(GOOD)
    with pytest.raises(ts.Conflict):             # a second editor who opened the page before v1 was saved
        ts.upload(dana, BUILTIN, "memo.docx", author="Lee", reason="other change", base_sha=base, check=CHECK)
    with pytest.raises(AssessmentError):         # refused: nothing stored, the active template unchanged
        ts.upload(dana, docx("{{ nope }}"), "bad.docx", author="Lee", reason="typo", base_sha=ts.sha(GOOD), check=CHECK)
    with pytest.raises(Forbidden):               # an attorney's role may not change the firm's template
        ts.upload(ann, GOOD, "x.docx", author="Ann", reason="mine", base_sha=ts.sha(GOOD), check=CHECK)
    with pytest.raises(Forbidden):               # nor see its versions
        ts.listing(ann)
    assert [v.sha for v in ts.listing(dana)[2]] == [v1.sha]
    v2 = ts.restore(dana, None, author="Lee", reason="back to default", base_sha=ts.sha(GOOD), check=CHECK)
    assert ts.listing(dana)[1] == ts.sha(BUILTIN) and "revert to the built-in template" in v2.reason
    ts.restore(dana, v1, author="Lee", reason="the letterhead after all", base_sha=ts.sha(BUILTIN), check=CHECK)
    assert ts.listing(dana)[1] == ts.sha(GOOD) and len(ts.listing(dana)[2]) == 3
    with pytest.raises(AssessmentError):
        ts.upload(dana, GOOD, "x.docx", author=" ", reason="no name", base_sha=ts.sha(GOOD), check=CHECK)
    with db.session() as s:
        saves = [r.reason for r in access_log.query(s, event="template-save", outcome="success")]
        refused = [(r.actor, r.event, r.place) for r in access_log.query(s, outcome="denied")]
    assert len(saves) == 3 and saves[-1].startswith("firm letterhead.docx, SHA-256 ")
    ann_ = access_log.actor_id(ann.user)          # each refusal logged once, newest first
    assert refused == [(ann_, "template-list", "Memo templates"), (ann_, "template-save", "Memo templates")]
    with db.engine().connect() as conn:          # kept encrypted, like every stored file
        stored = bytes(conn.execute(sql("SELECT content FROM blobs WHERE sha256 = :h"), {"h": ts.sha(GOOD)}).scalar_one())
    assert crypto.is_sealed(stored) and b"word/document.xml" not in stored


def test_a_restored_old_upload_is_checked_again(kb, monkeypatch):
    dana = Actor(make_user("dana", "staff", demo=False), "test", "Memo templates")
    v1 = ts.upload(dana, GOOD, "firm.docx", author="Dana", reason="letterhead", base_sha=ts.sha(BUILTIN), check=CHECK)
    ts.restore(dana, None, author="Dana", reason="back", base_sha=ts.sha(GOOD), check=CHECK)
    refuse = lambda data, name: [Problem(TP001, "refused by today's checks", file=name)]   # noqa: E731
    with pytest.raises(AssessmentError) as exc:
        ts.restore(dana, v1, author="Dana", reason="again", base_sha=ts.sha(BUILTIN), check=refuse)
    assert exc.value.problems[0].message == "refused by today's checks" and ts.current()[1].reason.startswith("revert")


def test_memos_use_the_active_template(kb):
    dana = Actor(make_user("dana", "staff", demo=False), "test", "Memo templates")
    ts.upload(dana, GOOD, "firm.docx", author="Dana", reason="letterhead", base_sha=ts.sha(BUILTIN), check=CHECK)
    result, case = memo.demo_case()
    doc = Document(io.BytesIO(memo.render(result, case, ts.current()[0], firm_name="Alder & Quist LLP")))
    assert [p.text for p in doc.paragraphs][:2] == ["Alder & Quist LLP", memo.question_presented(result, case)]


def test_the_active_template_download_is_for_staff_and_logged(kb):
    dana, ann = make_user("dana", "staff", demo=False), make_user("ann", "attorney", demo=False)
    with db.session() as s:                       # each download in its own transaction, as exports.py runs it
        assert ts.export_active(Ctx(s, dana, "test", "Memo templates")) == BUILTIN
    with pytest.raises(Forbidden), db.session() as s:
        ts.export_active(Ctx(s, ann, "test", "Memo templates"))
    with db.session() as s:
        exports = [(r.actor, r.outcome, r.object_id) for r in reversed(access_log.query(s, event="export"))
                   if r.object_type == "template"]
    assert exports == [(access_log.actor_id(dana), "success", "built-in"),
                       (access_log.actor_id(ann), "denied", "")]       # the refusal logged, once


def test_template_check_command_names_the_place(tmp_path):
    bad = tmp_path / "letterhead.docx"
    bad.write_bytes(docx("ok", cell="{{ s.citation "))
    res = run_cli("template-check", str(bad))
    assert res.returncode == 1 and "TP001 at table 1, row 2, cell 2: the tags do not parse" in res.stderr
    good = tmp_path / "good.docx"
    good.write_bytes(GOOD)
    res = run_cli("template-check", str(good))
    assert res.returncode == 0 and "passes every check" in res.stdout


def test_memo_command_applies_a_review_file(tmp_path):
    review = tmp_path / "review.yaml"
    review.write_text("overrides:\n  - {kind: defense, target: mistaken-identity, value: weak, reason: admits the login}\n"
                      "sections: [facts, defenses]\n")
    out = tmp_path / "m.docx"
    res = run_cli("memo", str(DEMO / "front-counter-login" / "case.yaml"), "-o", str(out), "--review", str(review),
                  "--no-charts")
    assert res.returncode == 0, res.stderr
    body = "\n".join(p.text for p in Document(str(out)).paragraphs)
    assert "Strength stated: weak, the attorney's judgment (the engine gives moderate): admits the login" in body
    assert "Evidence findings" not in body
    review.write_text("sections: [facts, gossip]\n")
    res = run_cli("memo", str(DEMO / "front-counter-login" / "case.yaml"), "-o", str(out), "--review", str(review))
    assert res.returncode == 1 and "CF004 at sections" in res.stderr and "gossip" in res.stderr
