"""Narrative mining, part 3: a small trained sentence classifier beside the trigger phrases.

`clets-assess train-nlp` trains spaCy's `textcat_multilabel` (a bag of words and word pairs, no
vectors, no download) to read a sentence as stating a case-file fact (`stated_purpose=personal`,
`information_disclosed=no`, ...). It learns from the annotated corpus in `knowledge/nlp/`:

- the development part of the realistic documents (`gold-documents-dev.yaml`): the sentence that
  holds each fact's `support` quote says that fact, the others say none;
- the short narratives the rules were tuned on (`gold.yaml`, `gold-heldout*.yaml`): the sentences
  where a trigger suggested a fact the annotation confirms.

No held-out realistic document is ever trained on. Training is deterministic given the seed; the
weights (about 3.5 MB) are kept in `assessment/narrative/fact_model/` and loaded with `spacy.load`,
which rebuilds the component through spaCy's registered `textcat_multilabel` factory.

How the suggester uses it (`knowledge/nlp/facts.yaml`, `model:`): a trigger's suggestion whose
sentence the model scores below `veto_below` for that fact is kept but marked low confidence; a
sentence the model scores at `add_at` or more, for a fact no trigger found in the narrative, is
suggested with the model as its reason, unless the rules veto it (a hedge, or another person
acting); under an allegation heading it is marked low, like a trigger's. Both thresholds were
chosen by cross-validation on the development part."""
from __future__ import annotations

import random
from functools import lru_cache
from pathlib import Path
from typing import get_args

import spacy
from spacy.language import Language
from spacy.pipeline.textcat_multilabel import MultiLabel_TextCategorizer
from spacy.training import Example

from assessment.core.casefile import FACT_KEYS, Facts

MODEL_DIR = Path(__file__).resolve().parent / "fact_model"
CONFIG = {"model": {"@architectures": "spacy.TextCatBOW.v3", "exclusive_classes": False, "ngram_size": 2,
                    "no_output_layer": False, "length": 32768}}


def train(pairs: list[tuple[str, set[str]]], seed: int = 17, epochs: int = 25) -> Language:
    """The classifier trained on (sentence, the facts it states) pairs (`training.pairs`)."""
    labels = sorted({f"{k}={v}" for k in FACT_KEYS for v in get_args(Facts.model_fields[k].annotation) if v != "unknown"})
    spacy.util.fix_random_seed(seed)
    nlp = spacy.blank("en")
    textcat = nlp.add_pipe("textcat_multilabel", config=CONFIG)
    assert isinstance(textcat, MultiLabel_TextCategorizer)
    for label in labels:
        textcat.add_label(label)
    examples = [Example.from_dict(nlp.make_doc(s), {"cats": {lab: float(lab in labs) for lab in labels}})
                for s, labs in pairs]
    optimizer = nlp.initialize(lambda: examples)
    order = random.Random(seed)
    for _ in range(epochs):
        order.shuffle(examples)
        for i in range(0, len(examples), 16):
            nlp.update(examples[i:i + 16], sgd=optimizer, drop=0.1)
    return nlp


@lru_cache(maxsize=2)
def load(folder: str = str(MODEL_DIR)) -> Language | None:
    """The trained classifier, or None where none has been trained (the rules then work alone)."""
    path = Path(folder)
    if not (path / "config.cfg").exists():
        return None
    return spacy.load(path)


def scores(sentences: list[str], folder: str = str(MODEL_DIR)) -> list[dict[str, float]] | None:
    """For each sentence, the model's score for each 'key=value'; None without a model."""
    nlp = load(folder)
    if nlp is None:
        return None
    return [dict(doc.cats) for doc in nlp.pipe(sentences, batch_size=256)]
