"""The house's rules: no import cycles, and imports only go down the layers
(cli -> api -> capabilities and settings -> docker, platforms -> errors, log, redact)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "buildxpy"

# The layer of each top-level part of the package: a module may import its own layer and below.
LAYERS = {
    "cli": 5,
    "api": 4,
    "__init__": 4,
    "__main__": 5,
    "builders": 3,
    "builds": 3,
    "split": 3,
    "exports": 3,
    "manifests": 3,
    "verification": 3,
    "ci": 3,
    "preflight": 3,
    "pins": 3,
    "rebuilds": 3,
    # Configuration is read beside the capabilities: its validation is theirs (platform names,
    # build inputs, buildkitd tables), and they are given what it read, never the settings.
    "settings": 3,
    "docker": 2,
    "platforms": 2,
    "errors": 1,
    "log": 1,
    "redact": 1,
    "result_model": 1,
    "file_install": 1,
    "_version": 1,
}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 50


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imported(path: Path, known: set[str], *, type_checking: bool = False) -> Iterator[str]:
    """The buildxpy modules a module imports when it runs (``type_checking``: and those it imports
    for the type checker only)."""
    tree = ast.parse(path.read_text())
    skipped = {
        id(n)
        for top in ast.walk(tree)
        if not type_checking and _type_checking_only(top)
        for n in ast.walk(top)
    }
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        else:
            continue
        for full in names:
            name = full
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name.startswith("buildxpy"):
                yield name


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    # A package's own name is what `import buildxpy.x.y` also runs; only real edges count.
    return {m: {i for i in imported(p, known) if i not in (m, "buildxpy")} for m, p in mods.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def layer(module: str) -> int:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    return LAYERS[top]


def test_every_part_of_the_package_has_a_layer() -> None:
    assert {layer(m) for m in modules()} <= set(LAYERS.values())


def test_no_import_cycles() -> None:
    assert find_cycle(graph()) is None


def test_imports_only_go_down() -> None:
    upward = [
        f"{m} imports {i}"
        for m, targets in graph().items()
        for i in sorted(targets)
        if layer(i) > layer(m) and not (m.startswith("buildxpy.cli") and i == "buildxpy.api")
    ]
    assert upward == []


# Only these read the configuration; they hand the capabilities plain values (BuildSpec, a
# builder's description, references).
READS_SETTINGS = ("buildxpy.cli", "buildxpy.api", "buildxpy.settings")


def reads_settings(module: str) -> bool:
    return module == "buildxpy" or any(
        module == part or module.startswith(part + ".") for part in READS_SETTINGS
    )


def test_only_the_command_line_and_the_api_read_the_settings() -> None:
    readers = [
        f"{m} imports {i}"
        for m, path in modules().items()
        if not reads_settings(m)
        for i in sorted(imported(path, set(modules()), type_checking=True))
        if i == "buildxpy.settings" or i.startswith("buildxpy.settings.")
    ]
    assert readers == []


def test_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=module_name)
def test_modules_and_functions_stay_small(path: Path) -> None:
    text = path.read_text()
    name = module_name(path)
    assert len(text.splitlines()) <= MAX_MODULE_LINES
    long = {
        f"{name}.{node.name}": size
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (size := (node.end_lineno or node.lineno) - node.lineno + 1) > MAX_FUNCTION_LINES
    }
    assert long == {}
