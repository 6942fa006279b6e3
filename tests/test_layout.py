"""The package's rooms: imports point one way, no module grows past 400 lines, no module takes
another's private name, and notebooks import only the rooms' public packages."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "support_analytics"
NOTEBOOKS = PACKAGE.parent / "notebooks"
MAX_LINES = 400

#: Rooms from the bottom up: a module may import from its own room and the ones below it.
#: ``base`` is what everything shares; ``wiring`` (simulate, pipeline, cli) sits on top.
ROOMS = ("base", "io", "etl", "report", "wiring")
BASE = {"__init__", "schema", "config", "errors", "progress"}
WIRING = {"simulate", "pipeline", "cli", "cli_planning", "__main__"}


def room_of(module: str) -> str:
    """The room of a dotted module name under support_analytics."""
    parts = module.split(".")
    if parts[0] != "support_analytics":
        raise ValueError(module)
    if len(parts) == 1:
        return "base"
    top = parts[1]
    if top in ("io", "etl", "report"):
        return top
    if top in WIRING:
        return "wiring"
    if top in BASE:
        return "base"
    raise AssertionError(f"support_analytics.{top} is in no room: add it to tests/test_layout.py")


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        found.append((".".join(parts), path))
    return found


def _imports(module: str, path: Path) -> list[tuple[str, list[str], int]]:
    """(imported module, names taken from it, line) for every support_analytics import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_pkg else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            out.append((base, [a.name for a in node.names], node.lineno))
    return [(m, names, line) for m, names, line in out if m.split(".")[0] == "support_analytics"]


MODULES = _modules()


def test_every_module_is_in_a_room() -> None:
    for module, _ in MODULES:
        room_of(module)


@pytest.mark.parametrize("module,path", MODULES, ids=[m for m, _ in MODULES])
def test_imports_point_down(module: str, path: Path) -> None:
    mine = ROOMS.index(room_of(module))
    for target, names, line in _imports(module, path):
        # `from support_analytics import X` takes the submodule X when X is one
        targets = [target]
        if target == "support_analytics":
            targets = [
                f"support_analytics.{n}"
                for n in names
                if (PACKAGE / n).exists() or (PACKAGE / f"{n}.py").exists()
            ] or [target]
        for t in targets:
            theirs = ROOMS.index(room_of(t))
            assert theirs <= mine, (
                f"{path.relative_to(PACKAGE.parent)}:{line}: {module} ({ROOMS[mine]}) imports "
                f"{t} ({ROOMS[theirs]}), a room above it"
            )


@pytest.mark.parametrize("module,path", MODULES, ids=[m for m, _ in MODULES])
def test_no_module_takes_another_modules_private_name(module: str, path: Path) -> None:
    for _target, names, line in _imports(module, path):
        private = [n for n in names if n.startswith("_") and not n.startswith("__")]
        assert not private, f"{path.relative_to(PACKAGE.parent)}:{line}: imports {private}"


@pytest.mark.parametrize("module,path", MODULES, ids=[m for m, _ in MODULES])
def test_no_module_passes_400_lines(module: str, path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, (
        f"{path.relative_to(PACKAGE.parent)} has {lines} lines (at most {MAX_LINES}): split it "
        "by concern"
    )


def test_notebooks_import_only_the_public_packages() -> None:
    allowed = {"support_analytics.report", "support_analytics.etl"}
    for nb_path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            try:
                tree = ast.parse(source)
            except SyntaxError:  # a magic line; not an import
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "support_analytics"
                ):
                    assert node.module in allowed, f"{nb_path.name}: imports {node.module}"
                elif isinstance(node, ast.Import):
                    for alias in node.names:
                        assert not alias.name.startswith("support_analytics"), (
                            f"{nb_path.name}: imports {alias.name}"
                        )


def test_the_checks_catch_an_upward_import(tmp_path: Path) -> None:
    """The room check itself: an io module importing the report is refused."""
    bad = tmp_path / "files.py"
    bad.write_text("from support_analytics.report import metrics\n")
    ((target, names, _),) = _imports("support_analytics.io.files", bad)
    assert ROOMS.index(room_of(target)) > ROOMS.index(room_of("support_analytics.io.files"))
