"""Citations in the short form the case file uses: `PC 502(c)(7)`, `VC 1808.45`, `GC 15153`,
`18 USC 1030(a)(2)`."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

CODES = {
    "PC": "Pen. Code",
    "VC": "Veh. Code",
    "GC": "Gov. Code",
    "18 USC": "18 U.S.C.",
}

_CITE = re.compile(
    r"^\s*(?P<code>PC|VC|GC|18\s*U\.?S\.?C\.?)\s*§?\s*(?P<section>\d+[a-z]?(?:\.\d+)?)"
    r"\s*(?P<subs>(?:\(\s*[0-9A-Za-z]+\s*\)\s*)*)$",
    re.IGNORECASE,
)


@dataclass(frozen=True, order=True)
class Citation:
    code: str  # PC, VC, GC or 18 USC
    section: str  # "502", "1808.45"
    subdivision: str = ""  # "(c)(7)" or ""

    def __str__(self) -> str:
        return f"{self.code} {self.section}{self.subdivision}"

    @property
    def section_key(self) -> str:
        return f"{self.code} {self.section}"

    def long_form(self) -> str:
        return f"{CODES[self.code]} § {self.section}{self.subdivision}"


@lru_cache(maxsize=4096)          # a Citation is frozen, so one parse serves every caller
def parse_citation(text: str) -> Citation | None:
    """Parse a short-form citation; None if it is not one."""
    m = _CITE.match(text or "")
    if not m:
        return None
    code = m.group("code").upper().replace(".", "").replace(" ", "")
    code = "18 USC" if code.startswith("18") else code
    subs = "".join(f"({s.strip()})" for s in re.findall(r"\(\s*([0-9A-Za-z]+)\s*\)", m.group("subs")))
    return Citation(code, m.group("section").lower(), subs.lower())
