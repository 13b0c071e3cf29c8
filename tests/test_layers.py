"""The layering rule: core ← effects ← interface, imports flowing one way only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "nexspec"

CORE = {
    "errors",
    "diagnostics",
    "templateinfo",
    "payload",
    "redaction",
    "source",
    "schemas",
    "templating",
    "spec",
    "jobs",
    "check",
    "pack",
    "archive",
    "introspect",
    "lock",
    "plan",
    "protocol",
    "fingerprint",
    "atomicfile",
}
EFFECTS_PREFIXES = (
    "client",
    "apply",
    "tracking",
    "backend",
    "render",
    "server",
    "lockfile",
    "download",
)
INTERFACE_PREFIXES = ("commands", "views", "progress")
TOP = {"cli", "__main__"}
# Third-party modules that only some layers may touch.
FORBIDDEN_IN_CORE = {"click", "httpx", "starlette", "uvicorn", "rich", "av", "thorvg_python"}


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        found.append((".".join(parts) or "__init__", path))
    return found


def _layer(module: str) -> int:
    head = module.split(".")[0]
    if module in {"__init__"} or head in CORE:
        return 1
    if head in EFFECTS_PREFIXES:
        return 2
    if head in INTERFACE_PREFIXES:
        return 3
    if head in TOP:
        return 4
    raise AssertionError(f"module nexspec.{module} is in no layer; add it to tests/test_layers.py")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize(("module", "path"), _modules(), ids=[m for m, _ in _modules()])
def test_imports_flow_one_way(module: str, path: Path) -> None:
    own = _layer(module)
    for name in _imports(path):
        if name.startswith("nexspec.") and name.split(".")[1] not in {"__version__"}:
            target = name.removeprefix("nexspec.")
            if (
                not (PACKAGE / target.replace(".", "/")).with_suffix(".py").exists()
                and not (PACKAGE / target.replace(".", "/")).is_dir()
            ):
                continue  # an imported name, not a module
            assert _layer(target) <= own, (
                f"nexspec.{module} (layer {own}) imports {name} (layer {_layer(target)})"
            )
        if own == 1:
            assert name.split(".")[0] not in FORBIDDEN_IN_CORE, f"core module nexspec.{module} imports {name}"


@pytest.mark.parametrize(("module", "path"), _modules(), ids=[m for m, _ in _modules()])
def test_only_the_cli_imports_click(module: str, path: Path) -> None:
    if module != "cli":
        assert not any(n.split(".")[0] == "click" for n in _imports(path)), module


def test_server_and_client_never_import_each_other() -> None:
    for module, path in _modules():
        imports = _imports(path)
        if module.startswith("server"):
            assert not any(n.startswith("nexspec.client") for n in imports), module
        if module == "client":
            assert not any(n.startswith("nexspec.server") for n in imports), module


def test_every_module_imports_in_a_fresh_interpreter() -> None:
    """Import cycles show up only in a fresh interpreter, one module at a time."""
    for module, _ in _modules():
        name = "nexspec" if module == "__init__" else f"nexspec.{module}"
        if name == "nexspec.__main__":
            continue
        subprocess.run([sys.executable, "-c", f"import {name}"], check=True)
