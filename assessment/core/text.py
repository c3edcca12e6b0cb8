"""Small helpers that keep generated prose clean: plurals, sentence ends, reflowed paragraphs."""
from __future__ import annotations

import re

IRREGULAR = {"query": "queries", "authority": "authorities", "entry": "entries", "penalty": "penalties",
             "party": "parties", "category": "categories", "consequence": "consequences"}


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 query', '3 queries', '0 counts': the number and the word in the form the number takes."""
    if n == 1:
        return f"{n} {word}"
    if many is None:
        consonant_y = len(word) > 1 and word.endswith("y") and word[-2] not in "aeiou"
        many = IRREGULAR.get(word) or (word[:-1] + "ies" if consonant_y else word + "s")
    return f"{n} {many}"


def unend(text: str) -> str:
    """The text without its closing full stop (or stray spaces), so that a template or a sentence
    can add its own punctuation without doubling it; an ellipsis is kept."""
    text = (text or "").strip()
    if text.endswith(".") and not text.endswith("..."):
        return text[:-1].rstrip()
    return text


def clause(text: str) -> str:
    """A statement (a custody term, a fine) as it reads inside a sentence: no closing full stop,
    and 'None' as 'none'."""
    text = unend(text)
    return "n" + text[1:] if text.startswith("None") else text


def sentence(text: str) -> str:
    """The text as one sentence: first letter kept, exactly one closing mark ('.', '?', '!', or a
    full stop before a closing quote or bracket already there)."""
    text = (text or "").strip().rstrip(",;:").rstrip()
    if not text:
        return ""
    if re.search(r"[.?!][\"”’)\]]*$", text):
        return re.sub(r"\.{2}$", ".", text) if not text.endswith("...") else text
    return text + "."


def reflow(text: str) -> list[str]:
    """Paragraphs of text typed or pasted with hard line breaks: lines joined with a space, a blank
    line (or a line that starts a bullet) starting a new paragraph, runs of spaces made one."""
    out: list[str] = []
    current: list[str] = []
    for line in (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        stripped = line.strip()
        item = re.match(r"^([-*•]|\(?[a-z0-9]{1,2}[.)])\s", stripped)
        in_list = bool(current) and bool(re.match(r"^([-*•]|\(?[a-z0-9]{1,2}[.)])\s", current[0]))
        after_end = not current or in_list or re.search(r"[.:;?!]$", current[-1])
        if not stripped or (item and (stripped[0] in "-*•" or after_end)):
            if current:
                out.append(" ".join(current))
            current = [stripped] if stripped else []
            continue
        current.append(stripped)
    if current:
        out.append(" ".join(current))
    return [re.sub(r"\s{2,}", " ", p) for p in out if p]


def first_sentence(text: str, limit: int = 240) -> str:
    """The first sentence of a statement of law, not cut inside a citation ('Pen. Code', 'v.',
    'U.S.C.', '§ 502(c).'): a full stop counts only when followed by a space and a capital letter
    and not preceded by a common legal abbreviation; cut at a word boundary past `limit`."""
    abbreviations = ("Code", "Pen", "Gov", "Veh", "Civ", "Proc", "Evid", "Fam", "Cal", "App", "Supp", "U.S", "S",
                     "C", "v", "No", "Stats", "ch", "subd", "e.g", "i.e", "cf", "Cir", "seq", "al", "Bd", "Dept",
                     "Co", "Inc", "Rptr", "Super", "Ct", "F", "Rev", "Mr", "Ms", "Dr", "St")
    for m in re.finditer(r"[.?!](?=\s+[A-Z(\"“])", text):
        before = re.search(r"([A-Za-z.]+)$", text[:m.start()])
        if m.group() == "." and before and before.group(1).rstrip(".") in abbreviations:
            continue
        head = text[:m.end()]
        if len(head) <= limit:
            return head
        break
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + " ..."
