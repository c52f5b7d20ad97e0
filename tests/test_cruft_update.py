"""A template change rolls out to an existing service with cruft, and the service still passes
the tests of what the change reaches.

A copy of the template becomes a git repository; a service is created from it with
`cruft create` and committed, with a change of its own; the template then gets a new setting
and a changed line in the session module; `cruft update` brings both into the service."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .variants import (
    TEMPLATE,
    Variant,
    clean_environment,
    require_server,
    run,
    run_baked_suite,
    uv,
)

TEMPLATE_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "*_cache", "__pycache__", "out", "uv.lock"
)
# cruft imports `examples.example` when a package named `examples` is importable, and aiomysql
# 0.3 installs a stray top-level `examples` (scripts that connect to MySQL at import). Hiding it
# makes cruft use its own no-op fallback.
CRUFT = [
    sys.executable,
    "-c",
    "import sys; sys.modules['examples'] = None\n"
    "from cruft._cli import app\n"
    "app(prog_name='cruft')",
]
SESSION_MODULE = "database/session.py"
NEW_SETTING = "    audit_log: bool = False"
NEW_DOCSTRING = '"""Engine, session factory and per-request session: their one home in the service.'
LOCAL_NOTE = "Notes of the team that owns this service: kept across template updates."

VARIANTS = [
    Variant("sqlite", "async", "flush-commit"),
    Variant("postgres", "sync", "begin-context"),
]
# What the template change reaches, run after the update: the new setting agrees with the
# README's table and .env.example (test_settings_documented), the session module whose docstring
# changed still keeps the convention (the static guard), the floors hold, and the service serves.
# These variants' whole suites run in test_variants.py, on the same code as before the update
# but for these lines.
AFTER_UPDATE = (
    "tests/test_settings_documented.py",
    "tests/test_convention_static.py",
    "tests/test_boundaries.py",
    "tests/test_items.py",
)


def git_environment() -> dict[str, str]:
    return clean_environment(
        GIT_AUTHOR_NAME="Template Tests",
        GIT_AUTHOR_EMAIL="tests@example.com",
        GIT_COMMITTER_NAME="Template Tests",
        GIT_COMMITTER_EMAIL="tests@example.com",
        GIT_CONFIG_GLOBAL="/dev/null",
    )


def git(variant: Variant, repository: Path, *arguments: str) -> str:
    command = ("git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *arguments)
    return run(variant, repository, *command, env=git_environment()).stdout.strip()


def commit_all(variant: Variant, repository: Path, message: str) -> str:
    git(variant, repository, "add", "-A")
    git(variant, repository, "commit", "-q", "-m", message)
    return git(variant, repository, "rev-parse", "HEAD")


def cruft(
    variant: Variant, directory: Path, *arguments: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    if check:
        return run(variant, directory, *CRUFT, *arguments, env=git_environment())
    return subprocess.run(
        [*CRUFT, *arguments],
        cwd=directory,
        env=git_environment(),
        capture_output=True,
        text=True,
        check=False,
    )


def change_template(template: Path) -> None:
    """A new setting, and a changed line in the session module."""
    source = template / "{{cookiecutter.project_slug}}"
    package = source / "src" / "{{cookiecutter.project_slug}}"
    settings = package / "settings.py"
    text = settings.read_text(encoding="utf-8")
    anchor = "    log_configure: bool = True\n"
    assert anchor in text
    settings.write_text(text.replace(anchor, f"{anchor}{NEW_SETTING}\n"), encoding="utf-8")
    # A setting is documented where every setting is (the service's test_settings_documented).
    example = source / ".env.example"
    example.write_text(example.read_text(encoding="utf-8") + "AUDIT_LOG=false\n", encoding="utf-8")
    readme = source / "README.md"
    row = "| `LOG_CONFIGURE` |"
    text = readme.read_text(encoding="utf-8")
    assert text.count(row) == 1
    readme.write_text(
        text.replace(row, "| `AUDIT_LOG` | `false` | log every change (an example) |\n" + row),
        encoding="utf-8",
    )
    session = package / SESSION_MODULE
    first, rest = session.read_text(encoding="utf-8").split("\n", 1)
    assert first.startswith('"""') and first != NEW_DOCSTRING
    session.write_text(f"{NEW_DOCSTRING}\n{rest}", encoding="utf-8")


@pytest.mark.parametrize(
    "variant",
    [pytest.param(v, id=v.id, marks=pytest.mark.xdist_group(f"cruft-{v.id}")) for v in VARIANTS],
)
def test_cruft_update_brings_a_template_change_into_a_service(
    variant: Variant, tmp_path: Path
) -> None:
    require_server(variant)
    template = Path(shutil.copytree(TEMPLATE, tmp_path / "template", ignore=TEMPLATE_IGNORE))
    git(variant, template, "init", "-q")
    first_version = commit_all(variant, template, "template v1")

    context = json.dumps({**variant.context, "project_slug": variant.slug})
    cruft(
        variant,
        tmp_path,
        "create",
        str(template),
        "--no-input",
        "--extra-context",
        context,
        "--output-dir",
        str(tmp_path),
    )
    service = tmp_path / variant.slug
    cruft_state = json.loads((service / ".cruft.json").read_text(encoding="utf-8"))
    assert cruft_state["commit"] == first_version, cruft_state
    assert cruft_state["context"]["cookiecutter"]["database"] == variant.database
    readme = service / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + f"\n{LOCAL_NOTE}\n", encoding="utf-8")
    git(variant, service, "init", "-q")
    commit_all(variant, service, "service created with cruft, plus a note of its own")
    cruft(variant, service, "check")

    change_template(template)
    second_version = commit_all(variant, template, "template v2: a setting, a session-module line")

    drift = cruft(variant, service, "check", check=False)
    assert drift.returncode != 0, f"[{variant.id}] cruft check missed the change\n{drift.stdout}"
    cruft(variant, service, "update", "--skip-apply-ask", "--allow-untracked-files")

    package = service / "src" / variant.slug
    assert NEW_SETTING in (package / "settings.py").read_text(encoding="utf-8"), variant.id
    assert (package / SESSION_MODULE).read_text("utf-8").startswith(NEW_DOCSTRING), variant.id
    assert "AUDIT_LOG=false" in (service / ".env.example").read_text(encoding="utf-8")
    assert LOCAL_NOTE in readme.read_text(encoding="utf-8"), f"[{variant.id}] local change lost"
    assert not list(service.rglob("*.rej")), f"[{variant.id}] the update left rejected hunks"
    cruft_state = json.loads((service / ".cruft.json").read_text(encoding="utf-8"))
    assert cruft_state["commit"] == second_version, cruft_state
    cruft(variant, service, "check")

    run(variant, service, uv(), "sync", "--quiet", "--no-progress")
    for module in AFTER_UPDATE:
        assert (service / module).is_file(), f"[{variant.id}] {module} is gone: update AFTER_UPDATE"
    run_baked_suite(variant, service, *AFTER_UPDATE, ci=False)
    run(variant, service, ".venv/bin/ruff", "check", "--no-cache", ".")
    run(variant, service, ".venv/bin/ruff", "format", "--check", "--no-cache", ".")


def test_user_config_pins_the_organisations_answers(tmp_path: Path) -> None:
    """`default_context` in the cookiecutter user config, as the README shows, decides the
    variant of `cookiecutter --no-input` and `cruft create --no-input` alike."""
    variant = Variant("postgres", "async", "begin-context")
    config = tmp_path / "cookiecutterrc"
    config.write_text(
        "default_context:\n"
        '  database: "postgres"\n'
        '  transaction_style: "begin-context"\n'
        '  author_name: "Payments Platform Team"\n',
        encoding="utf-8",
    )
    env = {**git_environment(), "COOKIECUTTER_CONFIG": str(config)}
    template = Path(shutil.copytree(TEMPLATE, tmp_path / "template", ignore=TEMPLATE_IGNORE))
    git(variant, template, "init", "-q")
    commit_all(variant, template, "template")

    made = {
        "cookiecutter": tmp_path / "by-cookiecutter",
        "cruft": tmp_path / "by-cruft",
    }
    completed = run(
        variant,
        tmp_path,
        sys.executable,
        "-m",
        "cookiecutter",
        str(template),
        "--no-input",
        "--output-dir",
        str(made["cookiecutter"]),
        env=env,
    )
    assert "(postgres, async, begin-context)" in completed.stdout, completed.stdout
    run(
        variant,
        tmp_path,
        *CRUFT,
        "create",
        str(template),
        "--no-input",
        "--output-dir",
        str(made["cruft"]),
        env=env,
    )
    for tool, output in made.items():
        service = output / "inventory_service"
        pyproject = (service / "pyproject.toml").read_text(encoding="utf-8")
        assert '"asyncpg>=' in pyproject and "Payments Platform Team" in pyproject, tool
        package = service / "src" / "inventory_service"
        services = (package / "items" / "services.py").read_text("utf-8")
        assert "async with session.begin():" in services, tool
    cruft_state = json.loads((made["cruft"] / "inventory_service" / ".cruft.json").read_text())
    assert cruft_state["context"]["cookiecutter"]["database"] == "postgres", cruft_state
