"""The layout holds: one import name, no import cycles, and imports that point down only.

``pytest tests/test_architecture.py`` walks every import statement of the installed package
(inside functions and ``TYPE_CHECKING`` blocks too) and checks them against the layers of
``../shared/ARCHITECTURE.md``; a failure names the modules to look at.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SOURCE_ROOTS = {"jobmodule": REPO / "client"} | {
    f"jobmodule.{name}": REPO / name for name in ("activities", "workflows")
}
"""Where each installed package's files live (pyproject.toml's package-dir)."""

LAYERS: list[tuple[str, ...]] = [
    ("jobmodule.activities",),
    ("jobmodule.workflows",),
    (
        "jobmodule.errors",
        "jobmodule.shutdown",
        "jobmodule.settings",
        "jobmodule.sync",
        "jobmodule.durations",
        "jobmodule.payloads",
        "jobmodule.rpc",
        "jobmodule.visibility",
        "jobmodule.batch_operations",
        "jobmodule.connection",
        "jobmodule.tracing",
    ),
    ("jobmodule.batches",),
    ("jobmodule.jobs",),
    ("jobmodule.failures", "jobmodule.schedules", "jobmodule.monitoring"),
    ("jobmodule.notifications",),
    ("jobmodule.worker",),
    ("jobmodule.dashboard",),
    ("jobmodule.dev",),
    ("jobmodule.cli",),
]
"""Lowest first. A module may import its own layer and the ones below, never one above."""

OUTSIDE = ("worker", "app", "examples", "tests", "bench", "client", "activities", "workflows")
"""Top-level names of the checkout that the installed package must never import."""


def module_files() -> dict[str, Path]:
    """Every module of the installed package, by its import name."""
    modules: dict[str, Path] = {}
    for package, root in SOURCE_ROOTS.items():
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join((package, *parts))] = path
    return modules


MODULES = module_files()


def imported_names(path: Path, module: str) -> Iterator[tuple[str, int]]:
    """``(imported module, line)`` for every import statement in a file."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield (submodule if submodule in MODULES else base), node.lineno


def edges() -> dict[str, set[str]]:
    """Which of our modules each of our modules imports."""
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for module, path in MODULES.items():
        for name, _ in imported_names(path, module):
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != module:
                graph[module].add(name)
    return graph


def layer_of(module: str) -> int | None:
    for rank, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    return None


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_another_that_imports_it_back() -> None:
    assert cycles(edges()) == []


def test_every_module_belongs_to_a_layer() -> None:
    assert [m for m in MODULES if m != "jobmodule" and layer_of(m) is None] == []


def test_imports_point_down_the_layers_only() -> None:
    upward = [
        f"{module} (layer {layer_of(module)}) imports {target} (layer {layer_of(target)})"
        for module, targets in edges().items()
        for target in targets
        if module != "jobmodule" and (layer_of(target) or 0) > (layer_of(module) or 0)
    ]
    assert upward == []


def test_nothing_inside_imports_the_public_facade_or_the_checkout() -> None:
    """``jobmodule/__init__`` re-exports everything, so importing it from inside is a cycle."""
    wrong = [
        f"{module}:{line} imports {name}"
        for module, path in MODULES.items()
        for name, line in imported_names(path, module)
        if name == "jobmodule" or name.split(".")[0] in OUTSIDE
    ]
    assert wrong == []


def test_every_package_folder_is_installed() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    listed = set(pyproject["tool"]["setuptools"]["packages"])
    folders = {name for name, path in MODULES.items() if path.name == "__init__.py"}
    assert folders == listed


@pytest.mark.parametrize("name", OUTSIDE)
def test_the_checkout_folders_are_not_importable_outside_it(name: str, tmp_path: Path) -> None:
    command = [sys.executable, "-c", f"import {name}"]
    run = subprocess.run(command, cwd=tmp_path, capture_output=True)
    assert run.returncode != 0 and b"ModuleNotFoundError" in run.stderr


def test_jobmodule_imports_outside_the_checkout(tmp_path: Path) -> None:
    code = "import jobmodule, jobmodule.cli.main, jobmodule.worker; print(jobmodule.Job.__name__)"
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert (run.returncode, run.stdout.strip()) == (0, "Job")


def test_the_wheel_holds_only_the_jobmodule_package(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path), str(REPO)],
        check=True, capture_output=True,
    )  # fmt: skip
    [wheel] = tmp_path.glob("jobmodule-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"jobmodule"}
    assert "jobmodule/activities/job.py" in names and "jobmodule/workflows/job.py" in names
    assert not any(name.startswith(("jobmodule/app", "jobmodule/examples")) for name in names)
    # The dashboard's templates and assets ship inside the package: it works offline.
    for asset in (
        "templates/base.html",
        "static/dashboard.css",
        "static/dashboard.js",
        "static/vendor/htmx.min.js",
        "static/vendor/uPlot.iife.min.js",
        "static/vendor/README.md",
    ):
        assert f"jobmodule/dashboard/{asset}" in names, asset
