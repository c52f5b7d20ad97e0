"""The template's own code (hooks, local extensions, tests, benchmarks) is lint and format
clean, no file of its tooling outgrows its job, and its tests are only specifications."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from .variants import TEMPLATE


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_ruff_passes_on_the_template_code(command: list[str]) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "--no-cache", "."],
        cwd=TEMPLATE,
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_the_templates_python_has_no_jinja_statements() -> None:
    """Variation comes from variant files and the async->sync rewrite; in Python files Jinja
    only substitutes names and values (CONTRIBUTING.md)."""
    rendered = [*(TEMPLATE / "hooks").glob("*.py"), *TEMPLATE.glob("*cookiecutter*/**/*.py")]
    statements = [
        f"{path.relative_to(TEMPLATE)}:{number}: {line.strip()}"
        for path in sorted(rendered)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "{%" in line
    ]

    assert statements == []


# About 400 lines: past that a module of the tooling is doing more than one job (issue 21).
MAX_TOOLING_LINES = 420


def test_no_tooling_module_outgrows_its_job() -> None:
    modules = [
        path
        for folder in ("hooks", "tests", "bench")
        for path in (TEMPLATE / folder).rglob("*.py")
        if ".venv" not in path.parts
    ]
    too_long = {
        str(path.relative_to(TEMPLATE)): lines
        for path in modules
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_TOOLING_LINES
    }

    assert len(modules) > 20
    assert too_long == {}


def imported_modules(path: Path) -> list[str]:
    """The modules `path` imports from, relative ones written with their leading dots."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            found.append(base)
            if node.module is None:  # from . import test_x: the names are the modules
                found.extend(base + alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


def test_no_test_module_imports_another_test_module_or_conftest() -> None:
    """Helpers live in helper modules (variants, hook_modules, mutations, ...): a test module
    is a specification, and one that imports another couples two specifications."""
    imports = {
        f"{path.name}: {module}"
        for path in sorted((TEMPLATE / "tests").rglob("*.py"))
        for module in imported_modules(path)
        if module.rsplit(".", 1)[-1].startswith("test_") or module.rsplit(".", 1)[-1] == "conftest"
    }

    assert imports == set()


# Names issue 21 retired because they misled: one concept had three names (admission, slot,
# capacity), a module of driver calls was a "lifecycle", two functions told a status apart by a
# preposition. They stay retired in the service, its tests, the tooling and the docs.
RETIRED_NAMES = (
    "admission",
    "lifecycle",
    "driver_state",
    "domain_errors",
    "status_of",
    "status_for",
    "service_error_status",
)


def test_retired_names_do_not_come_back() -> None:
    skipped = {".venv", ".git", ".mypy_cache", ".ruff_cache", ".pytest_cache", "__pycache__"}
    files = [
        path
        for path in TEMPLATE.rglob("*")
        if path.is_file()
        and not skipped & set(path.relative_to(TEMPLATE).parts)
        and path.suffix in {".py", ".md", ".toml", ".yaml", ".ini", ".cfg", ".json", ".example"}
        and path != Path(__file__)
        and path.name != "uv.lock"
    ]
    found = {
        f"{path.relative_to(TEMPLATE)}: {name}"
        for path in files
        for name in RETIRED_NAMES
        if name in path.read_text(encoding="utf-8").lower()
    }

    assert len(files) > 100
    assert found == set()
