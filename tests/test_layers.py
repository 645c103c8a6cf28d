"""The import graph keeps the layers honest: no circle; the core knows no area, portal, vendor or entry point;
areas know no HTTP (Litestar) and no portal; portals reach vendors only through areas. An AST walk over
src/crm (module-level and function-level imports alike), so an arrow that comes back fails here with its file
and line."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src" / "crm"
LAYERS = {"core", "portals", "integrations", "webhooks", "bench"}
ENTRY_POINTS = {
    "app",
    "cli",
    "cli_i18n",
    "cli_screening",
    "worker",
    "areas",
    "demo",
    "bootstrap",
    "devstack",
    "schema",
}


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> tuple[dict[str, list[tuple[str, int]]], set[str]]:
    modules = {_module(p): p for p in ROOT.rglob("*.py")}
    edges: dict[str, list[tuple[str, int]]] = {}
    for name, path in modules.items():
        found = []
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found += [(alias.name, node.lineno) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                base = node.module
                if node.level:
                    package = name.split(".")[
                        : len(name.split(".")) - node.level + (path.name == "__init__.py")
                    ]
                    base = ".".join([*package, node.module])
                for alias in node.names:  # `from crm.x import y` names module crm.x.y when y is one
                    target = f"{base}.{alias.name}"
                    found.append((target if target in modules else base, node.lineno))
        edges[name] = found
    return edges, set(modules)


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else module


def _areas() -> set[str]:
    return {
        p.name for p in ROOT.iterdir() if p.is_dir() and p.name not in LAYERS and not p.name.startswith("_")
    }


def test_no_arrow_crosses_the_layers():
    edges, _ = _graph()
    areas = _areas()
    wrong = []
    for source, targets in edges.items():
        layer = _layer(source)
        for target, line in targets:
            top = target.split(".")[0]
            into = _layer(target) if top == "crm" else None
            where = f"{source}:{line} imports {target}"
            if layer == "core" and into in areas | LAYERS - {"core"} | ENTRY_POINTS:
                wrong.append(f"the core knows an outer layer: {where}")
            if layer in areas and top == "litestar":
                wrong.append(f"an area knows HTTP: {where}")
            if layer in areas and into in {"portals", "webhooks"} | ENTRY_POINTS:
                wrong.append(f"an area knows a surface or an entry point: {where}")
            if layer == "portals" and into == "integrations":
                wrong.append(f"a portal reaches a vendor adapter directly: {where}")
            if layer == "integrations" and into in areas | {"portals", "webhooks"}:
                wrong.append(f"a vendor adapter knows an area or a surface: {where}")
    assert not wrong, "\n".join(wrong)


def test_the_import_graph_has_no_circle():
    edges, modules = _graph()
    graph = {m: {t for t, _ in edges[m] if t in modules and t != m} for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
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
                circles.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for module in sorted(modules):
        if module not in index:
            visit(module)
    assert not circles, "import circles:\n" + "\n".join(" -> ".join(c) for c in circles)


def test_a_process_that_did_not_load_the_areas_refuses_to_emit():
    """Without the areas' subscribers known, an event would be written with no deliveries: refuse instead."""
    script = (
        "import asyncio\n"
        "from crm.core.context import Actor\n"
        "from crm.core.db import transaction\n"
        "from crm.core.events.service import emit\n"
        "from crm.core.registry import RegistryNotLoaded\n"
        "async def main():\n"
        "    try:\n"
        "        async with transaction():\n"
        "            await emit(Actor.system('test'), 'lead.created')\n"
        "    except RegistryNotLoaded as exc:\n"
        "        print('refused:', exc)\n"
        "asyncio.run(main())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=os.environ, timeout=60
    )
    assert result.stdout.startswith("refused:"), result.stdout + result.stderr
    assert "crm.areas.load_areas()" in result.stdout
