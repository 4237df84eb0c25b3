"""Prove the import graph has no cycle: between packages (the layers contract's units) and
between modules. Prints each cycle found; exits 1 if there is one.

    .venv/bin/python scripts/import_cycles.py
"""

from __future__ import annotations

import sys

import grimp

PACKAGES = (
    "core",
    "hotline",
    "directory",
    "tickets",
    "knowledge",
    "delivery",
    "bot",
    "portal",
    "wechat",
    "calls",
    "sms",
    "open311",
    "analysis",
)
# the units of the layers contract (pyproject.toml); a module belongs to the longest that holds it
UNITS = (*PACKAGES, "bot.engine", "bot.telegram", "bot.cli")


def unit(module: str) -> str:
    return max((u for u in UNITS if module == u or module.startswith(u + ".")), key=len)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def main() -> int:
    graph = grimp.build_graph(*PACKAGES)
    modules: dict[str, set[str]] = {m: set() for m in graph.modules}
    packages: dict[str, set[str]] = {u: set() for u in UNITS}
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            modules[module].add(imported)
            if unit(module) != unit(imported):
                packages[unit(module)].add(unit(imported))
    bad = False
    for label, edges in (("package", packages), ("module", modules)):
        found = cycles(edges)
        print(f"{label} cycles: {len(found)}")
        for component in found:
            bad = True
            print("  " + " <-> ".join(component))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
