"""Every variant bakes into a complete service of its own, lints, type-checks, migrates, and
passes its own test suite against a real database of its kind."""

import re
import tomllib
from collections import Counter
from pathlib import Path

from .variants import (
    CHOICES,
    DATABASES,
    MIGRATION_ROUND_TRIP,
    STYLE_INDEPENDENT_SLOW_MODULES,
    VARIANTS,
    Variant,
    clean_environment,
    covering_suite_args,
    require_server,
    run,
    run_baked_suite,
    runs_full_suite,
    service_test_modules,
)

# Jinja left behind; `${{ ... }}` is a GitHub Actions expression, meant to survive rendering.
RESIDUE = re.compile(r"(?<!\$)\{\{|\{%|\{#|cookiecutter\.")
ALL_CHOICES = {choice for choices in CHOICES.values() for choice in choices}
INTENTIONALLY_EMPTY = {"py.typed"}
DRIVER_REQUIREMENTS = {name for database in DATABASES.values() for name in database.requirements}


def variant_marker(name: str) -> str | None:
    """A part of a file name that names choices (`.async.`, `.postgres+mysql.`), if any."""
    for part in name.split(".")[1:-1]:
        if set(part.split("+")) <= ALL_CHOICES:
            return part
    return None


def other_database_words(database: str) -> set[str]:
    return {word for other in DATABASES.values() if other.name != database for word in other.words}


def project_files(project: Path) -> list[Path]:
    skipped = {".venv", ".mypy_cache", ".ruff_cache", ".pytest_cache", "__pycache__"}
    return [
        path
        for path in sorted(project.rglob("*"))
        if path.is_file()
        and not skipped & set(path.relative_to(project).parts)
        and path.name != "uv.lock"
    ]


def test_bakes_without_template_residue(variant: Variant, baked: Path) -> None:
    for path in project_files(baked):
        relative = path.relative_to(baked)
        assert not RESIDUE.search(str(relative)), f"[{variant.id}] residue in file name {relative}"
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), 1):
            where = f"{relative}:{number}"
            assert not RESIDUE.search(line), f"[{variant.id}] residue in {where}: {line}"


def test_contains_only_its_own_files(variant: Variant, baked: Path) -> None:
    files = {str(path.relative_to(baked)) for path in project_files(baked)}
    package = f"src/{variant.slug}"
    for name in files:
        assert not variant_marker(name), f"[{variant.id}] unpruned variant file {name}"
    for path in project_files(baked):
        if path.name not in INTENTIONALLY_EMPTY:
            assert path.read_text(encoding="utf-8").strip(), f"[{variant.id}] empty file {path}"
    assert "compose.yaml" in files, variant.id
    has_server = DATABASES[variant.database].has_server
    for server_only in (
        f"{package}/database/dead_connections.py",
        "tests/test_lost_connections.py",
    ):
        assert (server_only in files) == has_server, f"[{variant.id}] {server_only}"

    for path in project_files(baked):
        text = path.read_text(encoding="utf-8").lower()
        for word in other_database_words(variant.database):
            assert word not in text, f"[{variant.id}] {path.relative_to(baked)} mentions {word}"


def test_declares_exactly_its_own_dependencies(variant: Variant, baked: Path) -> None:
    project = tomllib.loads((baked / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = {re.split(r"[\[<>=!~ ]", requirement)[0] for requirement in project["dependencies"]}
    driver = variant.driver
    expected_drivers = {driver} & DRIVER_REQUIREMENTS
    assert names & DRIVER_REQUIREMENTS == expected_drivers, f"[{variant.id}] drivers {names}"
    asyncio_extra = any(r.startswith("sqlalchemy[asyncio]") for r in project["dependencies"])
    assert asyncio_extra == (variant.mode == "async"), f"[{variant.id}] sqlalchemy extra"
    assert project["requires-python"] == ">=3.11"


def test_follows_its_mode_and_transaction_style(variant: Variant, baked: Path) -> None:
    package = baked / "src" / variant.slug
    source = {
        path.relative_to(package).as_posix(): path.read_text(encoding="utf-8")
        for path in package.rglob("*.py")
    }
    everything = "\n".join(source.values())
    session = source["database/session.py"]
    if variant.mode == "sync":
        assert "sqlalchemy.ext.asyncio" not in everything, variant.id
        sync_modules = ("database/session.py", "items/repository.py", "items/services.py")
        for module in (*sync_modules, "items/routes.py"):
            assert not re.search(r"\bawait\b|\basync\b", source[module]), f"[{variant.id}] {module}"
        assert re.search(r"\bsessionmaker\(engine, expire_on_commit=False\b", session), variant.id
    else:
        assert "async_sessionmaker(engine, expire_on_commit=False" in session, variant.id
    services = source["items/services.py"]
    if variant.transaction_style == "flush-commit":
        assert "session.commit()" in services and "session.begin()" not in services, variant.id
    else:
        assert "session.begin()" in services and "session.commit()" not in services, variant.id
    assert "commit" not in source["items/repository.py"].replace("never commit", ""), variant.id
    assert not re.search(r"scoped_session\(|import .*scoped_session", everything), variant.id


def test_lint_and_format_clean(variant: Variant, installed: Path) -> None:
    run(variant, installed, ".venv/bin/ruff", "check", "--no-cache", ".")
    run(variant, installed, ".venv/bin/ruff", "format", "--check", "--no-cache", ".")


def test_type_checks_strictly(variant: Variant, installed: Path, mypy_cache: Path) -> None:
    run(variant, installed, ".venv/bin/mypy", env=clean_environment(MYPY_CACHE_DIR=str(mypy_cache)))


def test_migrations_upgrade_check_downgrade_and_upgrade_again(
    variant: Variant, installed: Path, fresh_database_url: str
) -> None:
    env = clean_environment(DATABASE_URL=fresh_database_url)
    run(variant, installed, *MIGRATION_ROUND_TRIP, env=env)


def test_own_test_suite_passes_on_a_real_database(variant: Variant, installed: Path) -> None:
    require_server(variant)
    # The server answers (checked above), so the suite must not skip for want of one: with CI
    # set it fails instead. A scenario a database cannot have is not in its variant at all.
    run_baked_suite(variant, installed, *covering_suite_args(variant))


def test_the_full_suites_cover_every_database_with_each_mode_and_style() -> None:
    """Each style-independent slow module runs in one variant of every database and mode, and
    of every database and style (variants.covering_suite_args)."""
    full = [variant for variant in VARIANTS if runs_full_suite(variant)]
    by_mode = Counter((variant.database, variant.mode) for variant in full)
    by_style = Counter((variant.database, variant.transaction_style) for variant in full)
    assert set(by_mode.values()) == {1} and len(by_mode) == len(DATABASES) * 2
    assert set(by_style.values()) == {1} and len(by_style) == len(DATABASES) * 2
    # A module renamed away would otherwise run nowhere but be ignored nowhere either.
    names = service_test_modules()
    for module in STYLE_INDEPENDENT_SLOW_MODULES:
        assert module in names, module
