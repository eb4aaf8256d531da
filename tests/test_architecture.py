"""The package's architecture, as tests: the folder tree is the data flow.

model → oracles → checking → largescale → general → mistakes → diagnosis → grading → reports → deploy → cli.
Imports point one way along that flow (a module may import its own layer or an
earlier one), there is no import cycle, no module imports another's private name,
and no module grows past 400 lines (the standalone sandbox child aside).
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gradcheck"
LAYERS = (
    "model",
    "oracles",
    "checking",
    "largescale",
    "general",
    "mistakes",
    "diagnosis",
    "grading",
    "reports",
    "deploy",
    "cli",
)
TOP = {"pytest_plugin": len(LAYERS), "__main__": len(LAYERS)}  # entry points sit after the CLI
STANDALONE = {"gradcheck.grading.sandbox.child"}  # runs inside the sandbox, imports nothing of gradcheck
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


@functools.cache
def _imports(name: str, path: Path) -> tuple:
    """(imported module, imported names) for every gradcheck import in the module, lazy ones included."""
    return tuple(_scan(name, path))


def _scan(name: str, path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("gradcheck"):
                    yield alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            if not base.startswith("gradcheck"):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield (sub, ()) if sub in MODULES else (base, (alias.name,))


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) < 2:
        return None  # the package itself: its __init__ states the public API and may import anything
    return LAYERS.index(parts[1]) if parts[1] in LAYERS else TOP.get(parts[1])


def _graph() -> dict[str, set[str]]:
    return {m: {dep for dep, _ in _imports(m, p) if dep in MODULES and dep != m} for m, p in MODULES.items()}


def test_every_module_belongs_to_a_layer():
    assert [m for m in MODULES if m != "gradcheck" and _layer(m) is None] == []


@pytest.mark.parametrize("module", [m for m in MODULES if m != "gradcheck"])
def test_imports_point_one_way_along_the_flow(module):
    upstream = [
        dep
        for dep, _ in _imports(module, MODULES[module])
        if dep != "gradcheck" and _layer(dep) is not None and _layer(dep) > _layer(module)
    ]
    assert upstream == [], f"{module} ({LAYERS[_layer(module)] if _layer(module) < len(LAYERS) else 'entry'}) imports"


def test_no_module_imports_from_the_package_root():
    offenders = [
        m for m in MODULES if m != "gradcheck" and any(dep == "gradcheck" for dep, _ in _imports(m, MODULES[m]))
    ]
    assert offenders == []


def test_no_import_cycles():
    graph, state, cycles = _graph(), {}, []

    def visit(node, stack):
        state[node] = "open"
        for dep in sorted(graph[node]):
            if state.get(dep) == "open":
                cycles.append(stack[stack.index(dep) :] + [dep])
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state and node != "gradcheck":
            visit(node, [node])
    assert cycles == []


def test_no_private_names_cross_modules():
    crossing = [
        f"{m} imports {name} from {dep}"
        for m, p in MODULES.items()
        for dep, names in _imports(m, p)
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ]
    assert crossing == []


@pytest.mark.parametrize("module", sorted(set(MODULES) - STANDALONE))
def test_modules_stay_short(module):
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module}: {lines} lines"


def test_the_sandbox_child_imports_nothing_of_gradcheck():
    for name in STANDALONE:
        assert list(_imports(name, MODULES[name])) == []
