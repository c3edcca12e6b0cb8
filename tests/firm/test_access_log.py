"""The access log is append-only, chained under the firm's key and anchored outside the database:
`audit verify` finds a replaced row, a dropped trigger, a row re-chained without the key and a
tail re-chained with it (against the exported heads)."""
import csv
import io
import json
import socket
import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError, InternalError, ProgrammingError

from assessment.core import settings
from assessment.core.errors import AssessmentError
from assessment.firm import access_log, db, keys
from assessment.firm.context import Actor, cli_actor
from assessment.firm.permissions import Forbidden

from conftest import ON_POSTGRES, as_owner, make_user, owner_engine, run_cli

REFUSED = (IntegrityError, InternalError, ProgrammingError, DBAPIError)
ROW = ("seq, time, actor, event, object_type, object_id, outcome, reason, place, source, prev_hash, hash")


def fill(n=6, actor="1:ann"):
    with db.session() as s:
        for i in range(n):
            access_log.record(s, actor=actor, event="view", object_type="matter", object_id=i, place="test")


def verify(head=None, heads=True):
    with db.session() as s:
        return access_log.verify(s, head, heads=heads)


def chain_breaks(head=None, heads=True):
    """The breaks other than the missing-trigger ones (a tampering test drops the triggers first)."""
    return [b for b in verify(head, heads)[0] if "protection trigger" not in b.problem]


def _drop_triggers(conn):
    """What someone with the database owner's rights could do: remove the guards first."""
    names = ("access_log_no_update", "access_log_no_delete", "access_log_next_only")
    for name in names if conn.dialect.name == "sqlite" else ("access_log_no_change", "access_log_next_only"):
        conn.execute(text(f"DROP TRIGGER {name}" + ("" if conn.dialect.name == "sqlite" else " ON access_log")))


def _rows(conn, since: int) -> list[dict]:
    return [dict(r._mapping) for r in conn.execute(text(f"SELECT {ROW} FROM access_log WHERE seq >= {since} "
                                                        "ORDER BY seq"))]


def _insert(conn, row: dict) -> None:
    conn.execute(text(f"INSERT INTO access_log ({ROW}) VALUES (:seq, :time, :actor, :event, :object_type, "
                      ":object_id, :outcome, :reason, :place, :source, :prev_hash, :hash)"), row)


@pytest.mark.parametrize("sql", ["UPDATE access_log SET reason = 'x' WHERE seq = 2",
                                 "DELETE FROM access_log WHERE seq = 2"])
def test_rows_cannot_be_changed_or_removed_by_the_app_or_by_the_owner(sql):
    fill()
    with pytest.raises(REFUSED, match="append-only|permission denied"):     # the app's own role
        with db.session() as s:
            s.execute(text(sql))
    with pytest.raises(REFUSED, match="append-only"):                        # the owner meets the trigger
        with owner_engine().begin() as conn:
            conn.execute(text(sql))
    assert verify()[0] == [] and verify()[1] == 6


def test_insert_or_replace_and_on_conflict_cannot_rewrite_a_row():
    """The red team rewrote row 2 with SQLite's INSERT OR REPLACE, which deletes the old row
    without firing a DELETE trigger; ON CONFLICT DO UPDATE is PostgreSQL's way to the same."""
    fill()
    with owner_engine().connect() as conn:
        row = _rows(conn, 2)[0]
    forged = {**row, "actor": "2:bob", "reason": "rewritten"}
    statement = (f"INSERT OR REPLACE INTO access_log ({ROW}) VALUES (:seq, :time, :actor, :event, :object_type, "
                 ":object_id, :outcome, :reason, :place, :source, :prev_hash, :hash)" if not ON_POSTGRES else
                 f"INSERT INTO access_log ({ROW}) VALUES (:seq, :time, :actor, :event, :object_type, :object_id, "
                 ":outcome, :reason, :place, :source, :prev_hash, :hash) ON CONFLICT (seq) DO UPDATE SET "
                 "actor = EXCLUDED.actor, reason = EXCLUDED.reason")
    with pytest.raises(REFUSED, match="append-only"):
        with owner_engine().begin() as conn:
            conn.execute(text(statement), forged)
    with owner_engine().connect() as conn:
        assert _rows(conn, 2)[0] == row
    assert verify()[0] == []


@pytest.mark.parametrize("change", [{"seq": 9}, {"seq": 3}, {"prev_hash": "0" * 64}])
def test_a_row_that_does_not_extend_the_chain_is_refused(change):
    fill(3)
    with owner_engine().connect() as conn:
        last = _rows(conn, 3)[0]
    row = {**last, "seq": 4, "prev_hash": last["hash"], "actor": "9:eve", **change}
    with pytest.raises(REFUSED, match="append-only"):
        with owner_engine().begin() as conn:
            _insert(conn, row)
    assert verify() == ([], 3, last["hash"])


@pytest.mark.parametrize("tamper, seq, words", [
    ("UPDATE access_log SET object_id = '99' WHERE seq = 3", 3, "altered"),
    ("DELETE FROM access_log WHERE seq = 4", 5, "missing"),
    ("UPDATE access_log SET actor = '2:bob', hash = 'f' || substr(hash, 2) WHERE seq = 2", 2, "altered"),
])
def test_verify_names_the_tampered_row_and_the_dropped_triggers(tamper, seq, words):
    fill()
    with owner_engine().begin() as conn:
        _drop_triggers(conn)
        conn.execute(text(tamper))
    breaks, n, _ = verify()
    assert any(b.seq == seq and words in b.problem for b in breaks), breaks
    assert any("protection trigger access_log_next_only is missing or altered" in b.problem for b in breaks)
    out = run_cli("audit", "verify")
    assert out.returncode == 1 and f"TAMPERED: row {seq}" in out.stderr and "protection trigger" in out.stderr


def test_a_dropped_trigger_alone_is_found_by_verify_and_stops_the_app_at_start():
    fill(2)
    with owner_engine().begin() as conn:
        conn.execute(text("DROP TRIGGER access_log_next_only" + (" ON access_log" if ON_POSTGRES else "")))
    assert [b.problem for b in verify()[0]] == [
        "the protection trigger access_log_next_only is missing or altered (someone with the database owner's rights "
        "removed, disabled or rewrote it)"]
    with pytest.raises(AssessmentError) as err:
        db.startup_checks()
    assert err.value.problems[0].code == "LOG001" and "access_log_next_only" in err.value.problems[0].message


def test_the_owner_puts_missing_triggers_back_and_that_is_logged(monkeypatch):
    fill(2)
    with owner_engine().begin() as conn:
        _drop_triggers(conn)
    as_owner(monkeypatch)
    out = run_cli("db", "upgrade", "--restore-triggers")
    monkeypatch.delenv("CLETS_DATABASE_OWNER_URL", raising=False)
    assert out.returncode == 0 and "access_log_next_only" in out.stdout, out.stderr
    assert verify()[0] == []
    db.startup_checks()
    with db.session() as s:
        assert access_log.query(s, event="log-triggers")[0].reason.startswith("restored: access_log_")


@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL only: SQLite has no way to disable a trigger")
def test_a_disabled_trigger_counts_as_missing():
    fill(2)
    with owner_engine().begin() as conn:
        conn.execute(text("ALTER TABLE access_log DISABLE TRIGGER access_log_no_change"))
    assert any("access_log_no_change is missing or altered" in b.problem for b in verify()[0])


def test_a_trigger_replaced_by_a_harmless_one_of_the_same_name_is_found():
    """The review's attack: keep the name, drop the guard, then take the newest row off the end."""
    fill(3)
    with owner_engine().begin() as conn:
        if ON_POSTGRES:        # the trigger stays; its function no longer refuses anything
            conn.execute(text("CREATE OR REPLACE FUNCTION access_log_append_only() RETURNS trigger LANGUAGE plpgsql "
                              "AS $$ BEGIN RETURN OLD; END $$"))
        else:
            conn.execute(text("DROP TRIGGER access_log_no_delete"))
            conn.execute(text("CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log WHEN 0 "
                              "BEGIN SELECT 1; END"))
        conn.execute(text("DELETE FROM access_log WHERE seq = 3"))
    breaks = [str(b) for b in verify()[0]]
    altered = "access_log_no_change" if ON_POSTGRES else "access_log_no_delete"
    assert any(f"{altered} is missing or altered" in b for b in breaks), breaks
    assert any("row 3" in b and "is gone" in b for b in breaks), breaks     # the head exported at its commit
    with pytest.raises(AssessmentError, match="LOG001|missing"):
        db.startup_checks()


def test_rows_rechained_without_the_key_are_found():
    """The red team dropped the triggers, erased a user's rows and re-chained the rest with
    SHA-256, and `audit verify` passed. Without the firm's log key the new links do not verify."""
    fill(3, actor="1:ann")
    fill(3, actor="2:bob")
    fill(2, actor="1:ann")
    with owner_engine().begin() as conn:
        _drop_triggers(conn)
        keep = [r for r in _rows(conn, 1) if r["actor"] != "2:bob"]
        conn.execute(text("DELETE FROM access_log"))
        prev = access_log.GENESIS
        for i, r in enumerate(keep, 1):
            values = {**{f: r[f] for f in access_log.FIELDS}, "seq": i}
            r = {**values, "prev_hash": prev, "hash": access_log._hash(prev, values)}     # plain SHA-256
            _insert(conn, r)
            prev = r["hash"]
    breaks = chain_breaks(heads=False)
    assert breaks and breaks[0].seq == 1 and "without the firm's log key" in breaks[0].problem


def test_a_tail_rechained_with_the_key_is_found_against_the_exported_heads():
    """Someone holding the key file as well: the chain verifies, but the heads exported outside the
    database (every CLETS_LOG_HEAD_EVERY rows) do not match the rewritten rows."""
    fill(settings.LOG_HEAD_EVERY.get() + 5)
    exported = access_log.read_heads()
    assert exported and exported[-1]["seq"] > 1
    with owner_engine().begin() as conn:
        _drop_triggers(conn)
        tail = _rows(conn, 3)
        conn.execute(text("DELETE FROM access_log WHERE seq >= 3"))
        prev = tail[0]["prev_hash"]
        kept = [r for r in tail if r["object_id"] != "7"]       # the row the insider wants gone
        for seq, r in enumerate(kept, 3):
            values = {**{f: r[f] for f in access_log.FIELDS}, "seq": seq}
            new = {**values, "prev_hash": prev, "hash": access_log._hash(prev, values, keys.load().log_key_for(seq))}
            _insert(conn, new)
            prev = new["hash"]
    assert chain_breaks(heads=False) == []                   # the chain alone cannot tell
    breaks = chain_breaks()
    assert any("the log was rewritten" in b.problem or "is gone" in b.problem for b in breaks), breaks
    out = run_cli("audit", "verify")                      # the command checks the heads by default
    assert out.returncode == 1 and str(keys.heads_path()) in out.stderr


def test_a_removed_tail_is_found_against_the_exported_heads_and_a_given_head():
    fill(settings.LOG_HEAD_EVERY.get() + 3)
    _, n, head = verify()
    last_exported = access_log.read_heads()[-1]["seq"]
    with owner_engine().begin() as conn:
        _drop_triggers(conn)
        conn.execute(text(f"DELETE FROM access_log WHERE seq >= {last_exported}"))
    breaks = chain_breaks()
    assert any(b.seq == last_exported and "is gone" in b.problem for b in breaks), breaks
    assert any(b.seq == n and "recorded head is gone" in b.problem for b in chain_breaks((n, head), heads=False))


def test_an_altered_heads_file_is_reported():
    fill(3)
    path = keys.heads_path()
    lines = path.read_text().splitlines()
    first = json.loads(lines[0])
    lines[0] = json.dumps({**first, "hash": "0" * 64})
    path.write_text("\n".join(lines) + "\n")
    assert any("was altered (its signature does not match)" in b.problem for b in verify()[0])


def test_cli_verify_passes_on_an_intact_log_records_that_it_ran_and_exports_the_head():
    fill(3)
    out = run_cli("audit", "verify")
    assert out.returncode == 0 and out.stdout.startswith("ok: 3 rows"), out.stderr
    with db.session() as s:
        ran = access_log.query(s, event="log-verify")[0]
    assert ran.reason == "3 rows, 0 breaks" and ran.actor.startswith("cli:") and "os user" in ran.source
    assert access_log.read_heads()[-1]["seq"] == 3


def test_reading_the_log_is_role_checked_and_logged_in_one_place_for_the_page_and_the_cli(tmp_path):
    """access_log.read / export_csv / audit are what the Access log page and `clets-assess audit`
    call: a role without log.read is refused there (and the refusal logged), and every reading is
    logged once, whoever asks."""
    ann, root = make_user("ann", "attorney", demo=False), make_user("root", "admin", demo=False)
    fill(3, actor="9:filler")
    for read in (access_log.read, access_log.export_csv, access_log.audit):
        with pytest.raises(Forbidden):
            read(Actor(ann, "test", "Access log"))
    admin = Actor(root, "test", "Access log")
    assert len(access_log.read(admin, actor=":filler", event="view")) == 3
    assert len(access_log.read(admin, actor=":filler", note=False)) == 3     # the page's rerun: not logged again
    out = run_cli("audit", "export", "-o", str(tmp_path / "log.csv"), "--actor", ":filler", "--event", "view")
    assert out.returncode == 0 and out.stdout.startswith("wrote 3 rows"), out.stderr
    assert len(list(csv.reader(io.StringIO((tmp_path / "log.csv").read_text())))) == 4
    with db.session() as s:
        reading = [(r.actor, r.event, r.outcome, r.reason)
                   for r in reversed(access_log.query(s)) if r.event.startswith("log-")]
    ann_, root_, cli = access_log.actor_id(ann), access_log.actor_id(root), cli_actor()
    assert reading == [(ann_, "log-read", "denied", "the attorney role may not log read"),
                       (ann_, "log-export", "denied", "the attorney role may not log read"),
                       (ann_, "log-verify", "denied", "the attorney role may not log read"),
                       (root_, "log-read", "success", "3 rows shown"),
                       (cli, "log-export", "success", "3 rows")]


def test_heads_also_go_to_syslog_when_configured(monkeypatch):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        monkeypatch.setenv("CLETS_LOG_SYSLOG", f"udp:127.0.0.1:{sock.getsockname()[1]}")
        fill(1)
        message = sock.recv(4096).decode()
    head = access_log.read_heads()[-1]
    assert "clets-defense access-log head" in message and head["hash"] in message


def test_a_log_from_before_the_key_stays_verifiable_and_protected(tmp_path, monkeypatch):
    """A database from the version before this one: its rows are plain SHA-256; the upgrade
    records where the keyed chain starts, and the first keyed row holds the old ones in place."""
    if ON_POSTGRES:
        pytest.skip("the upgrade path is the same SQL on both databases; exercised on SQLite")
    from alembic import command
    from sqlalchemy import create_engine
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = create_engine(url)
    command.upgrade(db.alembic_config(old), "0001")
    prev = access_log.GENESIS
    with old.begin() as conn:
        for i in range(1, 4):
            values = {"seq": i, "time": access_log.stamp(), "actor": "1:ann", "event": "view", "object_type": "matter",
                      "object_id": str(i), "outcome": "success", "reason": "", "place": "", "source": ""}
            row = {**values, "prev_hash": prev, "hash": access_log._hash(prev, values)}
            _insert(conn, row)
            prev = row["hash"]
    old.dispose()
    monkeypatch.setenv("CLETS_DATABASE_URL", url)
    fill(2)
    assert keys.load().log_keyed_from == 4
    assert verify()[0] == [] and verify()[1] == 5
    with db.engine().begin() as conn:
        _drop_triggers(conn)
        conn.execute(text("UPDATE access_log SET actor = '2:bob' WHERE seq = 2"))
    assert any(b.seq == 2 for b in chain_breaks())


def test_the_key_file_is_private_and_never_remade_for_data_that_needs_it():
    fill(1)
    path = keys.path()
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o644)
    with pytest.raises(AssessmentError) as err:
        keys.load()
    assert err.value.problems[0].code == "KEY002"
    path.unlink()
    db.dispose_all()
    with pytest.raises(AssessmentError) as err:
        db.engine()
    assert err.value.problems[0].code == "KEY001" and not path.exists()


def test_concurrent_writers_keep_one_chain():
    fill(1)

    def writer(k):
        for i in range(15):
            with db.session() as s:
                access_log.record(s, actor=f"{k}:user", event="view", object_id=i)
    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    breaks, n, _ = verify()
    assert breaks == [] and n == 61


def test_export_escapes_formulas_and_holds_ids_only():
    with db.session() as s:
        access_log.record(s, actor="1:ann", event="upload", object_type="evidence", object_id="=HYPERLINK(\"x\")",
                          reason="+cmd|' /C calc'!A0")
        rows = access_log.query(s)
    data = list(csv.reader(io.StringIO(access_log.to_csv(rows))))
    assert data[1][5] == "'=HYPERLINK(\"x\")" and data[1][7].startswith("'+cmd")


def test_long_values_are_cut_to_the_column_and_still_verify():
    with db.session() as s:
        access_log.record(s, actor="1:ann", event="search", reason="y" * 1000)
    assert verify()[0] == []
