"""The package's floors: app and cli -> memo, narrative -> law -> evidence -> firm -> core. An import
that runs back up the order, a cycle, or an import hidden inside a function fails here; the same
rules print with `python tools/import_graph.py`."""
import importlib.util
import subprocess
import sys

import pytest

from conftest import ROOT

spec = importlib.util.spec_from_file_location("import_graph", ROOT / "tools" / "import_graph.py")
graph_tool = importlib.util.module_from_spec(spec)
sys.modules["import_graph"] = graph_tool
spec.loader.exec_module(graph_tool)

GRAPH = graph_tool.build()


def test_every_module_sits_on_a_floor():
    loose = [m for m in GRAPH.modules if m not in graph_tool.FRONT_DOOR and graph_tool.floor(m) is None]
    assert loose == [], f"modules outside the floors {graph_tool.LAYERS}: {loose}"


def test_no_import_runs_up_the_order_or_sideways_between_packages_of_one_floor():
    bad = [f"{a.source}:{a.line} -> {a.target}" for a in graph_tool.upward(GRAPH)]
    assert bad == []


def test_the_package_has_no_import_cycle():
    assert GRAPH.cycles() == []


def test_no_module_imports_the_package_inside_a_function():
    hidden = [f"{a.source}:{a.line} -> {a.target}" for a in GRAPH.arrows if a.in_function]
    assert hidden == []


def test_outside_imports_in_functions_are_only_the_listed_heavy_ones():
    bad = [f"{m}:{line} -> {n}" for m, line, n in GRAPH.lazy if n.split(".")[0] not in graph_tool.LAZY_ALLOWED]
    assert bad == []


def test_the_front_door_is_only_imported_from_outside():
    inward = [a for a in GRAPH.arrows if a.target in graph_tool.FRONT_DOOR and a.source not in graph_tool.FRONT_DOOR]
    assert inward == []


@pytest.mark.parametrize("module, may_load", [
    ("assessment.core.errors", {"assessment", "assessment.core", "assessment.core.errors"}),
    ("assessment.firm.db", None),
])
def test_importing_one_module_loads_its_floors_not_the_whole_package(module, may_load):
    """Python runs assessment/__init__.py first: it must not drag every floor (DuckDB, the memo
    renderer, spaCy) into a process that wants one module, e.g. a migration or a small tool."""
    watched = ("assessment", "duckdb", "docx", "spacy")
    code = f"import sys, {module}; print(' '.join(sorted(m for m in sys.modules if m.startswith({watched!r}))))"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                cwd=ROOT).stdout.split())
    if may_load is not None:
        assert loaded == may_load
    floors = {m.split(".")[1] for m in loaded if m.count(".") >= 1 and m.startswith("assessment.")}
    assert floors <= {"core", "firm"}, loaded
    assert not loaded & {"duckdb", "docx", "spacy"}


@pytest.mark.parametrize("source, text, found", [
    ("core/errors.py", "from assessment.firm import db\n", "upward"),
    ("firm/db.py", "def f():\n    from assessment.core import errors\n", "hidden"),
    ("memo/render.py", "from assessment.narrative import pipeline\n", "upward"),     # one floor, two packages
    ("law/kb.py", "from assessment.evidence import model\n", None),                 # downward is fine
])
def test_the_checker_sees_what_it_should(tmp_path, source, text, found):
    pkg = tmp_path / "assessment"
    for floor in ("core", "firm", "evidence", "law", "memo", "narrative"):
        (pkg / floor).mkdir(parents=True)
        (pkg / floor / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    for name in ("core/errors.py", "firm/db.py", "evidence/model.py", "law/kb.py", "memo/render.py",
                 "narrative/pipeline.py"):
        (pkg / name).write_text("")
    (pkg / source).write_text(text)
    g = graph_tool.build(tmp_path)
    assert bool(graph_tool.upward(g)) == (found == "upward")
    assert any(a.in_function for a in g.arrows) == (found == "hidden")
