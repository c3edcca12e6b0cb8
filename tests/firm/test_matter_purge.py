"""A deleted matter's id: creating a matter with it says so (restore it, or have an administrator
purge it); an administrator listed on the deleted matter purges it (logged), which erases its case
file, evidence, memos and mappings, frees the id, and never hands its key to another matter."""
import pytest
from sqlalchemy import select

from assessment.core import casefile
from assessment.core.errors import AssessmentError
from assessment.firm import access_log, db, matters
from assessment.firm.permissions import Forbidden
from assessment.firm.tables import Blob, ColumnMapping, EvidenceFile, Matter, MatterAccess, Memo, User

from conftest import DEMO, case_text, make_user


def ctx(s, name):
    return matters.Ctx(s, s.execute(select(User).where(User.username == name)).scalar_one(), "test", "test")


def pk_of(ref="DEMO-001"):
    with db.session() as s:
        return s.execute(select(Matter.id).where(Matter.ref == ref)).scalar_one()


def demo_case(ref="DEMO-001"):
    return casefile.load(DEMO / "off-duty-lookups" / "case.yaml").model_copy(
        update={"matter": casefile.Matter(id=ref, title="People v. Someone Else", stage="charged")})


@pytest.fixture
def firm():
    """ann (attorney) holds the demo matters, root (admin) is listed on DEMO-001, rex (admin) is not;
    DEMO-001 has a memo and a remembered column mapping, and is deleted."""
    make_user("ann", "attorney")
    make_user("root", "admin", demo=False)
    make_user("rex", "admin", demo=False)
    pk = pk_of()
    from assessment.memo import archive
    with db.session() as s:
        matters.grant(ctx(s, "root"), pk, ctx(s, "root").user)
        archive.store(ctx(s, "ann"), pk, b"memo bytes", inputs="0" * 64, template_sha="1" * 64,
                      template_version="built-in", review=None, pdf=b"pdf bytes")
        s.add(ColumnMapping(matter_id=pk, signature_sha="2" * 64, mapping="{}"))
        matters.delete(ctx(s, "ann"), pk)
    return pk


def test_creating_a_matter_with_a_deleted_matters_id_offers_restore_or_purge(firm):
    with pytest.raises(matters.DeletedId) as err, db.session() as s:
        matters.create(ctx(s, "ann"), demo_case())
    text = str(err.value)
    assert "a deleted matter has the id 'DEMO-001'" in text and "restore it" in text and "purge it" in text
    assert err.value.pk == firm
    with db.session() as s:                         # nothing was made
        assert [m.id for m in s.execute(select(Matter).where(Matter.ref == "DEMO-001")).scalars()] == [firm]


def test_an_administrator_listed_on_it_purges_a_deleted_matter_and_the_id_is_free(firm):
    other = pk_of("DEMO-002")
    with db.session() as s:
        held = {e.sha256 for e in s.execute(select(EvidenceFile).where(EvidenceFile.matter_id == firm)).scalars()}
        memo = s.execute(select(Memo).where(Memo.matter_id == firm)).scalar_one()
        held |= {memo.docx_sha, memo.pdf_sha}
        shared = {e.sha256 for e in s.execute(select(EvidenceFile).where(EvidenceFile.matter_id == other)).scalars()}
    assert held and held - shared
    assert matters.purge_matter(matters.Actor(ctx_user("root"), "test", "Matters"), firm) == (3, 1)
    with db.session() as s:
        row = s.get(Matter, firm)
        assert row.casefile == "" and row.title == "" and row.ref != "DEMO-001" and "Riley" not in row.ref
        for table in (EvidenceFile, Memo, ColumnMapping, MatterAccess):
            assert s.execute(select(table).where(table.matter_id == firm)).first() is None
        for sha in held - shared:                    # its files are erased; another matter's are kept
            assert s.get(Blob, sha) is None
        for sha in shared:
            assert s.get(Blob, sha) is not None
        (entry,) = access_log.query(s, event="purge")
        assert entry.outcome == "success" and entry.object_id == str(firm) and entry.actor.endswith(":root")
        assert entry.reason == "erased: 3 evidence file(s), 1 memo(s)"
        assert access_log.verify(s)[0] == []
    with db.session() as s:                          # the id is free: a new matter, with a new key
        new = matters.create(ctx(s, "ann"), demo_case())
    assert new != firm
    with db.session() as s:
        assert matters.open_(ctx(s, "ann"), new).case.matter.title == "People v. Someone Else"
        assert [r.ref for r in matters.listing(ctx(s, "ann"), deleted=True)] == []
        assert firm not in [r.pk for r in matters.all_matters(ctx(s, "root"))]
    with pytest.raises(Forbidden), db.session() as s:    # the purged matter is gone for its old members
        matters.restore(ctx(s, "ann"), firm)


def ctx_user(name):
    with db.session() as s:
        user = s.execute(select(User).where(User.username == name)).scalar_one()
        s.expunge(user)
        return user


@pytest.mark.parametrize("who, reason", [("ann", "the attorney role may not users manage"),
                                         ("rex", "not listed on this matter")])
def test_only_an_administrator_listed_on_the_matter_may_purge_it(firm, who, reason):
    with pytest.raises(Forbidden), db.session() as s:
        matters.purge(ctx(s, who), firm)
    with db.session() as s:
        assert s.get(Matter, firm).ref == "DEMO-001"
        assert s.execute(select(EvidenceFile).where(EvidenceFile.matter_id == firm)).first() is not None
        refused = [r for r in access_log.query(s, outcome="denied") if r.actor.endswith(f":{who}")]
        assert refused and refused[-1].reason == reason and refused[-1].event == "purge"


def test_a_matter_that_is_not_deleted_is_not_purged(firm):
    with db.session() as s:
        matters.restore(ctx(s, "ann"), firm)
    with pytest.raises(matters.NotFound, match="not deleted: delete it first"), db.session() as s:
        matters.purge(ctx(s, "root"), firm)
    with db.session() as s:
        assert s.get(Matter, firm).ref == "DEMO-001" and s.get(Matter, firm).casefile
        assert [r.reason for r in access_log.query(s, event="purge")] == ["not deleted: delete it first"]


def test_a_memo_file_another_matter_also_holds_is_kept(firm):
    """Stored files are kept once per SHA-256: a purge erases only those nothing else uses."""
    from assessment.memo import archive
    other = pk_of("DEMO-002")
    with db.session() as s:
        archive.store(ctx(s, "ann"), other, b"memo bytes", inputs="0" * 64, template_sha="1" * 64,
                      template_version="built-in", review=None)
        sha = s.execute(select(Memo.docx_sha).where(Memo.matter_id == other)).scalar_one()
    with db.session() as s:
        matters.purge(ctx(s, "root"), firm)
    with db.session() as s:
        assert archive.read(ctx(s, "ann"), other, s.execute(select(Memo.id).where(Memo.matter_id == other))
                            .scalar_one(), log=False) == b"memo bytes"
        assert s.get(Blob, sha) is not None


def test_a_live_matters_id_is_still_refused_plainly(firm):
    with db.session() as s:
        matters.create(ctx(s, "ann"), casefile.loads(case_text()))
    with pytest.raises(AssessmentError, match="already exists") as err, db.session() as s:
        matters.create(ctx(s, "ann"), casefile.loads(case_text()))
    assert not isinstance(err.value, matters.DeletedId)
