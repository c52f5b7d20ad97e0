"""The package boundaries hold: the import-linter contracts in pyproject.toml (floors point one
way, and every module is on one; routes never import repositories; no resource imports another
resource's routes; nothing below the HTTP layer imports routes). Run here so that the suite,
and so CI, fails on a broken arrow."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .support.project import PROJECT_ROOT

PACKAGE = "{{ cookiecutter.project_slug }}"


def lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports on `project`'s pyproject.toml, reading the package from its `src/`."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(project / "src")},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_import_contracts_are_kept() -> None:
    result = lint_imports(PROJECT_ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 broken" in result.stdout, result.stdout


def test_a_module_on_no_floor_breaks_the_floors_contract(tmp_path: Path) -> None:
    """The floors contract is exhaustive: a new module of the package, importing nothing,
    breaks it until it is given a floor (the negative control of `exhaustive = true`)."""
    shutil.copytree(PROJECT_ROOT / "src", tmp_path / "src")
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "src" / PACKAGE / "stray.py").write_text('"""On no floor yet."""\n')

    result = lint_imports(tmp_path)

    assert result.returncode != 0, result.stdout
    assert f"{PACKAGE}.stray" in result.stdout, result.stdout
