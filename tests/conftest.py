"""Fixtures of the template's own suite: one baked, installed project per variant, and
databases on the real servers."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from .variants import (
    Variant,
    fresh_database,
    require_server,
    run,
    uv,
    variant_params,
)


@pytest.fixture(scope="session")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mypy cache for all variants and workers: the libraries they share are analysed once.

    mypy checks each cached module against its source's hash, so a variant's own code is
    always checked afresh.
    """
    path = tmp_path_factory.getbasetemp().parent / "mypy-cache"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session", params=variant_params())
def variant(request: pytest.FixtureRequest) -> Variant:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def baked(variant: Variant, cookies_session) -> Path:  # type: ignore[no-untyped-def]
    result = cookies_session.bake(extra_context=variant.context)
    if result.exit_code != 0:
        pytest.fail(f"[{variant.id}] bake failed: {result.exception!r}", pytrace=False)
    return Path(result.project_path)


@pytest.fixture(scope="session")
def installed(variant: Variant, baked: Path) -> Path:
    """The baked project with a fresh virtual environment made from its own pyproject.toml."""
    run(variant, baked, uv(), "sync", "--quiet", "--no-progress")
    return baked


@pytest.fixture
def fresh_database_url(variant: Variant, tmp_path: Path) -> Iterator[str]:
    """An empty database for this variant, in its own driver's URL; dropped afterwards."""
    require_server(variant)
    with fresh_database(variant, tmp_path) as url:
        yield url


# (mutation, variant, the test that caught it), as tests/test_mutations.py records them; the
# reports reach this process from every xdist worker.
CAUGHT: dict[tuple[str, str], str] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for name, value in report.user_properties:
        if name == "mutation" and report.when == "call":
            mutation, variant_id, cell = value  # type: ignore[misc]
            CAUGHT[mutation, variant_id] = cell


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if CAUGHT:
        from .mutations.harness import table

        terminalreporter.write_sep("=", "mutation matrix: the test that caught each mutation")
        terminalreporter.write_line(table(CAUGHT))
