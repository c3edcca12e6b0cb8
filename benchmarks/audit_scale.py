"""Audit-log scale: import plus full analysis at 100 k, 1 M and 10 M rows against a bare DuckDB
read of the same file.

    .venv/bin/python benchmarks/audit_scale.py [--sizes 100000,1000000,10000000] [--repeat 3] [--dir DIR]

The generator is the project's own (DuckDB writes the CSV from formulas, so it needs no data);
the expected rows are computed from the same formulas with numpy and every run is checked
against them. Each measurement runs in a fresh process, so its peak RSS is its own.
Columns: bare count = `SELECT count(*) FROM read_csv(f)`; bare read = every column read and
aggregated, no analysis; analyse = `evidence.analyse` (sniff, SHA-256, scan, all findings).
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLIENT = "OP0007"
YEAR = 365 * 86400
TRAINING = "2025-07-01"


def step(n: int) -> int:
    return max(1, YEAR // n)


def generate(path: Path, n: int) -> None:
    import duckdb
    con = duckdb.connect()
    con.execute(f"""COPY (
      SELECT strftime(TIMESTAMP '2025-01-01 00:00:00' + to_seconds((i * {step(n)})::BIGINT), '%Y-%m-%d %H:%M:%S') AS "Timestamp",
        'OP' || lpad(((i * 7919) % 400)::VARCHAR, 4, '0') AS "Operator ID",
        'TRM' || lpad((i % 60)::VARCHAR, 3, '0') AS "Terminal",
        'CA0199900' AS "ORI",
        ['QW', 'RQ', 'DQ', 'QV'][1 + i % 4] AS "Message Key",
        CASE WHEN i % 997 = 0 OR ((i * 7919) % 400 = 7 AND i % 11 = 0) THEN 'ROE, ALEX'
             ELSE ['SMITH', 'GARCIA', 'NGUYEN', 'KIM', 'PATEL', 'LOPEZ', 'BROWN'][1 + i % 7] || ', '
                  || ['ANA', 'JOSE', 'MEI', 'OMAR', 'LEILA', 'RAJ'][1 + (i // 7) % 6] END AS "Name",
        CASE WHEN i % 997 = 0 OR ((i * 7919) % 400 = 7 AND i % 11 = 0) THEN '1990-05-17'
             ELSE '19' || (50 + i % 50)::VARCHAR || '-0' || (1 + i % 9)::VARCHAR || '-1' || (i % 10)::VARCHAR END AS "DOB",
        CASE WHEN i % 3 = 0 THEN (1000000 + i % 8999999)::VARCHAR END AS "Plate",
        NULL AS "DL Number",
        CASE WHEN i % 5 = 0 THEN NULL ELSE '25-' || lpad((i % 100000)::VARCHAR, 8, '0') END AS "Case Number"
      FROM range(1, {n} + 1) t(i)) TO '{path}' (HEADER, DELIMITER ',')""")
    con.close()


def write_shifts(folder: Path) -> None:
    """Day shifts, 08:00-18:00, on the first 28 days of each month of 2025."""
    days = ["start,end"] + [f"2025-{m:02d}-{d:02d} 08:00,2025-{m:02d}-{d:02d} 18:00"
                            for m in range(1, 13) for d in range(1, 29)]
    (folder / "shifts.csv").write_text("\n".join(days) + "\n")


def write_case(folder: Path, n: int) -> None:
    write_shifts(folder)
    (folder / "case.yaml").write_text(f"""format: clets-case/1
matter: {{id: "BENCH-{n}", title: "Benchmark", stage: investigation}}
client:
  name: Bench Client
  role: dispatcher
  ori: CA0199900
  operator_ids: [{CLIENT}]
  terminal_ids: [{", ".join(f"TRM{t:03d}" for t in range(30))}]
  clets_training_date: {TRAINING}
subjects:
  - {{name: "Alex Roe", relationship: ex_partner, dob: 1990-05-17}}
evidence:
  audit_logs: [audit.csv]
  shifts: shifts.csv
""")


def expected(n: int) -> dict:
    import numpy as np
    i = np.arange(1, n + 1, dtype=np.int64)
    secs = i * step(n)
    client = (i * 7919) % 400 == 7
    subject = client & ((i % 997 == 0) | (i % 11 == 0))
    day = secs // 86400        # day 0 = 2025-01-01
    tod = secs % 86400
    month_day = (np.datetime64("2025-01-01") + day.astype("timedelta64[D]")).astype(object)
    in_schedule = np.array([d.day <= 28 for d in month_day]) & (day < 365)
    on_duty = in_schedule & (tod >= 8 * 3600) & (tod <= 18 * 3600)
    training = (np.datetime64(TRAINING) - np.datetime64("2025-01-01")).astype(int) * 86400
    return {"client": int(client.sum()), "subject-queries": i[subject].tolist(),
            "off-duty-subject-queries": i[subject & ~on_duty].tolist(),
            "subject-queries-without-case-number": i[subject & (i % 5 == 0)].tolist(),
            "unassigned-terminal-queries": i[client & (i % 60 >= 30)].tolist(),
            "queries-before-training": i[client & (secs < training)].tolist()}


def child(mode: str, folder: str) -> None:
    """One measurement in this process; prints JSON."""
    folder_p = Path(folder)
    import duckdb

    from assessment.core import casefile
    from assessment.evidence import analyse as evidence
    t0 = time.perf_counter()
    out: dict = {}
    if mode == "bare-count":
        out["rows"] = duckdb.connect().execute(f"SELECT count(*) FROM read_csv('{folder_p / 'audit.csv'}')").fetchone()[0]
    elif mode == "bare-read":
        con = duckdb.connect()
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_csv('{folder_p / 'audit.csv'}')").fetchall()]
        aggs = ", ".join(f'max("{c}")' for c in cols)
        out["rows"] = con.execute(f"SELECT count(*), {aggs} FROM read_csv('{folder_p / 'audit.csv'}')").fetchone()[0]
    else:
        case = casefile.load(folder_p / "case.yaml")
        res = evidence.analyse(case, folder_p)
        out["rows"] = res.files[0]["rows"]
        out["client"] = res.client_queries
        out["findings"] = {k: f.rows for k, f in res.findings.items()}
    out["seconds"] = time.perf_counter() - t0
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def measure(mode: str, folder: Path) -> dict:
    got = subprocess.run([sys.executable, __file__, "--child", mode, str(folder)], capture_output=True, text=True)
    if got.returncode:
        raise SystemExit(got.stderr)
    return json.loads(got.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100000,1000000,10000000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", default=None)
    ap.add_argument("--child", nargs=2)
    a = ap.parse_args()
    if a.child:
        return child(*a.child)
    base = Path(a.dir or tempfile.mkdtemp(prefix="clets-bench-"))
    print(f"{'rows':>11} {'MB':>6} {'gen s':>6} {'bare count s':>12} {'bare read s':>11} {'analyse s':>9} "
          f"{'x count':>7} {'x read':>6} {'s/M rows':>8} {'RSS MB':>7} {'bare RSS':>8}  findings")
    for n in [int(x) for x in a.sizes.split(",")]:
        folder = base / f"n{n}"
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        if not (folder / "audit.csv").exists():
            generate(folder / "audit.csv", n)
        gen = time.perf_counter() - t0
        write_case(folder, n)
        runs = {m: [measure(m, folder) for _ in range(a.repeat)] for m in ("bare-count", "bare-read", "analyse")}
        med = {m: statistics.median(r["seconds"] for r in rs) for m, rs in runs.items()}
        want = expected(n)
        last = runs["analyse"][-1]
        ok = (last["rows"] == n and last["client"] == want["client"]
              and all(last["findings"][k] == v for k, v in want.items() if k != "client"))
        print(f"{n:>11,} {(folder / 'audit.csv').stat().st_size / 1e6:>6.0f} {gen:>6.1f} {med['bare-count']:>12.2f} "
              f"{med['bare-read']:>11.2f} {med['analyse']:>9.2f} {med['analyse'] / med['bare-count']:>7.2f} "
              f"{med['analyse'] / med['bare-read']:>6.2f} {med['analyse'] / n * 1e6:>8.2f} "
              f"{max(r['rss_mb'] for r in runs['analyse']):>7.0f} {max(r['rss_mb'] for r in runs['bare-read']):>8.0f}  "
              f"{'exact' if ok else 'MISMATCH'} ({len(want['subject-queries'])} subject, {want['client']} client rows)",
              flush=True)


if __name__ == "__main__":
    main()
