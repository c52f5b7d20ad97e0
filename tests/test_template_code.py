"""The template's own code (hooks, local extensions, tests, benchmarks) is lint and format clean."""

import subprocess
import sys

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
