"""The project's import graph, read with ``ast`` (no module is imported), and the layering rules."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("schemas", "tasks", "warehouse", "training", "flows", "toolfactory")
PACKAGE_RANK = {"schemas": 0, "tasks": 1, "warehouse": 2, "training": 2, "flows": 3, "toolfactory": 4}
TASKS_RANK = {"tasks.guards": 0, "tasks.prompts": 1, "tasks.similarity": 1, "tasks.llm": 2, "tasks.catalog": 3,
              "tasks.documentation": 4, "tasks.formats": 5, "tasks.simulation": 6, "tasks.curation": 7,
              "tasks.evaluation": 8}
# third-party package → the module prefixes that may import it
CONFINED = {"prefect": ("flows.", "toolfactory."), "duckdb": ("warehouse.", "toolfactory.testing."),
            "litellm": ("tasks.llm.engines", "tasks.llm.transport", "toolfactory.testing.fake_llm"),
            "mcp": ("tasks.guards.guarded_mcp",)}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def imported_names(path: Path) -> set[str]:
    """Every absolute import in the file, at any depth: ``from a.b import c`` gives ``a.b.c`` and ``a.b``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def import_graph() -> dict[str, set[str]]:
    """Our module → the modules of ours it imports."""
    files = source_files()
    return {m: {n for n in imported_names(p) if n in files and n != m} for m, p in files.items()}


def _layer(module: str, rank: dict[str, int], depth: int) -> str | None:
    key = ".".join(module.split(".")[:depth])
    return key if key in rank else None


def layer_violations(graph: dict[str, set[str]], rank: dict[str, int], depth: int) -> list[str]:
    """``a imports b`` for each import from a layer to a later one, or between two layers of one rank."""
    out = []
    for module, deps in sorted(graph.items()):
        own = _layer(module, rank, depth)
        for dep in sorted(deps):
            theirs = _layer(dep, rank, depth)
            if own and theirs and theirs != own and rank[theirs] >= rank[own]:
                out.append(f"{module} imports {dep}")
    return out


def module_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def third_party_violations() -> list[str]:
    """``module imports prefect`` (or duckdb, litellm) outside the modules allowed to."""
    out = []
    for module, path in sorted(source_files().items()):
        for name in sorted(imported_names(path)):
            top = name.split(".")[0]
            if top in CONFINED and not module.startswith(CONFINED[top]):
                out.append(f"{module} imports {name}")
    return out


def modules_importing_tests() -> list[str]:
    """``tests/test_a.py imports test_b`` (or conftest) for each test file that imports another test module."""
    out = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for name in sorted(imported_names(path)):
            top = name.split(".")
            if top[0] in ("conftest",) or top[0].startswith("test_") or (top[0] == "tests" and len(top) > 1
                                                                          and top[1] != "support"):
                out.append(f"{path.relative_to(ROOT)} imports {name}")
    return out
