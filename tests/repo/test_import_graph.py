"""No import circle in jobs/, the floors of jobs/ import only downwards, and
no file of tests/ imports a conftest or a test module.

No module imports, through others, the module importing it; and the packages
by role keep their order (:data:`MAY_IMPORT`): ``jobs.runtime`` at the bottom,
imports nothing else of jobs/; ``jobs.client`` only the runtime; the
workloads only the runtime (and one another); ``jobs.commands`` and
``jobs.cli`` sit on top.

The graph is read from the source with ``ast``: an edge for every import
statement of a module, those inside a function included (``submit`` once
imported ``serve_manifest`` in a function while ``serve_manifest`` imported
``submit`` at the top), but not those under ``if TYPE_CHECKING``. ``from jobs
import x`` is an edge to ``jobs.x`` when that is a module, else to ``jobs``.

    python -m tests.repo.test_import_graph    # the graph's size, every cycle and upward import
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support import REPO_ROOT

JOBS = REPO_ROOT / "jobs"


def _module_name(path: Path) -> str:
    parts = path.relative_to(JOBS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, in a function too (it runs when the function does);
    not those under ``if TYPE_CHECKING``, which never run."""
    found: list[ast.Import | ast.ImportFrom] = []
    pending = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            pending += node.orelse
            continue
        pending += ast.iter_child_nodes(node)
    return found


def import_graph(root: Path = JOBS) -> dict[str, set[str]]:
    """Each module of jobs/ and the modules of jobs/ it imports."""
    paths = {_module_name(p): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges |= {alias.name for alias in node.names}
                continue
            base = node.module or ""
            if node.level:  # a relative import
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                edges.add(submodule if submodule in paths else base)
        graph[name] = {e for e in edges if e in paths and e != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_the_imports():
    graph = import_graph()
    assert "jobs.client.localcluster" in graph["jobs.commands.submit"]
    assert "jobs.echo.lifecycle" in graph["jobs.commands.serve"]
    assert "jobs.commands.submit" in graph["jobs.cli"]  # imported in a function


def test_no_import_circle_in_jobs():
    assert cycles(import_graph()) == []


def test_a_circle_is_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# What each floor of jobs/ may import from jobs/ besides itself. A workload is a
# top-level module or package that is none of the others (retrieve, echo, mongo, ...).
MAY_IMPORT = {
    "runtime": {"package"},
    "client": {"package", "runtime"},
    "registry": {"package", "runtime"},
    "workload": {"package", "runtime", "workload"},
    "commands": {"package", "runtime", "client", "registry", "workload"},
    "cli": {"package", "runtime", "registry", "commands"},
}


def floor(module: str) -> str:
    """Which floor of jobs/ ``module`` is on (a key of :data:`MAY_IMPORT`, or "package"
    for ``jobs`` itself)."""
    parts = module.split(".")
    if len(parts) == 1:
        return "package"
    if parts[1] in ("runtime", "client", "commands", "registry", "cli"):
        return parts[1]
    return "workload"


def upward(graph: dict[str, set[str]]) -> list[str]:
    """The imports of ``graph`` that :data:`MAY_IMPORT` does not allow, as "a -> b"."""
    return sorted(
        f"{module} -> {imported}"
        for module, imports in graph.items()
        for imported in imports
        if floor(module) != "package"
        and floor(imported) != floor(module)
        and floor(imported) not in MAY_IMPORT[floor(module)]
    )


def test_every_import_runs_down_a_floor_or_stays_on_it():
    assert upward(import_graph()) == []


def test_an_upward_import_is_found():
    graph = {
        "jobs.runtime.runner": {"jobs.registry", "jobs.runtime.errors"},
        "jobs.echo.foreground": {"jobs.commands.serve", "jobs.runtime.flags"},
        "jobs.commands.serve": {"jobs.echo", "jobs.client.kuberay"},
    }
    assert upward(graph) == [
        "jobs.echo.foreground -> jobs.commands.serve",
        "jobs.runtime.runner -> jobs.registry",
    ]


def main(argv: list[str] | None = None) -> int:
    """Print the graph's size and every cycle; exit 1 when there is one."""
    graph = import_graph()
    edges = sum(len(e) for e in graph.values())
    print(f"jobs/: {len(graph)} modules, {edges} imports between them")
    found = cycles(graph)
    for component in found:
        print("cycle:", " <-> ".join(component))
    print(f"{len(found)} cycle(s)")
    up = upward(graph)
    for edge in up:
        print("upward:", edge)
    print(f"{len(up)} upward import(s)")
    return 1 if found or up else 0


if __name__ == "__main__":
    raise SystemExit(main())


# ---------------------------------------------------------------------------
# tests/: fixtures reach tests through pytest, helpers through modules that are
# neither a conftest nor a test module, so no test depends on another's file.


def _conftest_or_test_module(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return module.startswith("tests.") and (last == "conftest" or last.startswith("test_"))


def imports_of_test_files(root: Path) -> dict[str, set[str]]:
    """For every .py under ``root``: the modules of ``tests`` it imports."""
    found: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        names: set[str] = set()
        for node in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif node.module and node.level == 0:
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
                names.add(node.module)
        found[str(path.relative_to(root.parent))] = names
    return found


def forbidden_test_imports(root: Path) -> list[str]:
    return [
        f"{path} imports {name}"
        for path, names in imports_of_test_files(root).items()
        for name in sorted(names)
        if _conftest_or_test_module(name)
    ]


def test_no_test_imports_a_conftest_or_a_test_module():
    assert forbidden_test_imports(REPO_ROOT / "tests") == []


def test_an_import_of_a_conftest_or_a_test_module_is_found(tmp_path):
    root = tmp_path / "tests"
    (root / "e2e").mkdir(parents=True)
    (root / "a.py").write_text("from tests.e2e import conftest\nfrom tests.support import x\n")
    (root / "b.py").write_text("import tests.e2e.test_kind\n")
    (root / "c.py").write_text("from tests.e2e.test_kind import y\n")
    assert forbidden_test_imports(root) == [
        "tests/a.py imports tests.e2e.conftest",
        "tests/b.py imports tests.e2e.test_kind",
        "tests/c.py imports tests.e2e.test_kind",
    ]
