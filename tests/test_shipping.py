"""What each variant ships with: its YAML files parse, the CI workflow and compose file use the
variant's own database, image and driver URL, and the validators installable from PyPI accept
the workflow, the compose file and the Dockerfile."""

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import URL, make_url

from .variants import DATABASES, Variant

TOOLS = Path(sys.executable).parent
SKIPPED_DIRECTORIES = {".venv", ".mypy_cache", ".ruff_cache", ".pytest_cache"}


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return data


def tool(name: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TOOLS / name), *arguments], capture_output=True, text=True, check=False
    )


def driver_url(variant: Variant, url: str) -> URL:
    parsed = make_url(url)
    assert parsed.drivername == variant.url_scheme, (
        f"[{variant.id}] {url} does not use the variant's driver"
    )
    return parsed


def workflow(baked: Path) -> dict[str, Any]:
    return load(baked / ".github" / "workflows" / "ci.yml")


def test_every_yaml_file_parses(variant: Variant, baked: Path) -> None:
    found = [
        path
        for pattern in ("*.yaml", "*.yml")
        for path in baked.rglob(pattern)
        if not SKIPPED_DIRECTORIES & set(path.relative_to(baked).parts)
    ]
    names = {str(path.relative_to(baked)) for path in found}
    assert names == {"compose.yaml", ".pre-commit-config.yaml", ".github/workflows/ci.yml"}, (
        f"[{variant.id}] {names}"
    )
    for path in found:
        assert load(path), f"[{variant.id}] {path.name} is empty"


def test_workflow_uses_the_variants_database(variant: Variant, baked: Path) -> None:
    job = workflow(baked)["jobs"]["check"]
    env = job["env"]
    database_url = driver_url(variant, env["DATABASE_URL"])
    services = dict(job["services"])
    # tests/test_events.py's broker, in every variant.
    rabbitmq = services.pop("rabbitmq")
    assert rabbitmq["image"].startswith("rabbitmq:"), f"[{variant.id}] {rabbitmq['image']}"
    assert rabbitmq["ports"] == ["5672:5672"], f"[{variant.id}] {rabbitmq['ports']}"
    assert "--health-cmd" in rabbitmq["options"], f"[{variant.id}] the job must wait for the broker"
    if not DATABASES[variant.database].has_server:
        assert services == {}, f"[{variant.id}] a SQLite service needs no database server"
        assert "TEST_DATABASE_URL" not in env, variant.id
        return
    assert set(services) == {"db"}, f"[{variant.id}] {services}"
    db = services["db"]
    assert db["image"] == DATABASES[variant.database].image, f"[{variant.id}] {db['image']}"
    port = DATABASES[variant.database].port
    assert db["ports"] == [f"{port}:{port}"], f"[{variant.id}] {db['ports']}"
    assert "--health-cmd" in db["options"], f"[{variant.id}] the job must wait for the database"
    test_url = driver_url(variant, env["TEST_DATABASE_URL"])
    for url in (database_url, test_url):
        assert url.host in {"localhost", "127.0.0.1"} and url.port == port, f"[{variant.id}] {url}"
    assert database_url.database == variant.slug, f"[{variant.id}] {database_url}"
    name_variable = DATABASES[variant.database].database_variable
    assert db["env"][name_variable] == variant.slug, f"[{variant.id}] {db['env']}"


def test_workflow_lints_type_checks_migrates_tests_and_checks_drift(
    variant: Variant, baked: Path
) -> None:
    steps = workflow(baked)["jobs"]["check"]["steps"]
    commands = "\n".join(step.get("run", "") for step in steps)
    for command in (
        "uv sync --locked",
        "uv run ruff check .",
        "uv run ruff format --check .",
        "uv run mypy",
        "uv run alembic upgrade head",
        "uv run alembic check",
        "uv run pytest",
        "cruft check",
    ):
        assert command in commands, f"[{variant.id}] the workflow does not run `{command}`"
    order = [commands.index(command) for command in ("ruff check", "alembic check", "pytest")]
    assert order == sorted(order), f"[{variant.id}] lint, migrate, then test"
    (cruft,) = [step for step in steps if "cruft check" in step.get("run", "")]
    assert cruft["if"] == "${{ hashFiles('.cruft.json') != '' }}", f"[{variant.id}] {cruft}"


def test_workflow_keeps_github_expressions(variant: Variant, baked: Path) -> None:
    text = (baked / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    expressions = re.findall(r"\$\{\{.*?\}\}", text)
    assert "${{ github.workflow }}" in expressions, f"[{variant.id}] {expressions}"
    assert "${{ hashFiles('.cruft.json') != '' }}" in expressions, f"[{variant.id}]"
    # Every `${{` is closed on its line: rendering left them whole.
    for line in text.splitlines():
        assert line.count("${{") == line.count("}}"), f"[{variant.id}] {line}"


HEALTHY = {"condition": "service_healthy"}


def test_compose_runs_the_relay_and_the_worker_beside_the_app(
    variant: Variant, baked: Path
) -> None:
    """The app's image with another command, the app's settings (its identity provider too:
    never AUTH_DISABLED), after the database, the broker and the migrating app are healthy."""
    services = load(baked / "compose.yaml")["services"]
    app, rabbitmq = services["app"], services["rabbitmq"]
    assert rabbitmq["image"].startswith("rabbitmq:"), f"[{variant.id}] {rabbitmq['image']}"
    assert rabbitmq["healthcheck"]["test"] == ["CMD", "rabbitmq-diagnostics", "-q", "ping"], (
        f"[{variant.id}] {rabbitmq['healthcheck']}"
    )
    assert app["environment"]["BROKER_URL"] == "amqp://guest:guest@rabbitmq:5672/", variant.id
    waits_for = {"rabbitmq": HEALTHY, "app": HEALTHY}
    if DATABASES[variant.database].has_server:
        waits_for["db"] = HEALTHY
    for name in ("relay", "worker"):
        job = services[name]
        assert job["build"] == app["build"], f"[{variant.id}] {name}: {job}"
        assert job["command"] == ["python", "-m", variant.slug, name], f"[{variant.id}] {job}"
        assert job["environment"] == app["environment"], f"[{variant.id}] {name}"
        assert "AUTH_DISABLED" not in job["environment"], f"[{variant.id}] {name}"
        assert job["depends_on"] == waits_for, f"[{variant.id}] {name}: {job['depends_on']}"
        assert job["healthcheck"] == {"disable": True}, f"[{variant.id}] {name}: no HTTP to poll"
        assert job.get("volumes") == app.get("volumes"), f"[{variant.id}] {name}: the app's files"


def test_compose_runs_the_app_after_a_healthy_database(variant: Variant, baked: Path) -> None:
    services = load(baked / "compose.yaml")["services"]
    app = services["app"]
    assert app["build"] == ".", variant.id
    events = {"relay", "worker", "rabbitmq"}
    if not DATABASES[variant.database].has_server:
        assert set(services) == {"app"} | events, f"[{variant.id}] {set(services)}"
        assert "data:/data" in app["volumes"], f"[{variant.id}] {app}"
        dockerfile = (baked / "Dockerfile").read_text(encoding="utf-8")
        (url,) = re.findall(r'DATABASE_URL="([^"]+)"', dockerfile)
        assert driver_url(variant, url).database == f"/data/{variant.slug}.db", url
        return
    assert set(services) == {"app", "db"} | events, f"[{variant.id}] {set(services)}"
    db = services["db"]
    assert db["image"] == DATABASES[variant.database].image, f"[{variant.id}] {db['image']}"
    assert db["healthcheck"]["test"][0] == "CMD", f"[{variant.id}] {db['healthcheck']}"
    assert app["depends_on"] == {"db": {"condition": "service_healthy"}}, f"[{variant.id}] {app}"
    url = driver_url(variant, app["environment"]["DATABASE_URL"])
    assert (url.host, url.port, url.database) == (
        "db",
        DATABASES[variant.database].port,
        variant.slug,
    )


def test_dockerfile_is_multi_stage_non_root_and_migrates_then_serves(
    variant: Variant, baked: Path
) -> None:
    lines = (baked / "Dockerfile").read_text(encoding="utf-8").splitlines()
    instructions = [line.split()[0] for line in lines if line and not line.startswith(("#", " "))]
    assert instructions.count("FROM") == 2, f"[{variant.id}] {instructions}"
    assert any(line.startswith("COPY --from=builder ") for line in lines), variant.id
    (user,) = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert user.split(":")[0] not in {"root", "0"}, f"[{variant.id}] USER {user}"
    assert any("uv sync --locked --no-dev" in line for line in lines), variant.id
    (command,) = [line for line in lines if line.startswith("CMD ")]
    # Through `serve`: uvicorn, after the start-up checks have passed before any worker starts.
    serve = f"alembic upgrade head && exec python -m {variant.slug} serve"
    assert serve in command, f"[{variant.id}] {command}"


def test_pre_commit_runs_ruff_and_mypy(variant: Variant, baked: Path) -> None:
    config = load(baked / ".pre-commit-config.yaml")
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert set(hooks) == {"ruff-check", "ruff-format", "mypy"}, f"[{variant.id}] {set(hooks)}"
    assert hooks["mypy"]["entry"].endswith("mypy"), variant.id


@pytest.mark.parametrize(
    ("schema", "path"),
    [
        ("vendor.github-workflows", ".github/workflows/ci.yml"),
        ("vendor.compose-spec", "compose.yaml"),
    ],
)
def test_schema_validators_accept_the_file(
    variant: Variant, baked: Path, schema: str, path: str
) -> None:
    completed = tool("check-jsonschema", "--builtin-schema", schema, str(baked / path))
    assert completed.returncode == 0, f"[{variant.id}] {path}\n{completed.stdout}"


def test_schema_validator_rejects_a_broken_workflow(
    variant: Variant, baked: Path, tmp_path: Path
) -> None:
    """The validator is not a formality: a job without `runs-on` is refused."""
    text = (baked / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    broken = re.sub(r"^    runs-on: .*\n", "", text, count=1, flags=re.MULTILINE)
    assert broken != text, variant.id
    path = tmp_path / "ci.yml"
    path.write_text(broken, encoding="utf-8")
    completed = tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", str(path))
    assert completed.returncode == 1, f"[{variant.id}] accepted\n{completed.stdout}"


def test_hadolint_accepts_the_dockerfile(variant: Variant, baked: Path) -> None:
    completed = tool("hadolint", "--failure-threshold", "info", str(baked / "Dockerfile"))
    assert completed.returncode == 0, f"[{variant.id}]\n{completed.stdout}{completed.stderr}"
