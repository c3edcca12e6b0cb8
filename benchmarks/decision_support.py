"""Decision support timing: the investigation priorities (the engine run again for every answer to every
open question), the disposition matrix and the chronology, on the demo cases, the shared examples where
present, and a case with every fact and every rule date unknown (the issue's "13 unknown facts").

    .venv/bin/python benchmarks/decision_support.py [--repeat 5]

Columns: open questions ranked, engine runs (answers tried), seconds for the base assessment alone, for
the priorities, for the matrix and the chronology (each the median of `repeat` runs), and the rank-1 question.
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assessment.core import casefile
from assessment.evidence import analyse as evidence
from assessment.law import chronology, dispositions, engine, priorities
from assessment.law import kb as kbmod

AS_OF = dt.date(2026, 11, 30)
ALL_UNKNOWN = """format: clets-case/1
matter: {id: BENCH-1, title: People v. Bench, stage: investigation}
client: {name: Pat Bench, role: peace_officer, operator_ids: [OP1], terminal_ids: [T1]}
allegations:
  - {citation: "PC 502(c)(2)", status: alleged}
  - {citation: "VC 1808.45", status: possible}
subjects:
  - {name: Alex Roe, relationship: ex_partner}
"""


def cases(kb) -> list[tuple[str, casefile.CaseFile, object]]:
    out = []
    folders = sorted((ROOT / "demo").glob("*/case.yaml"))
    shared = ROOT.parent / "shared" / "examples"
    folders += sorted(shared.glob("*/case.yaml")) if shared.exists() else []
    for path in folders:
        case = casefile.load(path, kb)
        out.append((path.parent.name, case, evidence.analyse(case, path.parent)))
    out.append(("all unknown (no evidence)", casefile.loads(ALL_UNKNOWN, "bench.yaml", kb), None))
    return out


def main(repeat: int) -> None:
    kb = kbmod.load()
    print(f"{'case':<28}{'questions':>10}{'runs':>6}{'base s':>9}{'priorities s':>14}{'matrix s':>10}"
          f"{'chronology s':>14}  rank 1")
    for name, case, ev in cases(kb):
        base_t, prio_t, matrix_t, chron_t = [], [], [], []
        runs = 0
        for _ in range(repeat):
            t = time.perf_counter()
            assessor = engine._Assessor(case, kb, ev, AS_OF)
            result = assessor.run()
            base_t.append(time.perf_counter() - t)
            count = [0]

            def run(c, count=count, ev=ev):
                count[0] += 1
                return engine._Assessor(c, kb, ev, AS_OF).run()
            t = time.perf_counter()
            ranked = priorities.rank(case, kb, result, run, AS_OF)
            prio_t.append(time.perf_counter() - t)
            runs = count[0]
            t = time.perf_counter()
            dispositions.matrix(kb, assessor.ctx, result, ev)
            matrix_t.append(time.perf_counter() - t)
            t = time.perf_counter()
            chronology.build(case, result, ev)
            chron_t.append(time.perf_counter() - t)
        first = ranked[0].fact if ranked else "-"
        print(f"{name:<28}{len(ranked):>10}{runs:>6}{statistics.median(base_t):>9.3f}{statistics.median(prio_t):>14.3f}"
              f"{statistics.median(matrix_t):>10.4f}{statistics.median(chron_t):>14.4f}  {first}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    main(ap.parse_args().repeat)
