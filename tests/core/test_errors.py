"""The error catalogue: a code that is not declared fails when the module naming it is imported,
before any of its functions runs; a declared code is the plain text of its name."""
import importlib.util
import json
import subprocess
import sys

import pytest

from assessment.core import errors
from assessment.core.errors import KEY005, AssessmentError, Problem

from conftest import ROOT


def _import(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module


def test_a_mistyped_code_fails_when_its_module_is_imported(tmp_path):
    """firm/crypto.py with KEY005 mistyped as KEY050 in every place (its import and the raise in
    `unseal`): importing it fails at once, without `unseal` ever running."""
    source = (ROOT / "assessment" / "firm" / "crypto.py").read_text(encoding="utf-8")
    assert source.count("KEY005") >= 2
    typo = tmp_path / "crypto_typo.py"
    typo.write_text(source.replace("KEY005", "KEY050"), encoding="utf-8")
    with pytest.raises(ImportError, match="KEY050"):
        _import(typo, "crypto_typo")
    (tmp_path / "crypto_ok.py").write_text(source, encoding="utf-8")
    assert _import(tmp_path / "crypto_ok.py", "crypto_ok").KEY005 == "KEY005"      # the same file, unmistyped


def test_a_code_mistyped_only_where_it_is_raised_is_an_undefined_name_to_the_linter(tmp_path):
    """The other half: the import is right but the raise names KEY050; ruff's F821 finds it."""
    source = (ROOT / "assessment" / "firm" / "crypto.py").read_text(encoding="utf-8")
    typo = tmp_path / "crypto_typo.py"
    typo.write_text(source.replace("Problem(KEY005,", "Problem(KEY050,"), encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--select", "F821",
                          "--output-format", "concise", str(typo)], capture_output=True, text=True)
    assert out.returncode == 1 and "F821 Undefined name `KEY050`" in out.stdout


def test_a_code_declared_twice_is_refused():
    with pytest.raises(ValueError, match="CF001 is declared twice"):
        errors._code("CF001", "Another meaning.")
    assert errors.CATALOGUE["CF001"] == "The case file is not valid YAML."


def test_a_code_is_its_own_name_as_plain_text_wherever_a_problem_goes():
    p = Problem(KEY005, "the memo is not encrypted", file="memo.docx", hint="restore it from a backup")
    assert KEY005 == "KEY005" and type(KEY005) is str
    assert str(p) == "memo.docx: KEY005: the memo is not encrypted (restore it from a backup)"
    assert json.loads(json.dumps(p.as_dict()))["code"] == "KEY005"
    assert str(AssessmentError([p])) == str(p)
