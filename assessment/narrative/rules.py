"""Narrative mining, the ground floor: the data of knowledge/nlp/ made ready to run, and what the
pipeline's component leaves on a document for the suggester to read.

The patterns and rules are loaded and compiled by law/nlp.py (the schemas and the validator
live there); here each gets the literal strings the prefilter looks for, and is cached per
folder with `knowledge_cache`, so a saved edit of knowledge/nlp/ takes effect at the next
extraction without a restart."""
from __future__ import annotations

import re

from spacy.tokens import Doc, Span

from assessment.law import kb as kbmod
from assessment.law import nlp
from assessment.narrative import prefilter

Span.set_extension("normalized", default=None, force=True)
Span.set_extension("relationship", default=None, force=True)
Span.set_extension("resolved", default=None, force=True)
Doc.set_extension("sentences", default=None, force=True)    # [(start_char, end_char)], set by the component
Doc.set_extension("entities", default=None, force=True)     # doc.ents as a list (reading doc.ents walks every token)

EntityRule = tuple[str, str, re.Pattern, str, frozenset[str] | None]


@kbmod.knowledge_cache(maxsize=4)
def entity_patterns(directory: str) -> tuple[EntityRule, ...]:
    """(label, name, regex, normalizer, required strings) for each entity pattern."""
    return tuple((p.label, p.name, rx, p.normalize, prefilter.required_literals(rx))
                 for p, rx in nlp.entity_patterns(directory))


class Compiled(nlp.CompiledRules):
    """The fact rules compiled, with the strings the prefilter looks for before running a pattern."""

    def __init__(self, r: nlp.Rules, source: nlp.DataFile):
        super().__init__(r, source)
        self.mention_literals = {rx: prefilter.required_literals(rx)
                                 for rx in (self.client, self.first, self.pronoun, self.other, self.org)}
        self.literals = [prefilter.required_literals(t[3]) for t in self.triggers]


@kbmod.knowledge_cache(maxsize=4)
def compiled(directory: str) -> Compiled:
    return nlp.compile_rules(directory, Compiled)


def rules(directory: str) -> nlp.Rules:
    return compiled(directory).rules


def ents(doc: Doc) -> list[Span]:
    """The document's entities (kept by the component: reading `doc.ents` walks every token)."""
    return doc._.entities if doc._.entities is not None else list(doc.ents)


def narrative_sentences(doc: Doc) -> list[tuple[int, int]]:
    """(start, end) characters of each sentence, without surrounding white space."""
    if doc._.sentences is not None:           # set by the narrative component
        return doc._.sentences
    return [(s.start_char, s.start_char + len(s.text.rstrip())) for s in doc.sents]
