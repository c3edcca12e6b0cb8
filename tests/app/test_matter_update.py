"""Updating the open matter from a case file or bundle on the Matters page (issue 19, item 2): what
would change is shown in words before anything is written; applying it saves through the firm's
services on the version compared (a save made since is refused), keeps the matter's id, is
logged, and leaves the session on the new case; a refused file changes nothing and says why.
A create whose id belongs to a deleted matter offers it back, and an administrator purges it."""
import io
import zipfile

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from assessment.core import casefile
from assessment.firm import access_log, crypto, db, matters
from assessment.firm.tables import Matter, User

from conftest import DEMO, ROOT, make_user, sign_in

APP = str(ROOT / "streamlit_app.py")
AUDIT = (DEMO / "off-duty-lookups" / "audit.csv").read_bytes()


@pytest.fixture
def at():
    make_user("ann", "attorney")
    at = sign_in(AppTest.from_file(APP, default_timeout=90))
    at.run()
    assert not at.exception, at.exception
    assert at.session_state.case.matter.id == "DEMO-001"          # the newest matter opens by itself
    return at


def row(ref="DEMO-001"):
    with db.session() as s:
        m = s.execute(select(Matter).where(Matter.ref == ref)).scalar_one()
        s.expunge(m)
        return m


def shown(at) -> str:
    """Every text on the page, as the user reads it (less Markdown's escapes)."""
    parts = [e.value for kind in ("markdown", "error", "warning", "info", "success") for e in at.get(kind)]
    return "\n".join(parts).replace("\\", "")


def upload(at, name, data, key="update_upload_0"):
    next(u for u in at.get("file_uploader") if u.key == key).upload(name, data, "application/octet-stream")
    at.run()
    return at


def click(at, label):
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, at.exception
    return at


def changed_yaml() -> str:
    """DEMO-001's case file under another id, with a second operator id, an allegation changed, one
    added, a subject removed and one added, a fact and a date changed."""
    text = (DEMO / "off-duty-lookups" / "case.yaml").read_text()
    for old, new in [('id: "DEMO-001"', 'id: "OTHER-9"'), ("operator_ids: [PO5512]", "operator_ids: [PO5512, PO7000]"),
                     ('{citation: "VC 1808.45", status: charged, counts: 2}',
                      '{citation: "VC 1808.45", status: charged, counts: 3}\n  - {citation: "PC 11142", status: alleged}'),
                     ("  - {name: Casey Moreno, relationship: acquaintance, dob: 1987-11-02, plate: \"7CMZ552\"}\n",
                      "  - {name: Lee Park, relationship: neighbor}\n"),
                     ("harm_to_subject: yes", "harm_to_subject: no"), ("last_query: 2025-04-27", "last_query: 2025-04-28")]:
        assert old in text, old
        text = text.replace(old, new)
    return text


def test_a_case_file_update_is_shown_in_words_then_applied_keeping_the_matters_id(at):
    before = row()
    upload(at, "changed.yaml", changed_yaml().encode())
    click(at, "Show what would change")
    page = shown(at)
    for line in ["matter.id: the file says OTHER-9; the matter keeps its id DEMO-001",
                 "client.operator_ids: [PO5512] -> [PO5512, PO7000]",
                 "allegation VC 1808.45: counts: 2 -> 3",
                 "allegation added: PC 11142 (status: alleged, counts: 1)",
                 "subject removed: Casey Moreno (relationship: acquaintance, protective_order: none, dob: 1987-11-02, "
                 "plate: 7CMZ552)",
                 "subject added: Lee Park (relationship: neighbor, protective_order: none)",
                 "facts.harm_to_subject: yes -> no", "dates.last_query: 2025-04-27 -> 2025-04-28"]:
        assert line in page, line
    assert "Nothing is saved until you apply it" in page
    assert row().version == before.version and row().casefile == before.casefile          # nothing written yet

    click(at, "Apply these changes")
    after = row()
    assert after.id == before.id and after.version == before.version + 1 and after.ref == "DEMO-001"
    saved = casefile.loads(after.casefile)
    assert saved.client.operator_ids == ["PO5512", "PO7000"] and [s.name for s in saved.subjects][-1] == "Lee Park"
    assert at.session_state.case == saved and at.session_state.matter_version == after.version   # the session holds it
    assert "This matter was updated from changed.yaml: version" in shown(at)
    assert not any(b.label == "Apply these changes" for b in at.button)
    with db.session() as s:
        events = [(r.event, r.object_id, r.reason) for r in access_log.query(s) if r.event in ("update", "import")]
    assert ("update", str(before.id), "case") in events
    assert ("import", str(before.id), "case file imported into the matter") in events


def bundle(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_a_sealed_bundle_adds_and_replaces_evidence_files(at):
    before = row()
    text = (DEMO / "off-duty-lookups" / "case.yaml").read_text().replace("audit_logs: [audit.csv]",
                                                                          "audit_logs: [audit.csv, more.csv]")
    replaced = AUDIT + AUDIT.splitlines(keepends=True)[1]
    sealed = crypto.seal_with_passphrase(bundle({"case.yaml": text.encode(), "audit.csv": replaced, "more.csv": AUDIT,
                                                 "shifts.csv": (DEMO / "off-duty-lookups" / "shifts.csv").read_bytes(),
                                                 "cad.csv": (DEMO / "off-duty-lookups" / "cad.csv").read_bytes()}),
                                         "a long bundle passphrase", matters.BUNDLE_KIND)
    upload(at, "copy.clets", sealed)
    click(at, "Show what would change")
    assert "this bundle is sealed with a passphrase" in shown(at) and "Nothing was changed" in shown(at)
    next(t for t in at.text_input if t.key == "update_passphrase_0").input("a long bundle passphrase").run()
    click(at, "Show what would change")
    page = shown(at)
    assert "evidence.audit_logs: [audit.csv] -> [audit.csv, more.csv]" in page
    assert f"evidence file replaced: audit.csv (new content, {len(replaced):,} bytes)" in page
    assert f"evidence file added: more.csv ({len(AUDIT):,} bytes)" in page
    assert "shifts.csv" not in page and "cad.csv" not in page                  # the same bytes: no change
    click(at, "Apply these changes")
    with db.session() as s:
        c = matters.Ctx(s, s.get(User, at.session_state.user.id), "t", "t")
        assert matters.evidence_bytes(c, before.id, "audit.csv") == replaced
        assert matters.evidence_bytes(c, before.id, "more.csv") == AUDIT
    assert at.session_state.case.evidence.audit_logs == ["audit.csv", "more.csv"]
    assert (at.session_state.case_dir / "more.csv").read_bytes() == AUDIT        # the session's own evidence


@pytest.mark.parametrize("name, data, where", [
    ("bad.yaml", (DEMO / "off-duty-lookups" / "case.yaml").read_text().replace("stage: charged", "stage: chargd"),
     "bad.yaml:5:3: CF004 at matter.stage"),
    ("bundle.zip", bundle({"case.yaml": (DEMO / "off-duty-lookups" / "case.yaml").read_bytes()}),
     "bundle.zip!case.yaml: CF006 at audit.csv: the case file names an evidence file the bundle does not hold"),
])
def test_a_refused_file_changes_nothing_and_says_where(at, name, data, where):
    before = row()
    upload(at, name, data.encode() if isinstance(data, str) else data)
    click(at, "Show what would change")
    err = [e.value.replace("\\", "") for e in at.error]
    assert len(err) == 1 and f"{name} was not read. Nothing was changed." in err[0] and where in err[0], err
    assert not any(b.label == "Apply these changes" for b in at.button)
    assert row().version == before.version and row().casefile == before.casefile
    assert at.session_state.case.matter.id == "DEMO-001"


def test_a_file_with_nothing_new_says_so(at):
    upload(at, "same.yaml", row().casefile.encode())
    click(at, "Show what would change")
    assert "same.yaml holds nothing this matter does not: there is nothing to update." in shown(at)
    assert not any(b.label == "Apply these changes" for b in at.button)


def test_an_update_on_a_matter_saved_since_the_comparison_is_refused_and_changes_nothing(at):
    upload(at, "changed.yaml", changed_yaml().encode())
    click(at, "Show what would change")
    pk, version = row().id, row().version
    with db.session() as s:                 # another user saves the matter meanwhile
        c = matters.Ctx(s, s.get(User, at.session_state.user.id), "other", "other")
        opened = matters.open_(c, pk)
        theirs = opened.case.model_copy(update={"facts": opened.case.facts.model_copy(update={"financial_gain": "yes"})})
        matters.save(c, pk, version, case=theirs)
    click(at, "Apply these changes")
    page = shown(at)
    assert "changed.yaml was not imported." in page and "after you opened it. Your change was not saved" in page
    saved = casefile.loads(row().casefile)
    assert saved.facts.financial_gain == "yes" and saved.client.operator_ids == ["PO5512"]    # theirs, untouched
    assert row().version == version + 1
    click(at, "Reopen the saved matter")
    assert at.session_state.case.facts.financial_gain == "yes"


def test_creating_a_deleted_matters_id_offers_restore_and_an_administrator_purges_it(at):
    gone = row()
    make_user("root", "admin", demo=False)
    with db.session() as s:
        ann = s.execute(select(User).where(User.username == "ann")).scalar_one()
        root = s.execute(select(User).where(User.username == "root")).scalar_one()
        matters.grant(matters.Ctx(s, root, "t", "t"), gone.id, root)
        matters.delete(matters.Ctx(s, ann, "t", "t"), gone.id)
    at.run()

    def create(at):
        next(t for t in at.text_input if t.label.startswith("Matter id")).input("DEMO-001")
        next(t for t in at.text_input if t.label.startswith("Title")).input("People v. New")
        next(t for t in at.text_input if t.label == "Client's name").input("New Client")
        next(r for r in at.radio if r.label == "Client's role").set_value("peace_officer")
        return click(at, "Create")
    create(at)
    page = shown(at)
    assert "a deleted matter has the id 'DEMO-001'" in page and "purge it" in page
    assert "A deleted matter has the id DEMO-001: restore it, or have an administrator purge it" in page
    click(at, "Restore the deleted matter")                      # offered back, then open
    assert row().deleted_at is None and at.session_state.matter_pk == gone.id

    with db.session() as s:
        matters.delete(matters.Ctx(s, s.get(User, ann.id), "t", "t"), gone.id)
    admin = sign_in(AppTest.from_file(APP, default_timeout=90), "root")
    admin.run()
    assert not admin.exception, admin.exception
    box = next(s for s in admin.selectbox if s.key == "purge_pick")
    assert box.options == ["DEMO-001 · People v. Riley Tran"]
    purge = next(b for b in admin.button if b.label == "Purge for good")
    assert purge.disabled                                       # the id must be typed first
    next(t for t in admin.text_input if t.key == "purge_confirm").input("DEMO-001").run()
    click(admin, "Purge for good")
    assert "Matter DEMO-001 was purged (3 evidence file(s), 0 memo(s) erased): its id is free." in shown(admin)
    assert not any(s.key == "purge_pick" for s in admin.selectbox)
    with db.session() as s:
        assert access_log.query(s, event="purge")[-1].outcome == "success"

    at.run()                      # ann, whose matter it was: the id is hers to use again
    create(at)
    assert not at.error and at.session_state.case.matter.id == "DEMO-001"
    assert at.session_state.case.matter.title == "People v. New" and at.session_state.matter_pk != gone.id
