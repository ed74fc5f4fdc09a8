"""Dependencies point down the pipeline and never in a circle, read from the source (nothing is imported).

Every `import` in cohortql/ counts, also those inside functions (deferred to keep start-up fast) and
under TYPE_CHECKING: a deferred import is still a dependency of the design. The order is
docs/architecture.md's: shared leaf modules, then parse < resolve < render < transpile < execute <
protect < report, then the layers that chain or drive the stages (pipeline, API, CLI, governance).
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "cohortql"
STAGES = ("parse", "resolve", "render", "transpile", "execute", "protect", "report")
# Where each module that is not inside a stage folder sits; an unlisted top-level module is a shared leaf.
LEAF, TOP = 0, len(STAGES) + 1
BESIDE = {
    "format": "parse",  # ast.Definition -> canonical text
    "fingerprint": "resolve",  # plan.Plan -> a hash of its meaning
    "fixtures": "execute",  # writes CDMs (DuckDB, Parquet) for the engines to read
    "atlas": "resolve",  # Circe JSON -> ast.Definition, and ast + plan.Plan -> Circe JSON
}
DRIVERS = ("pipeline", "app", "application", "api", "cli", "governance", "whatif")
# Packages outside cohortql that cohortql must never import (they are built on cohortql).
OUTSIDE = ("tests", "benchmarks")


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every module `name` imports: `from a import b` is a.b when that is a module, else a."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module
            for alias in node.names:
                found.add(f"{module}.{alias.name}" if f"{module}.{alias.name}" in MODULES else module)
    return found


GRAPH = {name: {m for m in _imports(name, path) if m in MODULES and m != name} for name, path in MODULES.items()}


def _rank(module: str) -> int:
    """0 for shared leaf modules, 1..7 for the stages in pipeline order, 8 for what drives them."""
    parts = module.split(".")
    if len(parts) == 1:
        return TOP  # the package itself re-exports the Python API
    top = parts[1]
    if top in STAGES:
        return STAGES.index(top) + 1
    if top in BESIDE:
        return STAGES.index(BESIDE[top]) + 1
    if top in DRIVERS:
        return TOP
    return LEAF


def _stage(rank: int) -> str:
    return "shared leaf" if rank == LEAF else "driver" if rank == TOP else STAGES[rank - 1]


def test_the_walk_sees_every_stage():
    # Guards the test itself: a walk that found nothing would pass every rule below.
    ranks = {_rank(module) for module in MODULES}
    assert ranks == set(range(TOP + 1))
    assert "cohortql.resolve.plan" in GRAPH["cohortql.render.renderer"] | GRAPH["cohortql.resolve.resolver"]


def test_no_import_from_a_lower_stage_to_a_higher_one():
    upward = [
        f"{module} ({_stage(_rank(module))}) imports {target} ({_stage(_rank(target))})"
        for module, targets in sorted(GRAPH.items())
        for target in sorted(targets)
        if _rank(target) > _rank(module)
    ]
    assert not upward, "dependencies must point down the pipeline:\n" + "\n".join(upward)


def test_cohortql_imports_nothing_built_on_it():
    outside = [
        f"{module} imports {imported}"
        for module, path in MODULES.items()
        for imported in sorted(_imports(module, path))
        if imported.split(".")[0] in OUTSIDE
    ]
    assert not outside, "\n".join(outside)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle():
    cycles = _cycles(GRAPH)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(cycle) for cycle in cycles)
