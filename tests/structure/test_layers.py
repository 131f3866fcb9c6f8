"""The code's structure, checked from its own imports: areas import one way (no cycle between areas), and no
planner module is imported inside a function, where a cycle would hide."""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "planner"


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        name = ".".join(rel.parts)
        if name.endswith(".__init__"):
            name = name[: -len(".__init__")]
        out[name] = ast.parse(path.read_text(), filename=str(path))
    return out


def _imported(node: ast.AST, module: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".")[: -node.level]
            return [".".join(base + ([node.module] if node.module else []))]
        return [node.module or ""]
    return []


WEB = {"app", "cli", "piccolo_app", "pages", "guest_pages", "demo", "web_common"}


def layer(module: str) -> str:
    """tables, rules or web: imports flow from tables to rules to web, never back."""
    last = module.rsplit(".", 1)[-1]
    if last == "tables":
        return "tables"
    if last == "web" or last.endswith("_web") or last in WEB:
        return "web"
    return "rules"


def area(module: str) -> str:
    """planner.rsvps.rules -> rsvps; a top-level module such as planner.db is an area of its own."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _imports() -> list[tuple[str, str]]:
    return [(name, target) for name, tree in _modules().items() for node in ast.walk(tree)
            for target in _imported(node, name) if target.startswith("planner.")]


def area_graph() -> dict[str, set[str]]:
    """Which area's tables and rules import which other area's. Web modules sit above every area (a page may
    use the rules of several), so they are not part of it; that nothing below imports them is checked apart."""
    graph: dict[str, set[str]] = defaultdict(set)
    for name, target in _imports():
        if layer(name) != "web" and layer(target) != "web" and area(target) != area(name):
            graph[area(name)].add(area(target))
    return graph


def test_imports_flow_from_tables_to_rules_to_web():
    rank = {"tables": 0, "rules": 1, "web": 2}
    upward = [f"{name} -> {target}" for name, target in _imports() if rank[layer(target)] > rank[layer(name)]]
    assert upward == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one area (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
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
                found.append(sorted(comp))

    for v in list(graph):
        if v not in index:
            visit(v)
    return found


def test_no_cycle_between_areas():
    assert _cycles(area_graph()) == []


def test_no_planner_import_inside_a_function():
    inside = []
    for name, tree in _modules().items():
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                for target in _imported(node, name):
                    if target.startswith("planner"):
                        inside.append(f"{name}.{fn.name}: {target}")
    assert inside == []


@pytest.mark.parametrize("lower, higher", [
    ("errors", "db"), ("db", "accounts"), ("accounts", "programs"), ("programs", "scheduling"),
    ("scheduling", "rsvps"), ("outbox", "mail"), ("rsvps", "mail"), ("rsvps", "tickets"), ("inventory", "tickets"),
    ("scheduling", "inventory"), ("scheduling", "resources"), ("calendar", "mail"), ("accounts", "scheduling"),
])
def test_lower_areas_do_not_import_higher_ones(lower, higher):
    assert higher not in area_graph().get(lower, set())
