"""Saved matters: ethical walls and roles checked on the server, conflicts, soft delete,
evidence kept with its hash, case files in and out, and backup/restore by round trip."""
import hashlib
import io
import json
import zipfile

import pytest
from sqlalchemy import select, text

from assessment.core.errors import AssessmentError
from assessment.core.review import Review
from assessment.firm import access_log, backup, crypto, db, matters
from assessment.firm.context import Actor
from assessment.firm.permissions import Forbidden
from assessment.firm.tables import Base, Matter, User

from conftest import DEMO, case_text, make_user, new_database


def ctx(s, name):
    return matters.Ctx(s, s.execute(select(User).where(User.username == name)).scalar_one(), "test", "test")


def pk_of(ref="DEMO-001"):
    with db.session() as s:
        return s.execute(select(Matter.id).where(Matter.ref == ref)).scalar_one()


@pytest.fixture
def firm():
    """ann (attorney) holds the demo matters; bob (attorney) is walled off; pat (paralegal) and
    sam (staff) are listed on DEMO-001 by the admin root."""
    make_user("root", "admin", demo=False)
    make_user("ann", "attorney")
    make_user("bob", "attorney", demo=False)
    make_user("pat", "paralegal", demo=False)
    make_user("sam", "staff", demo=False)
    pk = pk_of()
    with db.session() as s:
        for who in ("pat", "sam"):
            matters.grant(ctx(s, "root"), pk, ctx(s, who).user)


def denied():
    with db.session() as s:
        return [(r.actor.split(":")[1], r.event, r.reason) for r in access_log.query(s, outcome="denied")]


@pytest.mark.parametrize("call", [
    lambda c, pk: matters.open_(c, pk),
    lambda c, pk: matters.save(c, pk, 1, marks={"x": 1}),
    lambda c, pk: matters.export_yaml(c, pk),
    lambda c, pk: matters.export_bundle(c, pk),
    lambda c, pk: matters.evidence_bytes(c, pk, "audit.csv"),
    lambda c, pk: matters.delete(c, pk),
], ids=["open", "save", "export", "bundle", "evidence", "delete"])
def test_the_ethical_wall_holds_for_every_read_and_write(firm, call):
    pk = pk_of()
    with pytest.raises(Forbidden, match="not listed"):
        with db.session() as s:
            call(ctx(s, "bob"), pk)
    assert denied() and denied()[0][0] == "bob"            # the refusal is in the log
    with db.session() as s:
        assert matters.listing(ctx(s, "bob")) == [] and s.get(Matter, pk).version == 1


def test_an_administrator_is_walled_off_too_until_listed(firm):
    pk = pk_of()
    with pytest.raises(Forbidden):
        with db.session() as s:
            matters.open_(ctx(s, "root"), pk)
    with db.session() as s:
        matters.grant(ctx(s, "root"), pk, ctx(s, "root").user)
    with db.session() as s:
        assert matters.open_(ctx(s, "root"), pk).ref == "DEMO-001"
        assert access_log.query(s, event="access-grant")[-1].actor.endswith(":root")


def test_an_access_change_naming_an_unknown_account_is_refused_and_changes_nothing(firm):
    """The Users page sends the ids it drew; one deleted since (or made up) is named, and the list
    stays as it was, the known ids' changes included."""
    pk = pk_of()
    with db.session() as s:
        root, bob = ctx(s, "root").user, ctx(s, "bob").user
    admin = Actor(root, "test", "Users")
    before = [u.username for u in matters.members_of(admin, pk)]
    with pytest.raises(matters.NotFound, match="no account has the id 9999"):
        matters.change_access(admin, pk, {bob.id: True, 9999: True})
    assert [u.username for u in matters.members_of(admin, pk)] == before and "bob" not in before
    with db.session() as s:
        assert [r.reason for r in access_log.query(s, event="access-grant")].count(f"user {bob.id}") == 0
    matters.change_access(admin, pk, {bob.id: True})
    assert "bob" in [u.username for u in matters.members_of(admin, pk)]


@pytest.mark.parametrize("who, call, allowed", [
    ("pat", lambda c, pk: matters.save(c, pk, 1, marks={"e#1": {"mark": "disputed"}}), True),
    ("pat", lambda c, pk: matters.save(c, pk, 1, review=Review(notes="mine")), False),   # attorneys' judgments
    ("pat", lambda c, pk: matters.delete(c, pk), False),
    ("sam", lambda c, pk: matters.open_(c, pk), False),                                  # staff: KB and templates
    ("ann", lambda c, pk: matters.save(c, pk, 1, review=Review(notes="mine")), True),
])
def test_roles_are_checked_on_the_server(firm, who, call, allowed):
    pk = pk_of()
    if allowed:
        with db.session() as s:
            call(ctx(s, who), pk)
    else:
        with pytest.raises(Forbidden):
            with db.session() as s:
                call(ctx(s, who), pk)
        with db.session() as s:
            assert s.get(Matter, pk).version == 1


def test_the_later_of_two_saves_is_told_of_the_conflict_and_overwrites_nothing(firm):
    pk = pk_of()
    with db.session() as s:
        first = matters.open_(ctx(s, "ann"), pk)
    with db.session() as s:
        second = matters.open_(ctx(s, "pat"), pk)
    with db.session() as s:
        case = first.case.model_copy(update={"facts": first.case.facts.model_copy(update={"supervisor_authorized": "yes"})})
        matters.save(ctx(s, "ann"), pk, first.version, case=case)
    with pytest.raises(matters.Conflict, match="Ann saved this matter"):
        with db.session() as s:
            matters.save(ctx(s, "pat"), pk, second.version, marks={"row#1": {"mark": "material"}})
    with db.session() as s:
        row = s.get(Matter, pk)
        assert "supervisor_authorized: yes" in row.casefile and row.marks == "{}" and row.version == 2


def test_listing_search_soft_delete_and_restore(firm):
    two = pk_of("DEMO-002")
    with db.session() as s:
        c = ctx(s, "ann")
        assert [r.ref for r in matters.listing(c, "Quinlan")] == ["DEMO-002"]
        assert [r.ref for r in matters.listing(c, "MDT")] != []              # text inside the case file
        matters.delete(c, two)
    with db.session() as s:
        c = ctx(s, "ann")
        assert [r.ref for r in matters.listing(c)] == ["DEMO-001"]
        assert [r.ref for r in matters.listing(c, deleted=True)] == ["DEMO-002"]
        with pytest.raises(matters.NotFound):
            matters.open_(c, two)
        matters.restore(c, two)
    with db.session() as s:
        assert matters.open_(ctx(s, "ann"), two).case.matter.id == "DEMO-002"
        assert {r.event for r in access_log.query(s)} >= {"delete", "restore", "search", "view", "create"}


def test_evidence_is_kept_byte_for_byte_and_a_changed_byte_is_caught(firm):
    pk = pk_of()
    original = (DEMO / "off-duty-lookups" / "audit.csv").read_bytes()
    with db.session() as s:
        assert matters.evidence_bytes(ctx(s, "ann"), pk, "audit.csv") == original
        opened = matters.open_(ctx(s, "ann"), pk)
    assert opened.evidence["audit.csv"] == hashlib.sha256(original).hexdigest()
    sha = opened.evidence["audit.csv"]
    with db.engine().connect() as conn:
        sealed = bytes(conn.execute(text("SELECT content FROM blobs WHERE sha256 = :h"), {"h": sha}).scalar_one())
    assert crypto.is_sealed(sealed) and b"Riley" not in sealed and original[:40] not in sealed     # encrypted at rest
    for altered, message in [
            (sealed[:-20] + bytes([sealed[-20] ^ 1]) + sealed[-19:], "does not decrypt: it was altered"),
            (original, "is not encrypted as it should be"),
            (crypto.seal(original.replace(b"PO", b"XX", 1), sha.encode()), "no longer matches its SHA-256")]:
        with db.engine().begin() as conn:
            conn.execute(text("UPDATE blobs SET content = :c WHERE sha256 = :h"), {"c": altered, "h": sha})
        with pytest.raises(AssessmentError, match=message):
            with db.session() as s:
                matters.evidence_bytes(ctx(s, "ann"), pk, "audit.csv")


def test_a_bundle_exported_imports_as_the_same_case_and_files(firm, kb):
    pk = pk_of()
    with db.session() as s:
        bundle = matters.export_bundle(ctx(s, "ann"), pk)
        original = matters.open_(ctx(s, "ann"), pk, kb)
    case, files = matters.read_upload(bundle, "export.zip", kb)
    assert case == original.case
    assert {k: hashlib.sha256(v).hexdigest() for k, v in files.items()} == original.evidence
    with pytest.raises(AssessmentError, match="already exists"):          # same id: not a silent second copy
        with db.session() as s:
            matters.create(ctx(s, "ann"), case, files)


@pytest.mark.parametrize("members, problem", [
    ({"case.yaml": case_text(evidence="evidence:\n  audit_logs: [gone.csv]")}, "does not hold"),
    ({"notes.txt": "no case file"}, "no case.yaml"),
    ({"case.yaml": case_text(), "../escape.csv": "a,b\n"}, "outside the package"),
    ({"case.yaml": case_text(evidence="evidence:\n  audit_logs: [../../etc/passwd]")}, "inside the case's folder"),
])
def test_bad_bundles_are_refused_with_the_place(members, problem):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(AssessmentError, match=problem):
        matters.read_upload(buf.getvalue(), "bundle.zip")


def test_a_sealed_bundle_opens_only_with_its_passphrase(firm, kb):
    pk = pk_of()
    with db.session() as s:
        sealed = matters.export_bundle(ctx(s, "ann"), pk, "a long bundle passphrase")
    assert crypto.is_passphrase_sealed(sealed) and b"case.yaml" not in sealed and b"Riley" not in sealed
    with pytest.raises(AssessmentError, match="sealed with a passphrase"):
        matters.read_upload(sealed, "x.clets", kb)
    with pytest.raises(AssessmentError, match="passphrase is wrong"):
        matters.read_upload(sealed, "x.clets", kb, "not the passphrase")
    case, files = matters.read_upload(sealed, "x.clets", kb, "a long bundle passphrase")
    assert case.matter.id == "DEMO-001" and "audit.csv" in files
    with db.session() as s:
        assert access_log.query(s, event="export")[0].reason == "case file with evidence, sealed with a passphrase"


def data_files():
    root = db.data_dir()
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in backup._files(root)}


def _dump():
    with db.engine().connect() as conn:
        return {t.name: [dict(r) for r in conn.execute(t.select().order_by(*t.primary_key.columns)).mappings()]
                for t in Base.metadata.sorted_tables}


PASSPHRASE = "a long backup passphrase"


def elsewhere(tmp_path, monkeypatch) -> None:
    """Another machine: an empty data folder, database and key file."""
    monkeypatch.setenv("CLETS_DATA_DIR", str(tmp_path / "restored"))
    monkeypatch.setenv("CLETS_KEY_FILE", str(tmp_path / "other-keys" / "keys.json"))
    monkeypatch.setenv("CLETS_LOG_HEADS", str(tmp_path / "other-keys" / "heads.jsonl"))
    new_database(monkeypatch)


def test_backup_restores_everything_into_an_empty_database(firm, tmp_path, monkeypatch):
    from assessment.memo import archive as memo_archive
    from assessment.memo import render as memo
    from assessment.memo import templates as template_store
    data = template_store.builtin().read_bytes()
    pk = pk_of()
    with db.session() as s:
        template_store.save(s, ctx(s, "root").user, data, "firm.docx", author="Sam", reason="letterhead",
                            base_sha=template_store.active_sha(s), check=memo.check_template)
        c = ctx(s, "ann")
        opened = matters.open_(c, pk)
        matters.save(c, pk, opened.version, review=Review(notes="privileged note"))
        memo_archive.store(c, pk, b"docx bytes", inputs="0" * 64, template_sha="1" * 64, template_version="built-in",
                           review=Review())
    before, files_before = _dump(), data_files()
    out = tmp_path / "backup.clets"
    manifest = backup.write(out, PASSPHRASE)
    assert manifest["tables"]["matters"] == 2 and manifest["tables"]["blobs"] >= 4
    sealed = out.read_bytes()
    assert b"privileged note" not in sealed and b"Riley" not in sealed and out.stat().st_mode & 0o777 == 0o600

    with pytest.raises(backup.BackupError, match="not empty"):        # never over a live database
        backup.restore(out, PASSPHRASE)

    elsewhere(tmp_path, monkeypatch)
    with pytest.raises(backup.BackupError, match="passphrase is wrong"):
        backup.restore(out, "not the passphrase")
    restored = backup.restore(out, PASSPHRASE)
    assert restored["tables"]["matters"] == 2
    after = _dump()
    assert after["access_log"][:-1] == before["access_log"]            # plus one row: the restore itself
    assert after["access_log"][-1]["event"] == "restore"
    unsealed = {"content"}                                              # files are sealed under this machine's key
    strip = {t: [{k: v for k, v in r.items() if t != "blobs" or k not in unsealed} for r in rows]
             for t, rows in after.items() if t != "access_log"}
    assert strip == {t: [{k: v for k, v in r.items() if t != "blobs" or k not in unsealed} for r in rows]
                     for t, rows in before.items() if t != "access_log"}
    assert data_files() == files_before
    with db.session() as s:                                             # and the app works on it
        assert json.loads(s.get(Matter, pk).review)["notes"] == "privileged note"
        assert access_log.verify(s)[0] == []
        assert matters.evidence_bytes(ctx(s, "ann"), pk, "audit.csv") == (DEMO / "off-duty-lookups" / "audit.csv").read_bytes()


def _resealed(out, tmp_path, change):
    """The backup opened with its passphrase, changed by `change(name, data)`, and sealed again
    (what a forger who knows the passphrase could do; without it nothing opens at all)."""
    kind, data = crypto.unseal_with_passphrase(out.read_bytes(), PASSPHRASE)
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(buf, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, change(item.filename, src.read(item)))
    forged = tmp_path / "forged.clets"
    forged.write_bytes(crypto.seal_with_passphrase(buf.getvalue(), PASSPHRASE, kind))
    return forged


@pytest.mark.parametrize("how, message", [
    ("flip", "was altered, cut or extended|passphrase is wrong"),
    ("cut", "cut short|altered"),
    ("matters", "db/matters.jsonl does not match"),
    ("log", "access log is broken"),
])
def test_a_damaged_or_forged_backup_is_refused_before_anything_is_written(firm, tmp_path, monkeypatch, how, message):
    out = tmp_path / "backup.clets"
    backup.write(out, PASSPHRASE)
    if how == "flip":
        data = bytearray(out.read_bytes())
        data[len(data) // 2] ^= 1
        bad = tmp_path / "flipped.clets"
        bad.write_bytes(bytes(data))
    elif how == "cut":
        bad = tmp_path / "cut.clets"
        bad.write_bytes(out.read_bytes()[:-100])
    elif how == "matters":
        bad = _resealed(out, tmp_path, lambda n, d: d.replace(b"Riley", b"Rilay") if n == "db/matters.jsonl" else d)
    else:      # a row of the log changed, and the manifest's hash made to fit: the keyed chain still tells
        forged = {"db/access_log.jsonl": None}

        def change(name, data):
            if name == "db/access_log.jsonl":
                forged[name] = data.replace(b'"event": "create"', b'"event": "delete"', 1)
                assert forged[name] != data
                return forged[name]
            if name == "manifest.json":
                manifest = json.loads(data)
                manifest["sha256"]["db/access_log.jsonl"] = hashlib.sha256(forged["db/access_log.jsonl"]).hexdigest()
                return json.dumps(manifest).encode()
            return data
        bad = _resealed(out, tmp_path, change)
    elsewhere(tmp_path, monkeypatch)
    with pytest.raises(backup.BackupError, match=message):
        backup.restore(bad, PASSPHRASE)
    with db.session() as s:
        assert s.execute(select(Matter)).first() is None
        assert access_log.count(s) == 0
    assert not any((tmp_path / "restored").rglob("*.docx"))


def test_backup_and_restore_commands_take_the_passphrase_from_the_environment(firm, tmp_path, monkeypatch):
    from conftest import run_cli
    monkeypatch.setenv("BACKUP_PASS", PASSPHRASE)
    out = tmp_path / "b.clets"
    res = run_cli("backup", str(out), "--passphrase-env", "BACKUP_PASS")
    assert res.returncode == 0 and "sealed with the passphrase" in res.stdout, res.stderr
    monkeypatch.setenv("BACKUP_PASS", "short")
    res = run_cli("backup", str(tmp_path / "c.clets"), "--passphrase-env", "BACKUP_PASS")
    assert res.returncode == 2 and "at least 12" in res.stderr
