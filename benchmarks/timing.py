"""Times `assess` and `memo` on the demo cases (and the shared examples where present).

    .venv/bin/python benchmarks/timing.py

Prints the knowledge-base load and scenario time, then a table: case, audit rows, seconds for
load + evidence + assessment, seconds for the memo.
"""
from __future__ import annotations

import datetime as dt
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assessment.core import casefile
from assessment.evidence import analyse as evidence
from assessment.law import engine as assess
from assessment.law import kb as kbmod
from assessment.law import scenarios
from assessment.memo import render as memo
from assessment.memo import templates


def main(repeat: int = 5) -> None:
    folders = sorted((ROOT / "demo").glob("*/case.yaml"))
    shared = ROOT.parent / "shared" / "examples"
    folders += sorted(shared.glob("*/case.yaml")) if shared.exists() else []
    t0 = time.perf_counter()
    kb = kbmod.load()
    print(f"knowledge base load: {time.perf_counter() - t0:.3f} s")
    t0 = time.perf_counter()
    count, failures = scenarios.run_all(kb, kbmod.default_dir())
    print(f"knowledge-base scenarios: {count} run, {len(failures)} failed, {time.perf_counter() - t0:.3f} s")
    print(f"{'case':<28}{'rows':>7}{'assess s (median)':>20}{'memo s (median)':>18}")
    for path in folders:
        a_times, m_times = [], []
        for _ in range(repeat):
            t = time.perf_counter()
            case = casefile.load(path, kb)
            result = assess.assess(case, kb, evidence.analyse(case, path.parent), dt.date(2026, 11, 30))
            a_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            memo.render(result, case, templates.builtin())
            m_times.append(time.perf_counter() - t)
        rows = result.evidence.files[0].rows if result.evidence else 0
        print(f"{path.parent.name:<28}{rows:>7}{statistics.median(a_times):>20.3f}{statistics.median(m_times):>18.3f}")


if __name__ == "__main__":
    main()
