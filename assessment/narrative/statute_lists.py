"""Statutes cited in lists, ranges and without their code, the way California reports and letters
write them:

- `PC 502(c)(1), (c)(2)` and `Pen. Code, § 502, subd. (c)(1) and (c)(2)`: one section, two subdivisions;
- `Penal Code sections 11142 and 11143`, `§§ 11142-11143`: one code, two sections (a range gives its ends);
- `sections 11142 and 11143 of the Penal Code`, `11142 and 11143 PC`: the code after the list;
- `section 502, subdivision (c)(7)` in a letter that named the Penal Code earlier: the code in reach.

The single citations (`530.5(a) PC`, `Veh. Code § 1808.45`) come from the patterns in
`knowledge/nlp/entities.yaml`; they are the anchors this module extends. Lists are grammar, not
vocabulary, so they are written here; the codes themselves stay in the data."""
from __future__ import annotations

import re

Found = tuple[int, int, str, object, int]      # start, end, label, normalized, priority

_SUBS = r"(?:\s?\(\s*[0-9a-zA-Z]{1,4}\s*\))"
_ITEM = rf"(?P<sec>\d{{2,5}}(?:\.\d{{1,3}})?[a-z]?)?(?P<subs>(?:(?<=\d),?\s*(?i:subd(?:ivision)?s?\.?)\s*(?=\())?{_SUBS}*)"
_LEAD = r"(?:(?i:subd(?:ivision)?s?\.?|sections?|secs?\.|§§?)\s*)"
# a range's dash joins its ends without spaces ("11142-11143"); a spaced dash ("502(c)(7) - 2314") is no separator
def _separator(marks: str) -> str:
    return rf"(?P<sep>(?<=[\w)])[-–](?=[\d(])|\s*(?:{marks}|\b(?i:and|or|through|thru|to)\b)(?:\s*\b(?i:and|or)\b)?\s*)"


_SEP = _separator(",|;|&|/")
_SEP_BACK = _separator(",|;|&")          # looking back, "Unit 2314 / " is no list
_LIST_TAIL = re.compile(r"(?:\s*(?:,|;|&|\band\b|\bor\b)\s*\d[\w.()]*)*")
_RANGE = re.compile(r"^(?:[-–]|\s*(?i:through|thru|to)\s*)$")
# an item ends the list where a separator, a sentence end, a bracket or the line ends
_END = r"(?=\s*(?:[,;.)\]:]|\b(?i:and|or|through|thru|to|of|in)\b|[-–—]|$|\n))"
_FORWARD = re.compile(rf"{_SEP}{_LEAD}?{_ITEM}{_END}")
_BACKWARD = re.compile(rf"(?<![\w#./-])(?:{_LEAD})?{_ITEM}{_SEP_BACK}{_LEAD}?\Z")    # not "Booking #2500417, "
_BARE = re.compile(rf"(?<![\w§])(?P<lead>(?i:sections?|§§?|secs?\.)\s*)(?P<sec>\d{{2,5}}(?:\.\d{{1,3}})?[a-z]?)"
                   rf"(?P<subs>(?:,?\s*(?i:subd(?:ivision)?s?\.?)\s*)?{_SUBS}*)")
# a section of something other than a code: "section 4.2 of the policy", "Policy section 340"
_NOT_A_CODE = re.compile(r"\s*,?\s*of\s+(?:the\s+|this\s+|our\s+|its\s+)?(?!(?:California\s+)?(?:Penal|Vehicle|Government|"
                         r"Health)\b)\w", re.I)
_NOT_A_CODE_BEFORE = re.compile(r"(?i:policy|policies|manual|general\s+orders?|order|lexipol|MOU|article|rule|"
                                r"chapter|part|title|directive|procedure|SOP|contract|agreement)\s*(?:\S+\s+){0,2}$")
# any code named in words: the Penal, Vehicle and Government Codes give their short form; any other
# (Evidence, Welfare and Institutions, Health and Safety) stops a bare section inheriting an earlier code
_CODE_NAMED = re.compile(r"\b(?P<name>[A-Z][a-z]+(?:'t)?\.?(?:\s+(?:and|&)\s+[A-Z][a-z]+\.?)?)\s+Code\b")
_NAMED_SHORT = {"penal": "PC", "pen": "PC", "vehicle": "VC", "veh": "VC", "government": "GC", "gov": "GC", "govt": "GC",
                "gov't": "GC"}
_VALUE = re.compile(r"^(?P<code>18 USC|[A-Z]+) (?P<sec>\d+(?:\.\d+)?[a-z]?)(?P<subs>(?:\([0-9a-zA-Z]+\))*)$")
REACH = 3000        # how far back a bare "section 502" looks for the code it belongs to


def subdivisions(text: str) -> str:
    """`(c) (7)`, `( c )( 7 )` -> `(c)(7)`: the parenthesized parts of a citation, tidied."""
    return "".join(f"({s})" for s in re.findall(r"\(\s*([0-9a-zA-Z]{1,4})\s*\)", text or ""))


def _joinsubdivisions(prev: str, new: str) -> str:
    """`(c)(1)` then `(2)` is `(c)(2)`; then `(d)` is `(d)`. Federal capitals are kept."""
    parts_prev = re.findall(r"\(([^)]+)\)", prev)
    parts_new = re.findall(r"\(([^)]+)\)", new)
    if not parts_new:
        return prev
    kind = _level(parts_new[0])
    for i, p in enumerate(parts_prev):
        if _level(p) == kind:
            return "".join(f"({x})" for x in parts_prev[:i] + parts_new)
    return "".join(f"({x})" for x in parts_prev + parts_new)


def _level(part: str) -> str:
    if part.isdigit():
        return "digit"
    if part.isupper():
        return "upper"
    return "roman" if re.fullmatch(r"[ivx]+", part) and len(part) > 1 else "lower"


def _value(code: str, sec: str, subs: str) -> str:
    subs = subs if code == "18 USC" else subs.lower()
    return f"{code} {sec}{subs}"


def extend(text: str, found: list[Found]) -> list[Found]:
    """Statutes that a list, a range or a bare section adds to the single citations in `found`."""
    anchors = sorted((f for f in found if f[2] == "STATUTE" and isinstance(f[3], str) and _VALUE.match(f[3])),
                     key=lambda f: f[0])
    others = [(f[0], f[1]) for f in found if f[2] != "STATUTE"]
    starts = {a[0] for a in anchors}
    out: list[Found] = []
    for anchor in anchors:
        out += _chain(text, anchor, starts, others, backward=True)
    for bare in _bare(text, anchors + out, others):
        chain = [bare, *_chain(text, bare, starts, others, backward=False)]
        tail = _LIST_TAIL.match(text, max(f[1] for f in chain))
        end = tail.end() if tail else max(f[1] for f in chain)
        if not _NOT_A_CODE.match(text, end):                            # "Sections 12 and 13 of the MOU"
            out += chain
    return out


def _chain(text: str, anchor: Found, starts: set[int], others: list[tuple[int, int]], backward: bool) -> list[Found]:
    """The items listed after an anchor (", (c)(2)", " and 11143", "-11143") and, where its code
    comes after its number, before it ("11142 and " before "11143 PC")."""
    def clear(a: int, b: int) -> bool:
        return not any(x < b and a < y for x, y in others)

    s, e, _label, value, _prio = anchor
    m0 = _VALUE.match(str(value))
    assert m0 is not None
    code, cur_sec, cur_subs = m0.group("code"), m0.group("sec"), m0.group("subs")
    out: list[Found] = []
    pos = e
    while True:
        m = _FORWARD.match(text, pos)
        if not m or (not m.group("sec") and not m.group("subs").strip()) or not clear(m.start(), m.end()):
            break
        item_start = m.start("sec") if m.group("sec") else m.start("subs")
        if item_start in starts:            # the next citation carries its own code
            break
        if m.group("sec"):
            sec = m.group("sec")
            if _RANGE.match(m.group("sep")) and len(sec) < len(cur_sec) and sec.isdigit() and cur_sec.isdigit():
                sec = cur_sec[:len(cur_sec) - len(sec)] + sec            # "11142-43" ends at 11143
            bare_number = not m.group("subs").strip() and not re.search(r"(?i:sec|§|subd)", text[m.start():m.start("sec")])
            if bare_number and (re.fullmatch(r"(?:19|20)\d\d", sec) or len(sec.split(".")[0]) < 3):
                break                       # "PC 502(c)(1), 2025.": a year or a count, not a section
            cur_sec, cur_subs = sec, subdivisions(m.group("subs"))
        else:
            cur_subs = _joinsubdivisions(cur_subs, subdivisions(m.group("subs")))
        out.append((item_start, m.end(), "STATUTE", _value(code, cur_sec, cur_subs), 50))
        pos = m.end()
    if backward and re.match(rf"(?i:(?:sections?|§§?)\s*)?{re.escape(m0.group('sec'))}(?![\d.])",
                             text[s:s + 20]):      # the code comes after the number ("11143 PC")
        pos = s
        while True:
            window = text[max(0, pos - 80):pos]
            m = _BACKWARD.search(window)
            if not m or not m.group("sec"):
                break
            a = pos - len(window) + m.start("sec")
            b = pos - len(window) + m.end("subs")
            if a in starts or not clear(a, b):
                break
            out.append((a, b, "STATUTE", _value(code, m.group("sec"), subdivisions(m.group("subs"))), 50))
            pos = pos - len(window) + m.start()
    return out


def _bare(text: str, statutes: list[Found], others: list[tuple[int, int]]) -> list[Found]:
    """`section 502, subdivision (c)(7)` with no code of its own takes the code cited or named last
    before it (within REACH characters); a section of a policy, a manual or an agreement is none."""
    covered = sorted((f[0], f[1]) for f in statutes)
    named = [(m.start(), _NAMED_SHORT.get(m.group("name").lower().rstrip("."))) for m in _CODE_NAMED.finditer(text)]
    cited = []
    for f in statutes:
        m = _VALUE.match(str(f[3]))
        if m:
            cited.append((f[0], m.group("code")))
    context = sorted(named + cited, key=lambda pc: pc[0])
    out: list[Found] = []
    for m in _BARE.finditer(text):
        s = m.start("sec")
        e = s + len(text[s:m.end()].rstrip(", "))
        if any(a < e and s < b for a, b in covered) or any(a < e and s < b for a, b in others):
            continue
        if _NOT_A_CODE.match(text, e) or _NOT_A_CODE_BEFORE.search(text[max(0, m.start() - 40):m.start()]):
            continue
        code = next((c for p, c in reversed(context) if p < s and s - p <= REACH), None)   # None: another code
        if code is not None:
            out.append((s, e, "STATUTE", _value(code, m.group("sec"), subdivisions(m.group("subs"))), 60))
    return out
