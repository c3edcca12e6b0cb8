"""What `clets-assess train-nlp` learns from: each sentence of the annotated sets in
`knowledge/nlp/` with the case-file facts it states (see `model.py`). Never a held-out document."""
from __future__ import annotations

from pathlib import Path

from spacy.language import Language

from assessment.law import nlp as nlpdata
from assessment.narrative import model
from assessment.narrative.pipeline import extract

TRAIN_SETS = ("gold-documents-dev.yaml", "gold.yaml", "gold-heldout.yaml", "gold-heldout-2.yaml",
              "gold-heldout-3.yaml", "gold-heldout-4.yaml", "gold-heldout-5.yaml", "gold-heldout-6.yaml")


def _flat(text: str) -> str:
    return " ".join(text.split())


def training_pairs(nlp_folder: Path) -> list[tuple[str, set[str]]]:
    """(sentence, the facts it states as 'key=value') for every sentence of the training sets."""
    pairs: list[tuple[str, set[str]]] = []
    for name in TRAIN_SETS:
        gold, _ = nlpdata.load(nlp_folder / name, nlpdata.GoldSet)
        for n in gold.narratives:
            got = extract(n.text, None, n.client, str(nlp_folder), mode="rules")
            labels: list[set[str]] = [set() for _ in got["sentences"]]
            if n.support:                       # the sentences the quote overlaps, found by position
                flat_text, spans, pos = _flat(n.text), [], 0
                for s in got["sentences"]:
                    a = flat_text.find(_flat(s), pos) if _flat(s) else -1
                    spans.append((a, a + len(_flat(s))) if a >= 0 else (-1, -1))
                    pos = a + len(_flat(s)) if a >= 0 else pos
                for key, quote in n.support.items():
                    qa = flat_text.find(_flat(quote))
                    qb = qa + len(_flat(quote))
                    for i, (a, b) in enumerate(spans):
                        if a >= 0 and qa >= 0 and a < qb and qa < b:
                            labels[i].add(f"{key}={n.facts[key]}")
            else:                               # the sentences where a trigger found a confirmed fact
                for f in got["facts"]:
                    if n.facts.get(f["key"]) == f["value"]:      # an answer's fact is learned from its question
                        at = f["sentence"] - 1 if " / A: " in f["evidence"] else f["sentence"]
                        labels[at].add(f"{f['key']}={f['value']}")
            pairs += [(s, labs) for s, labs in zip(got["sentences"], labels, strict=True) if s.strip()]
    return pairs


def train(nlp_folder: Path, seed: int = 17, epochs: int = 25) -> tuple[Language, int]:
    """The trained classifier and the number of sentences it learned from."""
    pairs = training_pairs(nlp_folder)
    return model.train(pairs, seed, epochs), len(pairs)
