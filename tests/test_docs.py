"""Docs that cannot drift (as datasette's tests do): the README names every setting, error code,
command and finding id the package has, and names none it does not; every error code is declared once, raised
somewhere, and never written as a bare string; every CLETS_* variable is declared in the settings
module and read only through it."""
import ast
import re

import click
import typer.main

from assessment.cli.main import app
from assessment.core import errors, settings
from assessment.evidence.model import FINDINGS

from conftest import ROOT

PACKAGE = ROOT / "assessment"
README = (ROOT / "README.md").read_text(encoding="utf-8")
PREFIXES = "|".join(sorted({re.sub(r"\d+$", "", c) for c in errors.CATALOGUE}))
CODE = re.compile(rf"\b(?:{PREFIXES})\d{{3}}\b")
VARIABLE = re.compile(r"\bCLETS_[A-Z0-9_]*[A-Z0-9]\b")


def _sources() -> dict[str, str]:
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in sorted(PACKAGE.rglob("*.py"))}


def _section(title: str) -> str:
    """The README's text under `## title`, up to the next heading of that level."""
    assert f"\n## {title}\n" in README, f"the README has no section '## {title}'"
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string nodes that are docstrings (prose may name a code)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def _code_names_used() -> dict[str, set[str]]:
    """For each module, the catalogue codes it imports from assessment.core.errors and then uses."""
    used: dict[str, set[str]] = {}
    for name, text in _sources().items():
        tree = ast.parse(text)
        imported = {a.asname or a.name for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and node.module == "assessment.core.errors"
                    for a in node.names if CODE.fullmatch(a.name)}
        loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        if imported & loaded:
            used[name] = imported & loaded
    return used


def test_every_error_code_is_declared_under_its_own_name():
    misnamed = [c for c in errors.CATALOGUE if getattr(errors, c, None) != c]
    assert errors.CATALOGUE and misnamed == []


def test_every_error_code_in_the_catalogue_is_raised_somewhere_in_the_package():
    used = set().union(*_code_names_used().values())
    assert sorted(set(errors.CATALOGUE) - used) == []


def test_every_error_code_named_anywhere_is_in_the_catalogue():
    """Imported by name (an undeclared one fails that import), and in prose: docstrings, comments and
    the README name only codes that exist."""
    named = {m for text in _sources().values() for m in CODE.findall(text)} | set(CODE.findall(README))
    assert sorted(named - set(errors.CATALOGUE)) == []


def test_no_error_code_is_written_as_a_string_in_the_package():
    """A code in a string is unchecked: it must be the catalogue's name (CF001), not "CF001"."""
    bare = []
    for name, text in _sources().items():
        if name.endswith("core/errors.py"):
            continue
        tree = ast.parse(text)
        docs = _docstrings(tree)
        bare += [f"{name}:{n.lineno}" for n in ast.walk(tree)
                 if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs
                 and CODE.search(n.value)]
    assert bare == []


def test_the_readme_lists_every_error_code_with_its_meaning():
    rows = dict(re.findall(r"^\| ([A-Z]+\d{3}) \| (.+) \|$", _section("Error codes"), re.M))
    assert rows == errors.CATALOGUE


def test_every_clets_variable_the_package_names_is_a_declared_setting():
    named = {v for text in _sources().values() for v in VARIABLE.findall(text)}
    assert named and sorted(named - set(settings.DECLARED)) == []


def test_only_the_settings_module_reads_clets_variables_from_the_environment():
    reads = [f"{name}: {line.strip()}" for name, text in _sources().items() if not name.endswith("core/settings.py")
             for line in text.splitlines() if re.search(r"(environ|getenv).*CLETS_", line)]
    assert reads == []


def test_every_declared_setting_is_read_somewhere_in_the_package():
    attrs = {n: s.name for n, s in vars(settings).items() if isinstance(s, settings.Setting)}
    assert sorted(attrs.values()) == sorted(settings.DECLARED)
    text = "\n".join(t for name, t in _sources().items() if not name.endswith("core/settings.py"))
    unread = [v for attr, v in attrs.items() if not re.search(rf"\bsettings\.{attr}\.get\(\)", text)]
    assert unread == []


def test_the_readme_documents_every_setting_and_no_other():
    documented = set(VARIABLE.findall(_section("Settings")))
    assert documented == set(settings.DECLARED)
    named = {v for v in VARIABLE.findall(README) if not v.startswith("CLETS_TEST_")}
    assert sorted(named - set(settings.DECLARED)) == []


def _commands(group: click.Command, prefix: str = "") -> list[str]:
    out = []
    for name, sub in sorted(getattr(group, "commands", {}).items()):
        out.append(prefix + name)
        out += _commands(sub, f"{prefix}{name} ")
    return out


def test_the_readme_names_every_command_and_subcommand():
    commands = _commands(typer.main.get_command(app))
    assert {"check", "user unlock", "keys rotate", "db check"} <= set(commands)
    block = _section("Command line")
    missing = [c for c in commands if not re.search(rf"^clets-assess {re.escape(c)}(\s|$)", block, re.M)]
    assert missing == []
    named = set(re.findall(r"^clets-assess ([a-z-]+(?: [a-z-]+)?)", block, re.M))
    assert sorted(n for n in named if n not in commands and n.split()[0] not in commands) == []


def test_the_readme_lists_every_finding_id_with_its_label():
    rows = dict(re.findall(r"^\| `([a-z-]+)` \| ([^|]+?) \|", _section("Audit evidence"), re.M))
    assert rows == {fid: k.label for fid, k in FINDINGS.items()}


def test_the_readme_says_what_each_finding_needs_and_which_are_the_specs():
    rows = {fid: [c.strip() for c in rest.split("|")[1:3]]
            for fid, rest in re.findall(r"^\| `([a-z-]+)` \|(.*)$", _section("Audit evidence"), re.M)}
    assert rows == {fid: [", ".join(k.needs), "yes" if k.spec else ""] for fid, k in FINDINGS.items()}
