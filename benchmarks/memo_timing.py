"""Memo time after analysis, on a case with 10 subjects and a large audit log.

    .venv/bin/python benchmarks/memo_timing.py [--rows 1000000] [--repeat 5] [--pdf]

The log is generated (DuckDB, from formulas): `--rows` transactions by 400 operators over a year,
the client's rows querying the 10 subjects of the case and others. Prints the analysis time once,
then the memo's parts as medians: rendering the .docx (with the attorney's review, 200 marked
events and the charts already drawn), drawing the two chart PNGs, and the PDF conversion when
asked. The issue's goal is the memo under 1 s after analysis.
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SUBJECTS = ["ROE, ALEX", "VANCE, CARA", "HOLT, DEV", "PRATT, ENZO", "MOSS, LEAH", "QUINN, TROY", "BRANDT, KYLE",
            "WEBB, NORA", "SOREL, MINA", "TATE, JEROME"]


def generate(path: Path, n: int) -> None:
    import duckdb
    names = ", ".join(f"'{s}'" for s in SUBJECTS)
    con = duckdb.connect()
    con.execute(f"""COPY (
      SELECT strftime(TIMESTAMP '2025-01-01 00:00:00' + to_seconds((i * {max(1, 365 * 86400 // n)})::BIGINT),
                      '%Y-%m-%d %H:%M:%S') AS "Timestamp",
        'OP' || lpad(((i * 7919) % 400)::VARCHAR, 4, '0') AS "Operator ID",
        'TRM' || lpad((i % 60)::VARCHAR, 3, '0') AS "Terminal",
        'CA0199900' AS "ORI",
        ['QW', 'RQ', 'DQ', 'QV'][1 + i % 4] AS "Message Key",
        CASE WHEN (i * 7919) % 400 = 7 AND i % 3 = 0 THEN [{names}][1 + (i // 3) % 10]
             ELSE ['SMITH', 'GARCIA', 'NGUYEN', 'KIM'][1 + i % 4] || ', ' || ['ANA', 'JOSE', 'MEI'][1 + i % 3] END AS "Name",
        NULL AS "DOB", NULL AS "Plate", NULL AS "DL Number",
        CASE WHEN i % 5 = 0 THEN NULL ELSE '25-' || lpad((i % 100000)::VARCHAR, 8, '0') END AS "Case Number"
      FROM range(1, {n} + 1) t(i)) TO '{path}' (HEADER, DELIMITER ',')""")
    con.close()


def write_case(folder: Path, n: int) -> None:
    from audit_scale import write_shifts  # the same schedule as the scale benchmark
    write_shifts(folder)
    subjects = "\n".join(f'  - {{name: "{s.split(", ")[1].title()} {s.split(", ")[0].title()}", relationship: '
                         f'{"ex_partner" if i == 0 else "acquaintance"}}}' for i, s in enumerate(SUBJECTS))
    (folder / "case.yaml").write_text(f"""format: clets-case/1
matter: {{id: "BENCH-MEMO", title: "People v. Bench Client", stage: charged}}
client:
  name: Bench Client
  role: dispatcher
  ori: CA0199900
  operator_ids: [OP0007]
  terminal_ids: [{", ".join(f"TRM{t:03d}" for t in range(30))}]
  clets_training_date: 2025-07-01
subjects:
{subjects}
allegations:
  - {{citation: "PC 502(c)(7)", status: charged, counts: 10}}
  - {{citation: "VC 1808.45", status: charged}}
  - {{citation: "PC 11143", status: alleged}}
evidence:
  audit_logs: [audit.csv]
  shifts: shifts.csv
""")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--pdf", action="store_true")
    a = ap.parse_args()
    import altair as alt
    import pandas as pd

    from assessment.core import casefile, review
    from assessment.evidence import analyse as evidence
    from assessment.evidence import charts, events
    from assessment.law import engine as assess
    from assessment.law import kb as kbmod
    from assessment.memo import render as memo
    from assessment.memo import templates
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        generate(folder / "audit.csv", a.rows)
        write_case(folder, a.rows)
        kb = kbmod.load()
        t0 = time.perf_counter()
        case = casefile.load(folder / "case.yaml", kb)
        ev = evidence.analyse(case, folder)
        result = assess.assess(case, kb, ev, dt.date(2026, 11, 30))
        analysis = time.perf_counter() - t0
        marks = {f"{e['file']}#{e['row']}": {"mark": "material", "note": "checked"} for e in ev.events[:200]}
        marked = events.marked(ev.events, marks)
        rv = review.Review(notes="Benchmark review.").with_override("defense", result.defenses[-1].id, "weak",
                                                                       "benchmark override")
        t = time.perf_counter()
        charts.png(alt.Chart(pd.DataFrame({"x": [1]})).mark_point().encode(x="x:Q"))
        warm_up = time.perf_counter() - t          # vl-convert starts its JavaScript engine once per process
        chart_t, figures = [], None
        for _ in range(a.repeat):
            t = time.perf_counter()
            figures = charts.memo_charts(ev)
            chart_t.append(time.perf_counter() - t)
        render_t, data = [], b""
        for _ in range(a.repeat):
            t = time.perf_counter()
            data = memo.render(result, case, templates.builtin(), marks=marked, charts=figures, review=rv)
            render_t.append(time.perf_counter() - t)
        plain_t = []
        for _ in range(a.repeat):
            t = time.perf_counter()
            memo.render(result, case, templates.builtin(), review=rv)
            plain_t.append(time.perf_counter() - t)
        pdf_t = None
        if a.pdf and memo.soffice():
            t = time.perf_counter()
            memo.to_pdf(data, folder / "pdf")
            pdf_t = time.perf_counter() - t
    subj = next(f.count for f in result.findings if f.id == "subject-queries")
    print(f"audit rows {a.rows:,}; client queries {ev.client_queries if hasattr(ev, 'client_queries') else '?'}; "
          f"subjects {len(case.subjects)}; subject queries {subj}; events in the memo's table {len(marked)}; "
          f"memo {len(data) / 1024:.0f} KB")
    print(f"{'step':<52}{'seconds (median)':>18}")
    print(f"{'analysis: load, evidence, assessment (once)':<52}{analysis:>18.3f}")
    print(f"{'memo .docx, charts already drawn, 200 marks, review':<52}{statistics.median(render_t):>18.3f}")
    print(f"{'memo .docx without charts or marks':<52}{statistics.median(plain_t):>18.3f}")
    print(f"{'vl-convert start, once per process (a 1-point chart)':<52}{warm_up:>18.3f}")
    print(f"{'the two chart PNGs (vl-convert, started)':<52}{statistics.median(chart_t):>18.3f}")
    print(f"{'memo .docx including drawing the charts':<52}{statistics.median(render_t) + statistics.median(chart_t):>18.3f}")
    if pdf_t is not None:
        print(f"{'PDF conversion (LibreOffice, once)':<52}{pdf_t:>18.3f}")


if __name__ == "__main__":
    main()
