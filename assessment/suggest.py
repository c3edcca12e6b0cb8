"""Narrative mining, part 2: suggested facts. Each suggestion names a case-file fact, a value,
the sentence it came from and the words that triggered it; the attorney accepts or rejects it.

Rules (data in `knowledge/nlp/facts.yaml`): a hedge before the trigger in its clause suggests
nothing; a negation just before a `yes` trigger makes it `no`; for the client's own acts the
nearest person named before the trigger (pronouns resolved to the last person named) must be
the client."""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from spacy.tokens import Doc

from .casefile import FACT_KEYS


class FactRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    actor: Literal["client", "any"] = "client"
    yes: list[str] = Field(default_factory=list)
    no: list[str] = Field(default_factory=list)
    values: dict[str, list[str]] = Field(default_factory=dict)


class Rules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_refs: list[str]
    first_person: list[str]
    pronouns: list[str]
    other_actors: list[str]
    negations: list[str]
    hedges: list[str]
    clause_breaks: list[str]
    relationships: dict[str, list[str]]
    facts: dict[str, FactRule]

    @field_validator("facts")
    @classmethod
    def _known_keys(cls, v: dict) -> dict:
        unknown = [k for k in v if k not in FACT_KEYS]
        if unknown:
            raise ValueError(f"not a case-file fact: {', '.join(unknown)} (facts are {', '.join(FACT_KEYS)})")
        return v

    def relationship_patterns(self) -> list[tuple[str, str]]:
        return [(rel, "(?:" + "|".join(words) + ")") for rel, words in self.relationships.items()]


class Compiled:
    """The rules with every regular expression compiled once."""

    def __init__(self, r: Rules, path: Path):
        from .narrative import compile_regex
        i = re.IGNORECASE

        def alt(words: list[str], where: str, flags: int = i) -> re.Pattern:
            return compile_regex(r"\b(?:" + "|".join(f"(?:{w})" for w in words) + r")(?![\w-])", path, where, flags)
        self.rules = r
        self.client = alt(r.client_refs, "client_refs")
        self.first = alt(r.first_person, "first_person", 0)
        self.pronoun = alt(r.pronouns, "pronouns")
        self.other = alt(r.other_actors, "other_actors")
        self.neg = alt(r.negations, "negations")
        self.hedge = alt(r.hedges, "hedges")
        self.breaks = compile_regex("|".join(f"(?:{b})" for b in r.clause_breaks), path, "clause_breaks", i)
        self.triggers: list[tuple[str, str, str, re.Pattern]] = []   # key, value, kind, regex
        for key, rule in r.facts.items():
            for kind, items in (("yes", rule.yes), ("no", rule.no)):
                for n, rx in enumerate(items):
                    self.triggers.append((key, kind, kind, compile_regex(rx, path, f"facts.{key}.{kind}.{n}", i)))
            for value, items in rule.values.items():
                for n, rx in enumerate(items):
                    self.triggers.append((key, value, "value", compile_regex(rx, path, f"facts.{key}.values.{value}.{n}", i)))


@functools.lru_cache(maxsize=4)
def compiled(directory: str) -> Compiled:
    from .narrative import load_model
    path = Path(directory) / "facts.yaml"
    return Compiled(load_model(path, Rules), path)


def rules(directory: str) -> Rules:
    return compiled(directory).rules


def _client_regex(names: list[str]) -> re.Pattern | None:
    parts = []
    for n in names:
        words = [w for w in re.split(r"\s+", n.strip()) if w]
        if not words:
            continue
        parts.append(re.escape(n.strip()))
        if len(words) > 1:
            parts += [re.escape(words[-1]), re.escape(words[0])]
    return re.compile(r"\b(?:" + "|".join(sorted(set(parts), key=len, reverse=True)) + r")\b") if parts else None


def _mentions(text: str, c: Compiled, client_rx: re.Pattern | None, people: list[tuple[int, int]],
              first_is_client: bool) -> list[tuple[int, str]]:
    """(position, who) for each person mentioned: who is 'client', 'other' or 'pronoun'."""
    out: list[tuple[int, str]] = []
    spans: list[tuple[int, int]] = []

    def add(m: re.Match, who: str) -> None:
        if not any(a < m.end() and m.start() < b for a, b in spans):
            out.append((m.end(), who))
            spans.append(m.span())
    if client_rx:
        for m in client_rx.finditer(text):
            add(m, "client")
    for m in c.client.finditer(text):
        add(m, "client")
    for m in c.other.finditer(text):
        add(m, "other")
    for s, e in people:                       # named people who are not the client
        if not any(a < e and s < b for a, b in spans):
            out.append((e, "other"))
            spans.append((s, e))
    for m in c.first.finditer(text):
        add(m, "client" if first_is_client else "other")
    for m in c.pronoun.finditer(text):
        add(m, "pronoun")
    return sorted(out)


def suggest(doc: Doc, directory: str, client_names: list[str] | None = None) -> list[dict]:
    """Suggested facts for a processed narrative."""
    c = compiled(directory)
    client_rx = _client_regex(client_names or [])
    text = doc.text
    people = [(e.start_char, e.end_char) for e in doc.ents if e.label_ == "PERSON"
              and not (client_rx and client_rx.search(e.text))]
    first_is_client = not re.search(r"(?m)^\s*(?:Q|A|Sgt\.?|Det\.?|Lt\.?|Investigator|Interviewer)[^:\n]{0,30}:", text)
    mentions = _mentions(text, c, client_rx, people, first_is_client)
    out: list[dict] = []
    seen: set[tuple] = set()
    for si, sent in enumerate(doc.sents):
        s0, stext = sent.start_char, sent.text
        for key, value, kind, rx in c.triggers:
            rule = c.rules.facts[key]
            for m in rx.finditer(stext):
                start = m.start()
                clause_start = max([b.end() for b in c.breaks.finditer(stext, 0, start)] or [0])
                before = stext[clause_start:start]
                if c.hedge.search(before):
                    continue
                window = " ".join(before.split()[-4:])
                negated = bool(c.neg.search(window)) or bool(re.search(r"\b(?:no\s+one|nobody|nothing)\b", m.group(0), re.I))
                if kind == "yes":
                    val = "no" if negated else "yes"
                elif negated:
                    continue          # a negated 'no' or a negated value says nothing sure
                else:
                    val = value
                if rule.actor == "client" and _actor(mentions, s0 + clause_start, s0 + start, s0) != "client":
                    continue
                k = (key, val, si)
                if k in seen:
                    continue
                seen.add(k)
                out.append({"key": key, "value": val, "sentence": si, "evidence": m.group(0).strip()})
    return out


def _actor(mentions: list[tuple[int, str]], clause_start: int, trigger: int, sentence_start: int) -> str | None:
    """Who acts at `trigger`: the nearest mention before it in its clause (or, failing that, in its
    sentence); a pronoun stands for the last person named before it."""
    for lo in (clause_start, sentence_start):
        near = [(p, w) for p, w in mentions if lo <= p <= trigger]
        if near:
            pos, who = near[-1]
            if who != "pronoun":
                return who
            earlier = [w for p, w in mentions if p < pos and w != "pronoun"]
            return earlier[-1] if earlier else None
    return None
