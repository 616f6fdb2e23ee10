"""No import cycles among flowengine's modules, hidden ones included.

import-linter's ``acyclic_siblings`` contract compares siblings (``a.x`` with
``a.y``, ``a`` with ``b``); it does not see a package's ``__init__`` and its own
child importing each other, which is how ``connectors/`` was a cycle. This test
looks at every module. It counts imports inside functions and under
``TYPE_CHECKING``: a function-local import is still a dependency (moving it to
the top breaks the import order), and the cycle engine → receipts → reports →
engine hid behind exactly those two.
"""

from __future__ import annotations

import grimp

# None tolerated: cli/main.py imports the command modules, which import app.py;
# nothing in app.py imports back.
TOLERATED_INSIDE: tuple[str, ...] = ()


def _cycles() -> list[list[str]]:
    graph = grimp.build_graph("flowengine", include_external_packages=False)
    return _components(
        {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    )


def _components(edges: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(start: str) -> None:
        # iterative, so a deep chain of imports cannot hit the recursion limit
        work = [(start, iter(edges[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(edges[target])))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
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

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return sorted(found)


def _tolerated(component: list[str]) -> bool:
    return any(all(m.startswith(inside) for m in component) for inside in TOLERATED_INSIDE)


class TestImportGraph:
    def test_no_module_is_in_an_import_cycle(self) -> None:
        """No chain of imports, however hidden, leads from a module back to itself."""
        assert [c for c in _cycles() if not _tolerated(c)] == []

    def test_the_engine_does_not_import_the_desk(self) -> None:
        """The engine reaches none of the desk (receipts, reports, citizen) or accounts."""
        graph = grimp.build_graph("flowengine", include_external_packages=False)
        desk = [m for m in graph.modules if m.startswith("flowengine.desk.")]
        assert "flowengine.desk.receipts" in desk  # the list cannot be empty by a typo
        reached = {
            upstream
            for upstream in [*desk, "flowengine.accounts"]
            if graph.find_shortest_chain(importer="flowengine.engine", imported=upstream)
        }
        assert reached == set()

    def test_the_cycle_finder_sees_long_and_short_cycles(self) -> None:
        """The check can fail: a three-module loop and a package-child pair are both found."""
        edges = {
            "p.engine": ["p.receipts"],
            "p.receipts": ["p.reports"],
            "p.reports": ["p.engine", "p.errors"],
            "p.errors": [],
            "p.connectors": ["p.connectors.email"],
            "p.connectors.email": ["p.connectors", "p.errors"],
        }
        assert _components(edges) == [
            ["p.connectors", "p.connectors.email"],
            ["p.engine", "p.receipts", "p.reports"],
        ]
