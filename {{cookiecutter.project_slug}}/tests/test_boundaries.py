"""The package boundaries hold: the import-linter contracts in pyproject.toml (routes never
import repositories; no resource imports another resource's routes; nothing below the HTTP
layer imports routes). Run here so that the suite, and so CI, fails on a broken arrow."""

import subprocess
import sys
from pathlib import Path

from .support.project import PROJECT_ROOT


def test_the_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 broken" in result.stdout, result.stdout
