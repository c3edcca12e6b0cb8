"""The memo's length and clean text, case by case: body pages (before the appendices), total pages and defects.

    .venv/bin/python benchmarks/memo_pages.py [--images DIR] [--as-of 2026-11-30] [--defects]

Renders the memo (built-in template, charts drawn) for each demo case, each shared example (where
/work/shared/examples or ../shared/examples exists) and a case with every fact unknown (the
off-duty-lookups case with every tri-state fact and the prior discipline unknown, no dates, no
evidence), converts each to PDF with LibreOffice and prints a table: case, body pages, total pages,
defects (memo/proofread.py), render seconds, PDF seconds. The issue's goal: a body of 8 pages or
fewer and no defect on every case. `--defects` also lists the defects by kind; `--images DIR`
writes pages 1 and 2 of the off-duty-lookups memo as DIR/memo-page-1.png and DIR/memo-page-2.png.
"""
from __future__ import annotations

import argparse
import collections
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assessment.core import casefile
from assessment.core.casefile import FACT_KEYS, Dates
from assessment.evidence import analyse as evidence
from assessment.evidence import charts
from assessment.law import engine
from assessment.law import kb as kbmod
from assessment.memo import pdfpages, proofread, templates
from assessment.memo import render as memo

UNKNOWN = "every-fact-unknown"
IMAGES_OF = "off-duty-lookups"


def folders() -> list[tuple[str, Path | None]]:
    """The cases: (name, folder), the demo cases, then the shared examples, then UNKNOWN (no folder)."""
    out: list[tuple[str, Path | None]] = [(p.name, p) for p in sorted((ROOT / "demo").iterdir())
                                          if (p / "case.yaml").exists()]
    for shared in (Path("/work/shared/examples"), ROOT.parent / "shared" / "examples"):
        if shared.is_dir():
            out += [(f"shared/{p.name}", p) for p in sorted(shared.iterdir()) if (p / "case.yaml").exists()]
            break
    return out + [(UNKNOWN, None)]


def assessed(kb, folder: Path | None, as_of: dt.date):
    """The assessment, case and evidence; for no folder, off-duty-lookups with every fact unknown."""
    if folder is not None:
        case = casefile.load(folder / "case.yaml", kb)
        ev = evidence.analyse(case, folder)
        return engine.assess(case, kb, ev, as_of), case, ev
    case = casefile.load(ROOT / "demo" / IMAGES_OF / "case.yaml", kb)
    case = case.model_copy(update={
        "facts": case.facts.model_copy(update=dict.fromkeys(FACT_KEYS, "unknown")),
        "client": case.client.model_copy(update={"prior_discipline": "unknown"}),
        "dates": Dates()})
    return engine.assess(case, kb, None, as_of), case, None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=Path, help="write pages 1 and 2 of the off-duty-lookups memo here as PNG")
    ap.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2026, 11, 30))
    ap.add_argument("--defects", action="store_true", help="list each memo's defects by kind")
    a = ap.parse_args()
    if not memo.soffice():
        print("LibreOffice is not installed: pages are not counted", file=sys.stderr)
    kb = kbmod.load()
    rows, found = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, folder in folders():
            result, case, ev = assessed(kb, folder, a.as_of)
            t = time.perf_counter()
            data = memo.render(result, case, templates.builtin(), charts=charts.memo_charts(ev))
            render_s = time.perf_counter() - t
            found[name] = proofread.defects(data)
            t = time.perf_counter()
            out = memo.to_pdf(data, Path(tmp) / name.replace("/", "-"))
            pdf_s = time.perf_counter() - t
            pdf = out.read_bytes() if out else None
            body, total = (pdfpages.body_pages(pdf), pdfpages.count(pdf)) if pdf else ("-", "-")
            rows.append((name, body, total, len(found[name]), render_s, pdf_s if pdf else None))
            if a.images and name == IMAGES_OF and pdf:
                a.images.mkdir(parents=True, exist_ok=True)
                for n, png in enumerate(memo.page_images(pdf, 1, 2, dpi=80), start=1):
                    (a.images / f"memo-page-{n}.png").write_bytes(png)
    print(f"{'case':<30}{'body pages':>11}{'total pages':>12}{'defects':>9}{'render s':>10}{'PDF s':>8}")
    for name, body, total, n, render_s, pdf_s in rows:
        pdf_text = f"{pdf_s:.2f}" if pdf_s is not None else "-"
        print(f"{name:<30}{body:>11}{total:>12}{n:>9}{render_s:>10.2f}{pdf_text:>8}")
    if a.defects:
        for name, ds in found.items():
            kinds = collections.Counter(d.kind for d in ds)
            print(f"\n{name}: {len(ds)} defects " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
            for kind in sorted(kinds):
                for d in [d for d in ds if d.kind == kind][:2]:
                    print(f"  {kind:<15} {d.place:<30} {d.excerpt}")


if __name__ == "__main__":
    main()
