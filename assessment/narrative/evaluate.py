"""`clets-assess eval-nlp`: precision, recall and F1 of the narrative miner on the annotated set
(`knowledge/nlp/gold.yaml`), per entity label and per fact key."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from assessment.law import kb as kbmod
from assessment.law import nlp
from assessment.narrative.pipeline import LABELS, extract


def _match_people(pred: set[str], gold: set[str]) -> tuple[set[str], set[str]]:
    """(gold people found, predictions matching no one). A prediction matches a gold name whose
    words include all of its own ("Lindqvist" matches "Tessa Lindqvist"); full names are matched
    first, and a short mention goes to a person not found yet, so the result does not depend on
    set order."""
    hit: set[str] = set()
    extra: set[str] = set()
    for p in sorted(pred, key=lambda x: (-len(x.split()), x)):
        words = set(p.lower().split())
        cands = sorted(g for g in gold if words and words <= set(g.lower().split()))
        if not cands:
            extra.add(p)
            continue
        hit.add(next((g for g in cands if g not in hit), cands[0]))
    return hit, extra


class Counts:
    def __init__(self, shown: bool = True) -> None:
        self.tp: dict[str, int] = defaultdict(int)
        self.fp: dict[str, int] = defaultdict(int)
        self.fn: dict[str, int] = defaultdict(int)
        self.errors: list[str] = []
        # facts only: the suggestions the Facts page shows by default (high and medium confidence)
        self.shown: Counts = Counts(shown=False) if shown else self

    def row(self, key: str) -> tuple[int, int, int, float, float, float]:
        tp, fp, fn = self.tp[key], self.fp[key], self.fn[key]
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return tp, fp, fn, p, r, f

    def total(self, keys) -> tuple[int, int, int, float, float, float]:
        tp, fp, fn = (sum(d[k] for k in keys) for d in (self.tp, self.fp, self.fn))
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        return tp, fp, fn, p, r, (2 * p * r / (p + r) if p + r else 0.0)


def evaluate(gold_path: Path | None = None, kb: kbmod.KnowledgeBase | None = None,
             mode: str = "both") -> tuple[Counts, Counts, int]:
    gold, _ = nlp.load(Path(gold_path or nlp.nlp_dir() / "gold.yaml"), nlp.GoldSet)
    ents, facts = Counts(), Counts()
    for n in gold.narratives:
        got = extract(n.text, kb, n.client, mode=mode)
        for label in LABELS:
            want = {v for lab, v in n.entities if lab == label}
            pred = {e["normalized"] for e in got["entities"] if e["label"] == label}
            if label == "PERSON":
                hit, miss_pred = _match_people(pred, want)
            else:
                hit, miss_pred = want & pred, pred - want
            ents.tp[label] += len(hit)
            ents.fp[label] += len(miss_pred)
            ents.fn[label] += len(want - hit)
            ents.errors += [f"{n.id} {label} extra: {p}" for p in sorted(miss_pred)]
            ents.errors += [f"{n.id} {label} missed: {g}" for g in sorted(want - hit)]
        want_facts = set(n.facts.items())
        for counts, suggested in ((facts, got["facts"]), (facts.shown, [f for f in got["facts"] if f["confidence"] != "low"])):
            pred_facts = {(f["key"], f["value"]) for f in suggested}
            for key, value in pred_facts | want_facts:
                if (key, value) in pred_facts and (key, value) in want_facts:
                    counts.tp[key] += 1
                elif (key, value) in pred_facts:
                    counts.fp[key] += 1
                    ev = next(f for f in suggested if (f["key"], f["value"]) == (key, value))
                    counts.errors.append(f"{n.id} extra {key}={value} [{ev['confidence']}] (sentence {ev['sentence']}: "
                                         f"'{ev['evidence']}')")
                else:
                    counts.fn[key] += 1
                    counts.errors.append(f"{n.id} missed {key}={value}")
    return ents, facts, len(gold.narratives)


def report(ents: Counts, facts: Counts, n: int, verbose: bool = False) -> str:
    lines = [f"{n} annotated narratives", "", f"{'entity label':<16} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>9} "
             f"{'recall':>7} {'F1':>6}"]
    for label in LABELS:
        tp, fp, fn, p, r, f = ents.row(label)
        lines.append(f"{label:<16} {tp:>4} {fp:>4} {fn:>4} {p:>9.3f} {r:>7.3f} {f:>6.3f}")
    tp, fp, fn, p, r, f = ents.total(LABELS)
    lines.append(f"{'all entities':<16} {tp:>4} {fp:>4} {fn:>4} {p:>9.3f} {r:>7.3f} {f:>6.3f}")
    keys = sorted(set(facts.tp) | set(facts.fp) | set(facts.fn))
    lines += ["", f"{'fact key':<24} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>9} {'recall':>7} {'F1':>6}"]
    for key in keys:
        tp, fp, fn, p, r, f = facts.row(key)
        lines.append(f"{key:<24} {tp:>4} {fp:>4} {fn:>4} {p:>9.3f} {r:>7.3f} {f:>6.3f}")
    tp, fp, fn, p, r, f = facts.total(keys)
    lines.append(f"{'all facts':<24} {tp:>4} {fp:>4} {fn:>4} {p:>9.3f} {r:>7.3f} {f:>6.3f}")
    tp, fp, fn, p, r, f = facts.shown.total(keys)
    lines.append(f"{'shown by default':<24} {tp:>4} {fp:>4} {fn:>4} {p:>9.3f} {r:>7.3f} {f:>6.3f}"
                 "   (high and medium confidence; low is hidden until asked for)")
    if verbose:
        lines += ["", "Errors:"] + ["  " + e for e in ents.errors + facts.errors]
    return "\n".join(lines)
