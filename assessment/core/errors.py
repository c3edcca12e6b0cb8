"""Coded, located errors: every message says what is wrong, where, and what to do.

The catalogue follows spaCy's practice (spacy/errors.py): a stable code per kind of problem, each
declared once below with what it means beside it, so a user (or a test) can look the code up, and
the message of each Problem names the file, line, column and field.

One step further than spaCy: spaCy reads `Errors.E001` inside the function that raises, so a
mistyped code there fails only when that error happens. Here each code is a name of this module
and a module imports the codes it raises at its top (`from assessment.core.errors import CF001`):
a code that is not declared fails the import of the module that names it (ImportError), whatever
path runs, and a code used without being imported is an undefined name to ruff (F821) and mypy.
A code's value is its own name as a plain string (`CF001 == "CF001"`), so problems print, compare
and serialise as text; `tests/test_docs.py` checks that each is declared under its own name, used,
and listed in the README.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NewType

Code = NewType("Code", str)
"""An error code from the catalogue below; Problem takes only these (mypy refuses a bare string)."""

CATALOGUE: dict[Code, str] = {}
"""Every code with what it means, in the order declared."""


def _code(code: str, meaning: str) -> Code:
    """Declare one code; declaring a code twice fails the import of this module."""
    if code in CATALOGUE:
        raise ValueError(f"error code {code} is declared twice")
    CATALOGUE[Code(code)] = meaning
    return Code(code)


# case files
CF001 = _code("CF001", "The case file is not valid YAML.")
CF002 = _code("CF002", "Unknown key in the case file.")
CF003 = _code("CF003", "A required key is missing from the case file.")
CF004 = _code("CF004", "A value in the case file has the wrong type or is not one of the allowed values.")
CF005 = _code("CF005", "A citation in the case file does not resolve to a knowledge-base entry.")
CF006 = _code("CF006", "An evidence file named in the case file cannot be found.")
# knowledge base
KB001 = _code("KB001", "A knowledge-base file is not valid YAML.")
KB002 = _code("KB002", "A knowledge-base entry breaks the schema.")
KB003 = _code("KB003", "A knowledge-base entry refers to something that does not exist.")
KB004 = _code("KB004", "Two knowledge-base entries share an id.")
KB005 = _code("KB005", "A condition in the knowledge base is not written in the condition language.")
KB006 = _code("KB006", "A knowledge-base scenario does not give the result it expects.")
KB007 = _code("KB007", "A statute or defense lacks a positive or a negative scenario.")
# evidence
EV001 = _code("EV001", "An evidence file lacks a column the analysis needs.")
EV002 = _code("EV002", "An evidence file cannot be read.")
EV003 = _code("EV003", "A value in an evidence file cannot be parsed.")
EV004 = _code("EV004", "An uploaded file's name is not a plain file name (it holds a folder, '..' or a control "
                       "character).")
# narratives
NL001 = _code("NL001", "A narrative is too long to mine.")
# memo templates
TP001 = _code("TP001", "The memo template cannot be rendered.")
TP002 = _code("TP002", "A memo template ran past its processor-time limit.")
TP003 = _code("TP003", "A memo template ran past its memory limit.")
TP004 = _code("TP004", "A rendered memo holds a field that fetches or links, an external link or an embedded object.")
# keys and encryption at rest
KEY001 = _code("KEY001", "The key file is missing.")
KEY002 = _code("KEY002", "The key file can be read by other users.")
KEY003 = _code("KEY003", "The key file is damaged.")
KEY004 = _code("KEY004", "A key file exists already.")
KEY005 = _code("KEY005", "A stored file is not encrypted as it should be.")
KEY006 = _code("KEY006", "A stored file is encrypted under a key the key file no longer holds.")
KEY007 = _code("KEY007", "A stored file does not decrypt: it was altered.")
KEY008 = _code("KEY008", "A passphrase-sealed file does not open: wrong passphrase, or the file was altered.")
KEY009 = _code("KEY009", "The key file belongs to another database.")
# the database and the access log
DB001 = _code("DB001", "The database file is damaged.")
DB002 = _code("DB002", "The app's PostgreSQL role may change the access log.")
DB003 = _code("DB003", "The database's schema is older than this version needs.")
DB004 = _code("DB004", "The app's environment holds the database owner's connection.")
LOG001 = _code("LOG001", "A protection trigger of the access log is missing or altered.")
# backups
BK001 = _code("BK001", "A backup cannot be restored.")
# settings
ENV001 = _code("ENV001", "A CLETS_* environment variable holds a value of the wrong form.")


@dataclass
class Problem:
    """One located problem."""

    code: Code
    message: str
    file: str | None = None
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    field: str | None = None  # key path such as "client.role" or "subjects[0].dob"
    hint: str | None = None

    def where(self) -> str:
        parts = [self.file or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        text = f"{self.where()}: {self.code}"
        if self.field:
            text += f" at {self.field}"
        text += f": {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class AssessmentError(Exception):
    """Raised with one or more located problems; nothing has been changed when it is raised."""

    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        Exception.__init__(self, str(self))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)
