"""Narrative mining, part 1: the spaCy pipeline and its entities.

`pipeline()` is `spacy.blank("en")` plus one registered component, `clets_narrative`, which finds
the entities with the patterns in `knowledge/nlp/entities.yaml` (and eyecite for case citations),
gives each its normalized value, and sets sentence boundaries that do not break at "Pen." or
"Sgt." or inside an entity. No model is downloaded; the component is rebuilt from the same data
wherever the pipeline is loaded."""
from __future__ import annotations

import bisect
import datetime as dt
import re

import numpy
import spacy
from spacy.attrs import IDX, SENT_START
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import filter_spans

from assessment.core.citations import parse_citation
from assessment.core.errors import NL001, AssessmentError, Problem
from assessment.law import kb as kbmod
from assessment.law.nlp import nlp_dir
from assessment.narrative import prefilter, statute_lists
from assessment.narrative.rules import entity_patterns, ents, rules
from assessment.narrative.suggest import suggest
from assessment.narrative.tidy import tidy

LABELS = ("STATUTE", "CASE_CITE", "DATE", "MONEY", "PLATE", "CASE_NUMBER", "OPERATOR_ID", "TERMINAL", "ORI", "PERSON")


# ---- normalisers --------------------------------------------------------------------------------
_CODE = [(r"^(cal(ifornia)?)?(penalcode|pencode|c?pc)$", "PC"), (r"^(californiavehiclecode|vehiclecode|vehcode|c?vc)$", "VC"),
         (r"^(governmentcode|govtcode|govcode|gc)$", "GC"), (r"^18usca?$", "18 USC"),
         (r"^(healthandsafetycode|healthsafetycode|hs|hsc|hscode)$", "HSC")]
_MONTHS = {m: i + 1 for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                           "nov", "dec"])}


def _statute(m: re.Match) -> str | None:
    """`PC 502(c)(7)`; federal subparagraph letters keep their case: `18 USC 1030(a)(2)(C)`."""
    code = re.sub(r"[^a-z0-9]", "", m.group("code").lower())
    code = re.sub(r"^(cal|california)(?=pen)", "", code)
    short = next((s for rx, s in _CODE if re.match(rx, code)), None)
    if short is None:
        return None
    subs = statute_lists.subdivisions(m.group("subs"))
    if short == "HSC":          # found and normalized, though no case-file citation names that code
        return f"HSC {m.group('section').lower()}{subs.lower()}"
    cite = parse_citation(f"{short} {m.group('section')}{subs}")
    if cite and short == "18 USC":
        return f"18 USC {cite.section}{subs}"
    return str(cite) if cite else None


def _date(m: re.Match) -> str | None:
    text = m.group(0).strip()
    t = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text).replace(",", " ").replace(".", " ")
    words = t.split()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return dt.date.fromisoformat(text).isoformat()
        if re.fullmatch(r"\d{1,2}/\d{4}", text):                 # "5/2024"
            mo, y = (int(x) for x in text.split("/"))
            return f"{dt.date(y, mo, 1):%Y-%m}"
        if "/" in text:
            mo, d, y = (int(x) for x in text.split("/"))
            y = y + 2000 if y < 100 else y
            return dt.date(y, mo, d).isoformat()
        if words[0][:3].lower() in _MONTHS:
            month = _MONTHS[words[0][:3].lower()]
            if len(words) == 2 or words[1].lower() == "of":          # "March 2025", "March of 2025"
                return f"{int(words[-1]):04d}-{month:02d}"
            return dt.date(int(words[2]), month, int(words[1])).isoformat()
        return dt.date(int(words[2]), _MONTHS[words[1][:3].lower()], int(words[0])).isoformat()
    except (ValueError, KeyError, IndexError):
        return None


def _money(m: re.Match) -> str | None:
    digits = re.sub(r"[^\d.]", "", m.group(0))
    if digits.endswith(".00"):
        digits = digits[:-3]
    return digits or None


def _ident(m: re.Match) -> str:
    return re.sub(r"\s+", "", (m.group("v") if "v" in m.re.groupindex else m.group(0))).upper()


def _person(m: re.Match) -> str:
    return m.group("v") if "v" in m.re.groupindex else m.group(0)


NORMALIZERS = {"statute": _statute, "date": _date, "money": _money, "ident": _ident, "person": _person}

# ---- sentences ------------------------------------------------------------------------------------
ABBREVIATIONS = {"pen", "veh", "gov", "govt", "gov't", "sgt", "lt", "det", "mr", "ms", "mrs", "dr", "no", "capt",
                 "cpl", "st", "ave", "approx", "subd", "cal", "app", "supp", "rptr", "jan", "feb", "mar", "apr",
                 "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "vs", "v", "e.g", "i.e", "u.s", "p.c",
                 "v.c", "g.c", "a.m", "p.m", "inc", "co", "jr", "sr", "dept", "ofc", "dep", "sec"}
_NON_SPACE = re.compile(r"\S")
_BIRTH = re.compile(r"(?i:\bD\.?O\.?B\.?|date\s+of\s+birth|born(?:\s+on)?)\)?\s*[:\-]?\s*$")
_LINE_START = re.compile(r"(?m)^[ \t]*(?P<b>[-*•●▪–]\s|\(?\d{1,2}[.)]\s|[A-Z][A-Za-z/#. ]{0,30}:\s|[QA][:.]\s)")
_SENT_END = re.compile(r"[.!?]+[\"')\]]*(?=\s+[\"'(\[]?[A-Z0-9])|[.!?]+[\"')\]]*\s*$|\n\s*\n")


def sentence_starts(text: str, protected: list[tuple[int, int]]) -> list[int]:
    """Character offsets where sentences start: after . ! ? before a capital or digit, or a blank
    line; not after an abbreviation, an initial, or inside an entity."""
    starts = [0]
    protected = sorted(protected)
    p_starts = [a for a, _ in protected]
    for m in _SENT_END.finditer(text):
        end = m.end()
        tail = text[max(0, m.start() - 40): m.start() + 1] if m.group(0).startswith(".") else ""
        before = re.search(r"([A-Za-z.']+)\.+[\"')\]]*$", tail)
        if before:
            word = before.group(1).lower().rstrip(".")
            if word in ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
                continue
        i = bisect.bisect_left(p_starts, m.start()) - 1
        if i >= 0 and protected[i][0] < m.start() < protected[i][1]:
            continue
        nxt = _NON_SPACE.search(text, end)
        if nxt and nxt.start() > 0:
            starts.append(nxt.start())
    for m in _LINE_START.finditer(text):      # a bullet, a "Label:" field or a Q/A line opens a sentence
        b = m.start("b")
        i = bisect.bisect_left(p_starts, b) - 1
        if not (i >= 0 and protected[i][0] < b < protected[i][1]):
            starts.append(b)
    return sorted(set(starts))


# ---- the component ------------------------------------------------------------------------------
REPORTER_HINT = re.compile(r"\b\d{1,4}\s+(?:[A-Z][A-Za-z.]*\s?){1,4}(?:\d[a-z]{1,2}\s?)?\s\d{1,5}\b")


class NarrativeEntities:
    def __init__(self, directory: str):
        self.directory = directory
        self.patterns = entity_patterns(directory)
        self.relationships = rules(directory).relationship_patterns()
        words = "|".join(f"(?:{rx})" for _, rx in self.relationships)
        name = r"(?P<name>[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ'’]+(?:[ -](?:[A-Z]\.\s)?[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ'’]+(?:[A-Z][a-zß-öø-ÿ'’]+)?){1,2})"
        self.related = [   # 'his ex-girlfriend, Jamie Alder' / 'Jamie Alder (his ex-girlfriend)' / 'Ex-boyfriend Mark Dolan'
            re.compile(rf"\b(?i:his|her|their|my|a|an|the\s+client's|the\s+officer's)\s+(?P<rel>(?i:{words}))\s*,?\s+{name}"),
            re.compile(rf"{name}\s*(?:,\s*|\(\s*)(?i:his|her|their|my|the\s+client's|the\s+officer's)\s+"
                       rf"(?:former\s+)?(?P<rel>(?i:{words}))\b"),
            re.compile(rf"(?:^|(?<=[.;:]\s))(?P<rel>(?i:{words}))\s+{name}", re.M)]
        self.rel_of = [(rel, re.compile(rf"^(?:{rx})$", re.I)) for rel, rx in self.relationships]

    def __call__(self, doc: Doc) -> Doc:
        text = doc.text
        found: list[tuple[int, int, str, object, int]] = []   # start, end, label, normalized, priority
        low = prefilter.lowered(text)
        for i, (label, _name, rx, norm, literals) in enumerate(self.patterns):
            for m in prefilter.finditer(rx, text, low, literals):
                s, e = m.span("v") if "v" in rx.groupindex and m.group("v") else m.span()
                value = NORMALIZERS[norm](m)
                if value is not None and label == "PERSON" and re.search(r"['’]s$", text[s:e]):    # "Quist's" -> Quist
                    e, value = e - 2, value[:-2]
                kind = label
                if value and label == "DATE" and _BIRTH.search(text, max(0, s - 24), s):
                    kind = "DOB"        # a date of birth identifies a person, it is no event of the case: it
                                        # holds its characters (no "11/1990" inside it) and is not listed
                if value:
                    found.append((s, e, kind, value, i))
        found += statute_lists.extend(text, found)
        found += self._case_citations(text)
        found += self._related_people(text)
        chosen: list[tuple[int, int, str, object, int]] = []
        taken = bytearray(len(text) + 1)
        for f in sorted(found, key=lambda f: (-(f[1] - f[0]), f[4], f[0])):
            if not any(taken[f[0]:f[1]]):
                chosen.append(f)
                taken[f[0]:f[1]] = b"\x01" * (f[1] - f[0])
        spans = []
        for s, e, label, normalized, _ in sorted(chosen):
            if label == "DOB":
                continue
            span = doc.char_span(s, e, label=label, alignment_mode="expand")
            if span is None:
                continue
            if isinstance(normalized, tuple):       # a person with a relationship
                span._.normalized, span._.relationship = normalized
            else:
                span._.normalized = normalized
            spans.append(span)
        spans = filter_spans(spans)
        doc.ents = spans
        doc._.entities = spans
        chars = sentence_starts(text, [(sp.start_char, sp.end_char) for sp in spans])
        doc._.sentences = [(a, a + len(text[a:b].rstrip())) for a, b in zip(chars, [*chars[1:], len(text)], strict=True)]
        starts = numpy.array(chars, dtype="int64")
        idx = doc.to_array([IDX]).astype("int64")
        flags = numpy.where(numpy.isin(idx, starts), 1, -1)
        if len(flags):
            flags[0] = 1
        # one pass, not per token; spaCy's stub asks for thinc's Ints2d, a class no numpy array is typed as
        doc.from_array([SENT_START], flags.astype("uint64").reshape(-1, 1))  # type: ignore[arg-type]
        return doc

    @staticmethod
    def _case_citations(text: str) -> list:
        """eyecite, run only around what looks like 'volume Reporter page' (it is the slow part)."""
        windows: list[list[int]] = []
        for m in REPORTER_HINT.finditer(text):
            a, b = max(0, m.start() - 160), min(len(text), m.end() + 80)
            if windows and a <= windows[-1][1]:
                windows[-1][1] = b
            else:
                windows.append([a, b])
        if not windows:
            return []
        from eyecite import get_citations
        from eyecite.models import FullCaseCitation
        out, seen = [], set()
        for a, b in windows:
            for c in get_citations(text[a:b]):
                if isinstance(c, FullCaseCitation):
                    try:
                        s, e = c.full_span()
                    except Exception:  # noqa: BLE001  eyecite versions differ
                        s, e = c.span()
                    if (a + s, a + e) not in seen:
                        seen.add((a + s, a + e))
                        out.append((a + s, a + e, "CASE_CITE", c.corrected_citation(), -1))
        return out

    def _related_people(self, text: str) -> list:
        """People tied to the client by a relationship word, with the relationship."""
        titles = re.compile(r"^(?:Officer|Ofc\.|Deputy|Sgt\.|Sergeant|Lt\.|Det\.|Detective|Dispatcher|Mr\.|Ms\.|Mrs\.|Dr\.)\s+")
        out = []
        for rx in self.related:
            for m in rx.finditer(text):
                rel = next((r for r, word in self.rel_of if word.match(m.group("rel"))), None)
                s, e, nm = m.start("name"), m.end("name"), m.group("name")
                t = titles.match(nm)            # "Officer Lucas Feld, her ex-husband" -> Lucas Feld
                if t:
                    s, nm = s + t.end(), nm[t.end():]
                out.append((s, e, "PERSON", (nm, rel), -2))
        return out


@Language.factory("clets_narrative", default_config={"directory": ""})
def make_narrative(nlp: Language, name: str, directory: str) -> NarrativeEntities:
    return NarrativeEntities(directory or str(nlp_dir()))


MAX_CHARS = 5_000_000      # about 800,000 words; spaCy's default limit (1,000,000) guards parsers we do not run


@kbmod.knowledge_cache(maxsize=4)
def pipeline(directory: str | None = None) -> Language:
    nlp = spacy.blank("en")
    nlp.max_length = MAX_CHARS + 1
    nlp.add_pipe("clets_narrative", config={"directory": directory or str(nlp_dir())})
    return nlp


def entities(doc: Doc, kb: kbmod.KnowledgeBase | None = None) -> list[dict]:
    out = []
    for e in ents(doc):
        item = {"label": e.label_, "text": e.text, "start": e.start_char, "end": e.end_char,
                "normalized": e._.normalized}
        if e.label_ == "STATUTE" and kb is not None:
            res = kb.resolve(e._.normalized)
            item["kb"] = res.statute.id if res.statute else None
            if res.problem:
                item["problem"] = res.problem
        if e.label_ == "PERSON" and e._.relationship:
            item["relationship"] = e._.relationship
        out.append(item)
    return out


def extract(text: str, kb: kbmod.KnowledgeBase | None = None, client_names: list[str] | None = None,
            directory: str | None = None, mode: str = "both") -> dict:
    """Entities, suggested facts and the sentences they point to (`clets-assess extract`). `mode`
    chooses the fact suggesters: "rules", "model" or "both"."""
    if len(text) > MAX_CHARS:
        raise AssessmentError([Problem(NL001, f"the narrative has {len(text):,} characters; at most {MAX_CHARS:,} "
                                       "are mined", field="facts.narrative",
                                       hint="split it, or paste the parts that state the facts")])
    d = directory or str(nlp_dir())
    doc = pipeline(d)(tidy(text))       # same length: offsets point into the text as entered
    if client_names:
        _add_names(doc, client_names)
    return {"entities": entities(doc, kb), "facts": suggest(doc, d, client_names, mode),
            "sentences": [text[a:b] for a, b in doc._.sentences]}


def _add_names(doc: Doc, names: list[str]) -> None:
    """Mark known people (the client, the case's subjects) where no other entity covers them."""
    parts = sorted({p for n in names for p in [n.strip(), *n.split()] if len(p) > 2}, key=len, reverse=True)
    if not parts:
        return
    rx = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in parts) + r")\b")
    spans = list(ents(doc))
    for m in rx.finditer(doc.text):
        if any(m.start() < e.end_char and e.start_char < m.end() for e in spans):
            continue
        span = doc.char_span(m.start(), m.end(), label="PERSON", alignment_mode="expand")
        if span is not None:
            span._.normalized = m.group(0)
            spans.append(span)
    doc.ents = doc._.entities = filter_spans(spans)
