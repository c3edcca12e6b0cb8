"""The access log is append-only and hash-chained; `audit verify` finds a tampered row."""
import csv
import io
import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError, InternalError

from assessment import access_log, db
from conftest import run_cli

REFUSED = (IntegrityError, InternalError, DBAPIError)


def fill(n=6):
    with db.session() as s:
        for i in range(n):
            access_log.record(s, actor="1:ann", event="view", object_type="matter", object_id=i, place="test")


def verify(head=None):
    with db.session() as s:
        return access_log.verify(s, head)


def _drop_triggers(conn):
    """What someone with the database's owner rights could do: remove the guard first."""
    if conn.dialect.name == "sqlite":
        conn.execute(text("DROP TRIGGER access_log_no_update"))
        conn.execute(text("DROP TRIGGER access_log_no_delete"))
    else:
        conn.execute(text("DROP TRIGGER access_log_no_change ON access_log"))


@pytest.mark.parametrize("sql", ["UPDATE access_log SET reason = 'x' WHERE seq = 2",
                                 "DELETE FROM access_log WHERE seq = 2"])
def test_rows_cannot_be_changed_or_removed(sql):
    fill()
    with pytest.raises(REFUSED, match="append-only"):
        with db.session() as s:
            s.execute(text(sql))
    assert verify()[0] == [] and verify()[1] == 6


@pytest.mark.parametrize("tamper, seq, words", [
    ("UPDATE access_log SET object_id = '99' WHERE seq = 3", 3, "altered"),
    ("DELETE FROM access_log WHERE seq = 4", 5, "missing"),
    ("UPDATE access_log SET actor = '2:bob', hash = 'f' || substr(hash, 2) WHERE seq = 2", 2, "altered"),
])
def test_verify_names_the_tampered_row(tamper, seq, words):
    fill()
    with db.engine().begin() as conn:
        _drop_triggers(conn)
        conn.execute(text(tamper))
    breaks, n, _ = verify()
    assert breaks and breaks[0].seq == seq and words in breaks[0].problem
    out = run_cli("audit", "verify")
    assert out.returncode == 1 and f"TAMPERED: row {seq}" in out.stderr


def test_a_removed_tail_is_found_against_a_recorded_head():
    fill()
    _, n, head = verify()
    with db.engine().begin() as conn:
        _drop_triggers(conn)
        conn.execute(text(f"DELETE FROM access_log WHERE seq = {n}"))
    assert verify()[0] == []                                 # the chain alone cannot see a cut end
    breaks = verify((n, head))[0]
    assert breaks and "head is gone" in breaks[0].problem


def test_cli_verify_passes_on_an_intact_log_and_records_that_it_ran():
    fill(3)
    out = run_cli("audit", "verify")
    assert out.returncode == 0 and out.stdout.startswith("ok: 3 rows")
    with db.session() as s:
        assert access_log.query(s, event="log-verify")[0].reason == "3 rows, 0 breaks"


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
