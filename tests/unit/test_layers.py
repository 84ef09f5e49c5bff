"""The packages import only downwards: controller -> service interface -> implementation ->
repository -> database, with entities, schemas, errors and security below the services.

The letters of the fixed top-level packages are their layers: a module may import its own
package and those with an earlier letter, never a later one. Only the controllers
(I_ControllerPackage) and the error types' HTTP mapping (D_CustomExceptionPackage's handlers)
speak FastAPI or Starlette.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = sorted(path.name for path in PROJECT_ROOT.glob("[A-I]_*Package") if path.is_dir())
WEB_FRAMEWORKS = ("fastapi", "starlette")
MAY_SPEAK_HTTP = ("I_ControllerPackage", "D_CustomExceptionPackage.login_custom_exception_handling")


def imported_modules(source: Path) -> Iterator[tuple[int, str]]:
    """Every module a file imports, at any depth (function-level imports included)."""
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module


def module_name(source: Path) -> str:
    return ".".join(source.relative_to(PROJECT_ROOT).with_suffix("").parts)


def upward_imports(package: str) -> list[str]:
    found: list[str] = []
    for source in sorted((PROJECT_ROOT / package).rglob("*.py")):
        for line, module in imported_modules(source):
            top = module.split(".", 1)[0]
            if top in PACKAGES and top > package:
                found.append(f"{source.relative_to(PROJECT_ROOT)}:{line} imports {module}")
    return found


def test_the_nine_packages_are_there() -> None:
    assert [name[0] for name in PACKAGES] == list("ABCDEFGHI")


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_runs_back_up_the_layers(package: str) -> None:
    assert upward_imports(package) == []


def test_only_the_controllers_and_the_error_mapping_speak_http() -> None:
    speakers: list[str] = []
    for package in PACKAGES:
        for source in sorted((PROJECT_ROOT / package).rglob("*.py")):
            name = module_name(source)
            if name.startswith(MAY_SPEAK_HTTP):
                continue
            speakers.extend(
                f"{name}:{line} imports {module}"
                for line, module in imported_modules(source)
                if module.split(".", 1)[0] in WEB_FRAMEWORKS
            )
    assert speakers == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The walk finds imports inside functions too, so the test above can fail."""
    source = tmp_path / "sample.py"
    source.write_text(
        "import os\n\ndef later() -> None:\n    from I_ControllerPackage import app_factory\n",
        encoding="utf-8",
    )
    assert [module for _, module in imported_modules(source)] == [
        "os",
        "I_ControllerPackage",
    ]
