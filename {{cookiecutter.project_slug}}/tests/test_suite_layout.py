"""The suite's layout: test modules hold specifications, `support/` holds the harness.

No test module imports another test module or `conftest.py`, and neither does the harness:
what two modules share belongs in `support/`, and a fixture of `conftest.py` reaches every test
without an import. A test module that imports another also collects its tests, and reads as if
it depended on them. These tests read the suite's own source with `ast`.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

from .support.project import PROJECT_ROOT

TESTS = PROJECT_ROOT / "tests"


def suite_modules() -> list[Path]:
    """Every test module, `conftest.py` and every module of the harness."""
    return sorted(
        [*TESTS.glob("test_*.py"), TESTS / "conftest.py", *(TESTS / "support").glob("*.py")]
    )


def imported_names(source: str) -> Iterator[tuple[int, str]]:
    """Every module an import statement names, as written (`.support.helpers`,
    `tests.test_items`), with its line; `from . import x` names `.x`."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            if node.module is None:
                for alias in node.names:
                    yield node.lineno, base + alias.name
            else:
                yield node.lineno, base
                if node.module == "tests":
                    for alias in node.names:
                        yield node.lineno, f"tests.{alias.name}"


def is_test_module_or_conftest(name: str) -> bool:
    """`tests.test_*`, `.test_*`, `conftest`, `.conftest` (at any depth of `tests`)."""
    parts = name.lstrip(".").split(".")
    if parts[0] == "tests":
        parts = parts[1:]
    return bool(parts) and (parts[0].startswith("test_") or parts[0] == "conftest")


def test_no_module_of_the_suite_imports_a_test_module_or_conftest() -> None:
    offenders = [
        f"  {path.relative_to(PROJECT_ROOT).as_posix()}:{line}: imports {name}"
        for path in suite_modules()
        for line, name in imported_names(path.read_text(encoding="utf-8"))
        if is_test_module_or_conftest(name)
    ]
    assert not offenders, "\n".join(
        [
            "a test module imports another test module or conftest.py; move what they share "
            "to tests/support/ (a fixture to conftest.py):",
            *offenders,
        ]
    )


def test_the_layout_check_sees_imports() -> None:
    """The check above reads real imports: each forbidden form is found, and the harness's
    own imports are not."""
    forbidden = (
        "from .test_items import create\n"
        "from . import test_concurrency\n"
        "from .conftest import PROJECT_ROOT\n"
        "from tests import conftest\n"
        "import tests.test_orders\n"
        "from tests.test_logs import captured\n"
    )
    allowed = (
        "from .support.helpers import create\n"
        "from . import support\n"
        "from tests.support.pgbouncer import running_pgbouncer\n"
        "import pytest\n"
    )

    found = [name for _, name in imported_names(forbidden) if is_test_module_or_conftest(name)]
    assert len(found) == 6, found
    assert not [name for _, name in imported_names(allowed) if is_test_module_or_conftest(name)]
    assert len(suite_modules()) > 10
