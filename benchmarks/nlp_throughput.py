"""Narrative-mining throughput: words per second on a long narrative.

    .venv/bin/python benchmarks/nlp_throughput.py [--words 200000] [--repeat 3]

The long narrative is the annotated narratives (knowledge/nlp/gold*.yaml) joined and repeated
until it holds the requested number of words. Prints words/s for the spaCy pipeline alone
(tokenizer, entities, sentences) and for the whole extraction (plus suggested facts), as the
median of the runs, and the one-off cost of building the pipeline. The last column is spaCy's
blank English tokenizer alone on the same text: the ceiling for any pipeline built on it.
The last row mines one report of about 5,000 words built from the realistic documents
(knowledge/nlp/gold-documents-*.yaml) the way the app does, and prints milliseconds per report.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assessment.law import nlp as nlp_data
from assessment.narrative import pipeline as narrative
from assessment.narrative import rules, suggest


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--words", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    texts = []
    for path in sorted(nlp_data.nlp_dir().glob(nlp_data.GOLD)):
        texts += [n.text for n in nlp_data.load(path, nlp_data.GoldSet)[0].narratives]
    base = "\n\n".join(texts)
    text = base
    while len(text.split()) < a.words:
        text += "\n\n" + base
    words = len(text.split())
    t0 = time.perf_counter()
    nlp = narrative.pipeline()
    build = time.perf_counter() - t0
    nlp.max_length = max(nlp.max_length, len(text) + 1)
    d = str(nlp_data.nlp_dir())
    pipe, full, tok = [], [], []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        nlp.make_doc(text)
        tok.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        doc = nlp(text)
        pipe.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        facts = suggest.suggest(doc, d, ["Riley Tran"])
        full.append(pipe[-1] + time.perf_counter() - t0)
    print(f"pipeline build: {build:.2f} s")
    print(f"{'text':<28} {'words':>8} {'chars':>9} {'entities':>9} {'facts':>6} {'pipeline w/s':>13} {'extract w/s':>12} "
          f"{'ms/1k words':>12} {'tokenizer w/s':>14}")
    print(f"{'annotated narratives, joined':<28} {words:>8,} {len(text):>9,} {len(rules.ents(doc)):>9,} {len(facts):>6,} "
          f"{words / statistics.median(pipe):>13,.0f} {words / statistics.median(full):>12,.0f} "
          f"{1000 * statistics.median(full) / words * 1000:>12.1f} {words / statistics.median(tok):>14,.0f}")
    # one report of 5,000 words from the realistic documents (headers, bullets, lists of citations), mined
    # the way the Facts page and `clets-assess extract` mine it: tidied, entities, sentences, suggestions
    docs = [n.text for part in ("dev", "heldout")
            for n in nlp_data.load(nlp_data.nlp_dir() / f"gold-documents-{part}.yaml", nlp_data.GoldSet)[0].narratives]
    report = ""
    for t in docs * 4:
        if len((report + t).split()) > 5_000:
            break
        report += t + "\n\n"
    rwords = len(report.split())
    narrative.extract(report, None, ["Riley Tran"])          # loads the trained model once, as the app does
    runs = []
    for _ in range(max(9, a.repeat)):
        t0 = time.perf_counter()
        got = narrative.extract(report, None, ["Riley Tran"])
        runs.append(time.perf_counter() - t0)
    ms = 1000 * statistics.median(runs)
    print(f"{'one report (realistic docs)':<28} {rwords:>8,} {len(report):>9,} {len(got['entities']):>9,} "
          f"{len(got['facts']):>6,} {'':>13} {rwords / statistics.median(runs):>12,.0f} {ms / rwords * 1000:>12.1f}"
          f"   {ms:.0f} ms per report (median of {len(runs)})")


if __name__ == "__main__":
    main()
