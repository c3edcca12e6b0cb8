"""What the firm deployment costs per request, on SQLite and (when installed) PostgreSQL.

    .venv/bin/python benchmarks/firm_timing.py [--rows 100000]

Prints one table: argon2id hashing, a sign-in, a session check (every page run does one), one
access-log row in its own transaction (every view does one, HMAC-chained and its head exported
when due), a matter save, sealing and opening a 25 MB evidence file (AES-256-GCM), verifying the
log's keyed chain, rotating the data key, and a passphrase-sealed backup and its restore. Medians
of 5 unless the row says otherwise."""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from assessment.cli import firstrun
from assessment.firm import access_log, accounts, backup, blobs, db, keys, logins, matters, sessions
from assessment.firm.tables import User

PASSWORD = "correct horse battery staple"
PASSPHRASE = "a long benchmark passphrase"


def median(fn, n=5) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def fill_log(s, rows: int) -> None:
    from sqlalchemy import insert, select

    from assessment.firm.tables import AccessLog
    seq, prev = s.execute(select(AccessLog.seq, AccessLog.hash).order_by(AccessLog.seq.desc()).limit(1)).one()
    batch = []
    for i in range(seq + 1, rows + 1):
        values = {"seq": i, "time": access_log.stamp(), "actor": "1:admin", "event": "view", "object_type": "matter",
                  "object_id": str(i % 50), "outcome": "success", "reason": "", "place": "Facts", "source": "bench"}
        row_hash = access_log._hash(prev, values, keys.load().log_key_for(i))
        batch.append({**values, "prev_hash": prev, "hash": row_hash})
        prev = row_hash
        if len(batch) == 5000 or i == rows:
            s.execute(insert(AccessLog), batch)
            batch = []


def run(label: str, url: str, rows: int) -> list[tuple[str, str, str]]:
    """The rows of the table for one database (empty at the start)."""
    os.environ["CLETS_DATABASE_URL"] = url
    out = []
    first = time.perf_counter()
    db.engine()
    out.append(("migrate an empty database", label, f"{time.perf_counter() - first:.3f} s"))
    firstrun.ensure(url, PASSWORD)
    out.append(("argon2id hash", label, f"{median(lambda: accounts.hash_password(PASSWORD)) * 1000:.0f} ms"))

    def sign_in():
        with db.session() as s:
            return logins.sign_in(s, "admin", PASSWORD)
    token = sign_in().token
    out.append(("sign-in (hash check, session, log row)", label, f"{median(sign_in) * 1000:.0f} ms"))

    def check():
        with db.session() as s:
            sessions.check(s, token)
    out.append(("session check (each page run)", label, f"{median(check, 50) * 1000:.2f} ms"))

    def one_row():
        with db.session() as s:
            access_log.record(s, actor="1:admin", event="view", object_type="matter", object_id=1)
    out.append(("one access-log row, own transaction", label, f"{median(one_row, 200) * 1000:.2f} ms"))

    with db.session() as s:
        admin = s.query(User).filter_by(username="admin").one()
        pk = matters.listing(matters.Ctx(s, admin))[0].pk
    state = {"n": 0}

    def save():
        with db.session() as s:
            c = matters.Ctx(s, admin)
            v = matters.version(c, pk)
            state["n"] += 1
            matters.save(c, pk, v, marks={"audit.csv#1": {"mark": "disputed", "note": str(state["n"])}})
    out.append(("matter save (version check, update, log row)", label, f"{median(save, 20) * 1000:.1f} ms"))

    big = os.urandom(25 * 2**20)

    def seal_and_open():
        with db.session() as s:
            sha = blobs.put(s, big)
            s.flush()
            assert blobs.get(s, sha) == big
            s.rollback()
    out.append(("store and read back a 25 MB file (AES-256-GCM, SHA-256)", label,
                f"{median(seal_and_open, 3) * 1000:.0f} ms"))

    with db.session() as s:            # a year of a busy firm's log, chained as record() chains it
        fill_log(s, rows)

    def verify():
        with db.session() as s:
            assert access_log.verify(s)[0] == []
    v = median(verify, 3)
    out.append((f"verify the chain of {rows:,} rows", label, f"{v:.2f} s ({rows / v:,.0f} rows/s)"))

    t = time.perf_counter()
    with db.session() as s:
        n = blobs.reseal(s, keys.with_new_data_key(keys.load()))
        s.rollback()
    out.append((f"re-encrypt every stored file under a new key ({n} files)", label,
                f"{time.perf_counter() - t:.2f} s"))

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        backup.write(Path(tmp) / "b.clets", PASSPHRASE)
        b = time.perf_counter() - t
        size = (Path(tmp) / "b.clets").stat().st_size
        out.append(("backup, sealed (the log, 2 demo matters with evidence)", label, f"{b:.2f} s, {size / 2**20:.1f} MB"))
    return out


def use_keys(data: str) -> None:
    """The benchmark's key file and log heads, in its temporary folder (so they go with it; a server
    keeps them outside the data folder)."""
    folder = Path(data) / "keys"
    os.environ["CLETS_KEY_FILE"] = str(folder / "keys.json")
    os.environ["CLETS_LOG_HEADS"] = str(folder / "heads.jsonl")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as data:
        os.environ["CLETS_DATA_DIR"] = data
        use_keys(data)
        sqlite_url = f"sqlite:///{data}/clets.db"
        results += run("SQLite", sqlite_url, args.rows)
        results += restore_row("SQLite", sqlite_url, f"sqlite:///{data}/restored/clets.db", Path(data) / "restored")
        db.dispose_all()
    import pgserver
    if pgserver.bindir():
        server = pgserver.start()
        try:
            with tempfile.TemporaryDirectory() as data:
                os.environ["CLETS_DATA_DIR"] = data
                use_keys(data)
                app, owner = pgserver.create_database(server)
                os.environ["CLETS_DATABASE_OWNER_URL"] = owner
                results += run("PostgreSQL", app, args.rows)
                app2, owner2 = pgserver.create_database(server)
                results += restore_row("PostgreSQL", app, app2, Path(data) / "restored", owner2)
                db.dispose_all()
        finally:
            pgserver.stop(server)
    width = max(len(r[0]) for r in results)
    print(f"{'step':<{width}}  {'database':<10}  result")
    for step, where, value in results:
        print(f"{step:<{width}}  {where:<10}  {value}")


def restore_row(label: str, src_url: str, dst_url: str, dst_data: Path,
                dst_owner: str | None = None) -> list[tuple[str, str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CLETS_DATABASE_URL"] = src_url
        backup.write(Path(tmp) / "b.clets", PASSPHRASE)
        os.environ["CLETS_DATA_DIR"], os.environ["CLETS_DATABASE_URL"] = str(dst_data), dst_url
        if dst_owner:
            os.environ["CLETS_DATABASE_OWNER_URL"] = dst_owner
        db.engine()
        t = time.perf_counter()
        m = backup.restore(Path(tmp) / "b.clets", PASSPHRASE)
        assert m["tables"]["matters"] == 2
        return [("restore into an empty database (passphrase, hashes, keyed chain)", label,
                 f"{time.perf_counter() - t:.2f} s")]


if __name__ == "__main__":
    main()
