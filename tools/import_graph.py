"""The import graph of the `assessment` package, read from the source (nothing is imported).

    python tools/import_graph.py            counts: modules, arrows, cycles, imports inside functions,
                                            and arrows that run up the layer order
    python tools/import_graph.py --edges    every arrow, one per line ("a -> b", "(in function)" marked)
    python tools/import_graph.py --dot      the graph for Graphviz (dot -Tsvg)

A module is a file (``assessment/firm/db.py`` is ``assessment.firm.db``); an arrow is "module A
imports module B" for B inside the package, counted once per pair. tests/test_layers.py holds the
package to the same rules this prints.
"""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "assessment"

# The floors, highest first: a module may import its own floor and any floor below, never one above.
# Floors on one line share a level and may not import each other.
LAYERS: list[tuple[str, ...]] = [
    ("app", "cli"),
    ("memo", "narrative"),
    ("law",),
    ("evidence",),
    ("firm",),
    ("core",),
]
# Imports inside a function are allowed only for these outside dependencies, each for its reason;
# inside the package there are none (a module's imports are read at its top).
LAZY_ALLOWED: dict[str, str] = {
    "vl_convert": "the chart renderer (a 100 MB engine) loads only when a memo draws a chart",
    "eyecite": "its reporter tables take about a second to load; only narrative mining needs them",
    "alembic": "migrations load only when the schema is checked or upgraded",
    "resource": "Unix only, and only the template worker sets its own limits",
}


@dataclass
class Arrow:
    source: str
    target: str
    line: int
    in_function: bool


@dataclass
class Graph:
    modules: list[str]
    arrows: list[Arrow] = field(default_factory=list)
    lazy: list[tuple[str, int, str]] = field(default_factory=list)   # (module, line, outside module) in a function

    def pairs(self) -> set[tuple[str, str]]:
        return {(a.source, a.target) for a in self.arrows if a.source != a.target}

    def cycles(self) -> list[list[str]]:
        """Strongly connected components of more than one module (Tarjan), each sorted."""
        succ: dict[str, set[str]] = {m: set() for m in self.modules}
        for s, t in self.pairs():
            succ.setdefault(s, set()).add(t)
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on: set[str] = set()
        out: list[list[str]] = []
        counter = [0]

        def visit(v: str) -> None:
            index[v] = low[v] = counter[0]
            counter[0] += 1
            stack.append(v)
            on.add(v)
            for w in sorted(succ.get(v, ())):
                if w not in index:
                    visit(w)
                    low[v] = min(low[v], low[w])
                elif w in on:
                    low[v] = min(low[v], index[w])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))

        sys.setrecursionlimit(10000)
        for m in sorted(succ):
            if m not in index:
                visit(m)
        return sorted(out)


def module_name(path: Path, root: Path = ROOT) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(current: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = current.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def build(root: Path = ROOT) -> Graph:
    files = sorted(p for p in (root / PACKAGE).rglob("*.py")
                   if "__pycache__" not in p.parts and "versions" not in p.parts)
    modules = [module_name(p, root) for p in files]
    known = set(modules)
    graph = Graph(modules=modules)

    def target_of(name: str) -> str | None:
        while name:
            if name in known:
                return name
            name = name.rpartition(".")[0]
        return None

    for path in files:
        current = module_name(path, root)
        tree = ast.parse(path.read_text(), str(path))
        is_package = path.name == "__init__.py"

        def walk(node: ast.AST, in_function: bool, current: str = current, is_package: bool = is_package) -> None:
            for child in ast.iter_child_nodes(node):
                nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                names: list[str] = []
                if isinstance(child, ast.Import):
                    names = [a.name for a in child.names]
                elif isinstance(child, ast.ImportFrom):
                    base = _resolve(current, is_package, child)
                    # "from assessment.law import kb" names the module assessment.law.kb
                    names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in child.names]
                if in_function and isinstance(child, (ast.Import, ast.ImportFrom)) and not (
                        isinstance(child, ast.ImportFrom) and child.level) :
                    for n in ([a.name for a in child.names] if isinstance(child, ast.Import) else [child.module or ""]):
                        if not n.startswith(PACKAGE):
                            graph.lazy.append((current, child.lineno, n))
                for n in names:
                    t = target_of(n)
                    if t is not None and t != current and t.startswith(PACKAGE):
                        graph.arrows.append(Arrow(current, t, child.lineno, in_function))
                walk(child, nested)

        walk(tree, False)
    return graph


FRONT_DOOR = (PACKAGE, f"{PACKAGE}.verbs")   # the package's __init__ and the four verbs it hands out


def floor(module: str) -> int | None:
    """The index of a module's floor in LAYERS (0 is the top), None for the front door."""
    parts = module.split(".")
    if module in FRONT_DOOR:
        return None
    for i, names in enumerate(LAYERS):
        if parts[1] in names:
            return i
    return None


def upward(graph: Graph) -> list[Arrow]:
    """Arrows that run up the order, or sideways between two packages on one floor."""
    bad = []
    for a in graph.arrows:
        fs, ft = floor(a.source), floor(a.target)
        if fs is None or ft is None:
            continue
        same_package = a.source.split(".")[1] == a.target.split(".")[1]
        if ft < fs or (ft == fs and not same_package):
            bad.append(a)
    return bad


def main(argv: list[str]) -> int:
    g = build()
    if "--dot" in argv:
        print("digraph assessment {\n  rankdir=TB; node [shape=box, fontsize=10];")
        for s, t in sorted(g.pairs()):
            print(f'  "{s[len(PACKAGE) + 1:] or PACKAGE}" -> "{t[len(PACKAGE) + 1:] or PACKAGE}";')
        print("}")
        return 0
    if "--edges" in argv:
        for a in sorted(g.arrows, key=lambda a: (a.source, a.target, a.line)):
            print(f"{a.source} -> {a.target}  (line {a.line}{', in function' if a.in_function else ''})")
        return 0
    inside = [a for a in g.arrows if a.in_function]
    ups = upward(g)
    cyc = g.cycles()
    print(f"modules                      {len(g.modules)}")
    print(f"arrows (module pairs)        {len(g.pairs())}")
    print(f"cycles                       {len(cyc)}")
    for c in cyc:
        print("   " + " <-> ".join(m[len(PACKAGE) + 1:] for m in c))
    print(f"imports inside functions     {len(inside)}")
    for a in inside:
        print(f"   {a.source}:{a.line} -> {a.target}")
    bad_lazy = [x for x in g.lazy if x[2].split(".")[0] not in LAZY_ALLOWED]
    print(f"outside imports in functions {len(g.lazy)} ({len(g.lazy) - len(bad_lazy)} allowed: "
          f"{', '.join(sorted(LAZY_ALLOWED))})")
    for m, line, n in bad_lazy:
        print(f"   {m}:{line} -> {n}")
    print(f"arrows up the layer order    {len(ups)}")
    for a in ups:
        print(f"   {a.source}:{a.line} -> {a.target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
