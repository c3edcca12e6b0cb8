"""Narrative mining, part 2: suggested facts. Each suggestion names a case-file fact, a value,
the sentence it came from and the words that triggered it; the attorney accepts or rejects it.

Rules (data in `knowledge/nlp/facts.yaml`): a hedge before the trigger in its clause suggests
nothing; a negation just before a `yes` trigger makes it `no`; for the client's own acts the
nearest person named before the trigger (pronouns resolved to the last person named) must be
the client."""
from __future__ import annotations

import bisect
import re

from spacy.tokens import Doc

from assessment.narrative import model, prefilter
from assessment.narrative.rules import Compiled, compiled, ents, narrative_sentences

TRAILING_ATTRIBUTION = re.compile(r",\s*(?:according\s+to\s+)?(?:\S+\s+){0,3}(?:said|says|alleged|alleges|claimed|claims|"
                                  r"reported|reports)\.?[\"')]*\s*$", re.I)


MODEL_MIN_WORDS = 5     # a shorter sentence ("A: No.") says too little for the model alone
LETTER_HEAD = 600       # "Dear Officer Tran" or "To: Officer Tran" is looked for in the first characters only
SECOND_PERSON = re.compile(r"\b(?:you|You|your|Your)\b")
NOBODY = re.compile(r"(?:no\b|nobody|none\b)", re.I)


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


def _mentions(text: str, low: str | None, c: Compiled, client_rx: re.Pattern | None, people: list[tuple[int, int]],
              first_is_client: bool, second_is_client: bool = False) -> list[tuple[int, str]]:
    """(position, who) for each person mentioned: who is 'client', 'other', 'org' (an institution,
    or "nobody"), 'object' (the one looked up) or 'pronoun:<the word>'. `low` is the text in
    lower case for the literal prefilter (None: scan in full)."""
    out: list[tuple[int, str]] = []
    covered = bytearray(len(text) + 1)      # characters already part of a mention

    def free(s: int, e: int) -> bool:
        return not any(covered[s:e])

    def take(s: int, e: int, who: str) -> None:
        out.append((e, who))
        covered[s:e] = b"\x01" * (e - s)

    def add(m: re.Match, who: str) -> None:
        if free(*m.span()):
            take(*m.span(), who)

    def scan(rx: re.Pattern):
        return prefilter.finditer(rx, text, low, c.mention_literals.get(rx))
    if client_rx:
        for m in client_rx.finditer(text):
            add(m, "client")
    for m in scan(c.client):
        add(m, "client")
    for m in scan(c.other):            # "nobody" acts but no pronoun stands for it, like an institution
        add(m, "org" if NOBODY.match(m.group(0)) else "other")
    for m in scan(c.org):
        add(m, "org")
    for s, e in people:                       # named people who are not the client
        if free(s, e):
            looked_up = c.looked_up and c.looked_up.search(text, max(0, s - 60), s)
            take(s, e, "object" if looked_up and not c.breaks.search(text, looked_up.start(), s) else "other")
    for m in scan(c.first):
        add(m, "client" if first_is_client else "other")
    if second_is_client:               # a notice or letter addressed to the client: "you" is the client
        for m in SECOND_PERSON.finditer(text):
            add(m, "client")
    for m in scan(c.pronoun):
        add(m, "pronoun:" + m.group(0).lower())
    return sorted(out)


def suggest(doc: Doc, directory: str, client_names: list[str] | None = None, mode: str = "both") -> list[dict]:
    """Suggested facts for a processed narrative. `mode`: "rules" (the triggers alone), "model" (the
    trained classifier alone, the rules' vetoes applied) or "both" (the default)."""
    c = compiled(directory)
    client_rx = _client_regex(client_names or [])
    text = doc.text
    others = [e for e in ents(doc) if e.label_ == "PERSON" and not (client_rx and client_rx.search(e.text))]
    people = [(e.start_char, e.end_char) for e in others]
    client_words = {w for n in client_names or [] for w in n.split()}
    other_names = {w for e in others if len(e.text.split()) > 1 for w in (e.text.split()[0], e.text.split()[-1])
                if len(w) > 2 and w not in client_words}      # "Monica Avery ... Monica told me": the same other person
    if other_names:              # "Officer Dean Frost ... Frost says": the same other person
        rx = re.compile(r"\b(?:" + "|".join(re.escape(n) for n in sorted(other_names, key=len, reverse=True)) + r")\b")
        people += [m.span() for m in rx.finditer(text)]
    first_is_client = not re.search(r"(?m)^\s*(?:Sgt\.?|Det\.?|Lt\.?|Investigator|Interviewer|Detective|Sergeant)[^:\n]{0,30}:",
                                    text)
    sents = narrative_sentences(doc)
    starts = [a for a, _ in sents]
    low = prefilter.lowered(text)
    second = bool(client_rx and re.search(r"(?im)^\s*(?:dear|to:|attn:|addressee:)\s+(?:[\w.]+\s+){0,3}?(?:" +
                                          client_rx.pattern + r")", text[:LETTER_HEAD]))
    mentions = Mentions(_resolve(_mentions(text, low, c, client_rx, people, first_is_client, second), starts))
    out: list[dict] = []
    seen: set[tuple] = set()
    hits: dict[int, set[int]] = {}          # sentence -> triggers that may match in it
    for ti, (_, _, _, rx) in enumerate(c.triggers):
        lits = c.literals[ti] if low is not None else None
        if low is None or lits is None:      # no literal to look for: scan the text
            for m in rx.finditer(text):
                si = bisect.bisect_right(starts, m.start()) - 1
                if m.end() <= sents[si][1]:
                    hits.setdefault(si, set()).add(ti)
        else:                                # sentences holding a string every match contains
            for pos in prefilter.occurrences(low, lits):
                hits.setdefault(bisect.bisect_right(starts, pos) - 1, set()).add(ti)
    for si in sorted(hits) if mode != "model" else []:
        s0, s1 = sents[si]
        stext = text[s0:s1]
        answer = None
        qa = re.match(r"\s*(?:Q[:.]\s*)?(?:Did|Have|Had|Were|Was|Do)\s+you\b(?P<body>.*)\?\s*$", stext)
        if qa and si + 1 < len(sents):
            a = re.match(r"\s*A[:.]\s*(Yes|No)\b", text[sents[si + 1][0]:sents[si + 1][1]], re.I)
            answer = a.group(1).lower() if a else None
        for ti in sorted(hits[si]):
            key, value, kind, rx = c.triggers[ti]
            for m in rx.finditer(stext):
                got = _value(c, key, stext, m, kind, value, mentions, s0, answer is not None)
                if got is None:
                    continue
                val, who = got
                if answer is not None:     # "Q: Did you tell anyone? A: No." is the client's answer
                    if kind not in ("yes", "client_act"):
                        continue
                    val = "yes" if (answer == "yes") == (val == "yes") else "no"
                k = (key, val, si)
                if k in seen:
                    continue
                seen.add(k)
                out.append({"key": key, "value": val, "sentence": si + (1 if answer else 0),
                            "evidence": m.group(0).strip() + (f" / A: {answer}" if answer else ""),
                            "_who": "answer" if answer else who, "_si": si})
    if mode != "rules" and c.rules.model.use:
        scored = model.scores([text[a:b] for a, b in sents])
        if scored is not None:
            out = _with_model(out, scored, c, text, sents, mentions, mode)
    return grade(out, text, sents)


def _with_model(found: list[dict], scored: list[dict[str, float]], c: Compiled, text: str,
                sents: list[tuple[int, int]], mentions: Mentions, mode: str) -> list[dict]:
    """The triggers' suggestions with the model's score beside each (a low one marks it for
    `grade`), and the model's own suggestions for facts no trigger found, the rules vetoing those
    in a hedged sentence or where someone other than the client acts."""
    use = c.rules.model
    for f in found:
        if f["_who"] == "answer":            # "A: Yes." says nothing without its question: no veto
            continue
        score = scored[f["sentence"]].get(f"{f['key']}={f['value']}", 0.0) if f["sentence"] < len(scored) else 0.0
        if score < use.veto_below:
            f["_veto"] = score
    keys = {f["key"] for f in found}
    best: dict[tuple[str, str], tuple[float, int]] = {}
    for si, cats in enumerate(scored):
        for label, score in cats.items():
            key, _, value = label.partition("=")
            if score < use.add_at or key in keys or key not in c.rules.facts:
                continue
            if best.get((key, value), (0.0, 0))[0] < score:
                best[(key, value)] = (score, si)
    for (key, value), (score, si) in sorted(best.items(), key=lambda kv: kv[1][1]):
        s0, s1 = sents[si]
        stext = text[s0:s1]
        if len(stext.split()) < MODEL_MIN_WORDS or c.hedge.search(stext) or c.sentence_hedge.search(stext):
            continue
        actors = mentions.between(s0, s1)
        actor = c.rules.facts[key].actor
        if actor == "client" and not actors & {"client", "client*"}:
            continue
        if actor == "not_other" and actors and actors <= {"other", "other*"}:
            continue
        found.append({"key": key, "value": value, "sentence": si, "evidence": f"model score {score:.2f}",
                      "_who": "model", "_si": si, "_model": score})
    return found


ALLEGATION_HEADING = re.compile(r"(?i:allegations?|charges?|counts?|accusations?|offen[cs]es?|violations?|causes?\s+for|"
                                r"specifications?|complaint|charged|alleged)")
HEADING = re.compile(r"^[ \t]*(?:(?:[IVX]+\.|\d{1,2}\.|[A-H]\.|COUNT\s+\w+)[ \t]*)?"
                     r"(?P<h>[A-Z][A-Z0-9 /&'(),.-]{3,70}?):?[ \t]*$", re.M)
INLINE_ALLEGATION = re.compile(r"^\s*(?:[-*•]\s*)?(?i:allegation|count|charge|specification)\s*(?:no\.\s*)?\w{0,4}\s*[:.–—-]")
ACTOR_WORDS = {"client": "the client acts in the same sentence",
               "answer": "the client's answer to the question before it",
               "client*": "the client was named in an earlier sentence, not in this one",
               "other": "someone other than the client acts (the fact does not need the client's own act)",
               "other*": "someone other than the client was named in an earlier sentence",
               None: "no one else acts in the sentence"}


def _allegation_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges under a heading that announces allegations or charges ("ALLEGATIONS",
    "COUNT 1", "CHARGES:"), up to the next heading of another kind."""
    spans: list[tuple[int, int]] = []
    open_at: int | None = None
    for m in HEADING.finditer(text):
        h = m.group("h")
        if sum(ch.isalpha() for ch in h) < 4 or h != h.upper():
            continue
        if ALLEGATION_HEADING.search(m.group(0)):
            if open_at is None:
                open_at = m.start()
        elif open_at is not None:
            spans.append((open_at, m.start()))
            open_at = None
    if open_at is not None:
        spans.append((open_at, len(text)))
    return spans


def grade(found: list[dict], text: str, sents: list[tuple[int, int]]) -> list[dict]:
    """Each suggestion's confidence, with the reason in words. Low (hidden unless asked for): the
    sentence sits under an allegations or charges heading or opens with "Allegation 1:"; the
    narrative also suggests the other value for the same fact; or the trained model does not read
    the sentence as saying it. High: the client acts in the same sentence or answers the question.
    Medium: the rest (the client named in an earlier sentence, a fact whose actor need not be the
    client, a suggestion of the model's own)."""
    spans = _allegation_spans(text) if found else []
    values: dict[str, set[str]] = {}
    for f in found:
        values.setdefault(f["key"], set()).add(f["value"])
    out = []
    for f in found:
        who, si = f.pop("_who"), f.pop("_si")
        s0, s1 = sents[si]
        notes = []
        if any(a <= s0 < b for a, b in spans) or INLINE_ALLEGATION.match(text[s0:s1]):
            notes.append("it is stated under an allegation or charge, which is not a finding")
        if len(values[f["key"]]) > 1:
            other = ", ".join(sorted(values[f["key"]] - {f["value"]}))
            notes.append(f"the narrative also suggests {other}")
        score, veto = f.pop("_model", None), f.pop("_veto", None)
        if veto is not None:
            notes.append(f"the trained model does not read the sentence as saying it (score {veto:.3f})")
        f["confidence"] = "low" if notes else ("high" if who in ("client", "answer") else "medium")   # client*: carried
        if who == "model":
            f["reason"] = (f"No trigger phrase matched; the trained model reads the sentence as saying it (its score "
                           f"{score:.2f} of 1; the model's own suggestions are never more than medium confidence)")
        else:
            f["reason"] = f"Trigger words \u201c{f['evidence']}\u201d; {ACTOR_WORDS.get(who, 'no one else acts in the sentence')}"
        f["reason"] += f". Low confidence: {'; '.join(notes)}." if notes else "."
        out.append(f)
    order = {"high": 0, "medium": 1, "low": 2}
    return sorted(out, key=lambda f: (order[f["confidence"]], f["sentence"]))


def _value(c: Compiled, key: str, stext: str, m: re.Match, kind: str, value: str,
           mentions: Mentions, s0: int, question: bool) -> tuple[str, str | None] | None:
    """The value a trigger suggests in its sentence, or None when the sentence does not say it."""
    start = m.start()
    clause_start = max([b.end() for b in c.breaks.finditer(stext, 0, start)] or [0])
    before = stext[clause_start:start]
    if c.hedge.search(before) or c.sentence_hedge.search(stext[:start]):
        return None
    rule = c.rules.facts[key]
    if key in c.unless:          # within 30 characters either side, inside the trigger's clause
        nxt = c.breaks.search(stext, m.end())
        if c.unless[key].search(stext[max(clause_start, start - 30):min(m.end() + 30, nxt.start() if nxt else len(stext))]):
            return None
    for rv in c.reporting.finditer(stext, 0, start):     # "the agency says she sold ..."
        if _actor(mentions, s0, s0 + rv.start(), s0) in ("other", "other*"):
            return None
    # the negation window may reach back over 'that' ("no record that he received training")
    that_breaks = [b for b in c.breaks.finditer(stext, 0, start) if b.group(0).strip().lower() != "that"]
    window = " ".join(stext[(that_breaks[-1].end() if that_breaks else 0):start].split()[-4:])
    negated = bool(c.neg.search(window))
    inside = bool(re.search(r"\b(?:not|never|no\s+one|nobody|nothing)\b|\bno\b(?!\.)|\w+n[’']t\b", m.group(0), re.I))
    if kind in ("yes", "client_act"):
        val = "no" if negated or inside else "yes"
    elif negated or (kind == "value" and inside):
        return None               # a negated 'no' or a negated value says nothing sure
    else:
        val = value
    if question:
        return val, "answer"
    tail = TRAILING_ATTRIBUTION.search(stext)        # "..., prosecutors said."
    if tail and tail.start() >= m.end() and _actor(mentions, s0 + tail.start(), s0 + tail.end(), s0) in ("other",):
        return None
    if c.contradiction:                              # "...; Lt. Diaz denies it."
        for d in c.contradiction.finditer(stext, m.end()):
            if _actor(mentions, s0 + m.end(), s0 + d.start(), s0 + m.end()) == "other":
                return None
    at = m.start("at") if "at" in m.re.groupindex and m.group("at") is not None else start
    who = _actor(mentions, s0 + clause_start, s0 + at, s0)
    if kind == "client_act" and who not in ("client", "client*"):
        return None
    if rule.actor == "client" and who not in ("client", "client*"):
        return None
    if rule.actor == "not_other" and who == "other":
        return None
    return val, who


def _resolve(mentions: list[tuple[int, str]], sentence_starts: list[int]) -> list[tuple[int, str]]:
    """Replace pronouns by who they stand for: a pronoun that opens its sentence continues the
    previous sentence's subject; a later one is the subject again when the subject was the same
    pronoun ("He ran X because he was worried"), else the last person named before it in the
    sentence, the one looked up included ("I ran Ken Abbott after he threatened my son"). The one
    looked up is never an actor. A sentence's subject is its first person mentioned (institutions
    are never a pronoun's referent). A sentence without any mention carries the previous subject,
    marked 'client*' or 'other*' at its start: weaker than a mention in the sentence itself."""
    out: list[tuple[int, str]] = []
    prev_subject: str | None = None
    by_sentence: dict[int, list[tuple[int, str]]] = {}
    for pos, who in mentions:
        by_sentence.setdefault(bisect.bisect_right(sentence_starts, pos) - 1, []).append((pos, who))
    for si, start in enumerate(sentence_starts):
        ms = by_sentence.get(si, [])
        if not ms:
            if prev_subject:
                out.append((start, prev_subject + "*"))
            continue
        subject = subject_form = None
        looked_up = False
        named: list[str] = []          # people named so far in this sentence
        for pos, who in ms:
            form = None
            if who.startswith("pronoun:"):
                form = who[8:]
                if subject is not None and form == subject_form:   # "He ran X because he was worried"
                    who = subject
                else:
                    referent = named[-1] if named and subject is not None else prev_subject
                    if referent is None:            # nobody for the pronoun to stand for
                        continue
                    who = referent
            if who == "object":         # the one looked up acts in nothing, but "he" may stand for them
                named.append("other")
                looked_up = True
                continue
            out.append((pos, "other" if who == "org" else who))   # an institution acts, but is no referent
            if who in ("client", "other"):
                named.append(who)
                if subject is None:
                    subject, subject_form = who, form
        prev_subject = subject or ("other" if looked_up else prev_subject)
    return out


class Mentions:
    """Resolved mentions, sorted by position, with a binary search for the nearest before a point."""

    def __init__(self, items: list[tuple[int, str]]):
        self.pos = [p for p, _ in items]
        self.who = [w for _, w in items]

    def between(self, lo: int, hi: int) -> set[str]:
        """Who is mentioned from `lo` to `hi`."""
        return set(self.who[bisect.bisect_left(self.pos, lo):bisect.bisect_right(self.pos, hi)])

    def nearest(self, lo: int, hi: int) -> str | None:
        i = bisect.bisect_right(self.pos, hi) - 1
        return self.who[i] if i >= 0 and self.pos[i] >= lo else None


def _actor(mentions: Mentions, clause_start: int, trigger: int, sentence_start: int) -> str | None:
    """Who acts at `trigger`: the nearest person before it in its clause, else in its sentence
    (pronouns already resolved; a sentence without a mention carries its subject at its start)."""
    for lo in (clause_start, sentence_start):
        who = mentions.nearest(lo, trigger)
        if who:
            return who
    return None
