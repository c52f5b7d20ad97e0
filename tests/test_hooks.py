"""The generator refuses bad answers with one clear line and leaves nothing behind, and takes
odd but valid answers in its stride."""

import ast
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

from .variants import TEMPLATE

VALUES_OUTSIDE_THE_CHOICES = [
    ("database", "oracle"),
    ("mode", "threaded"),
    ("transaction_style", "autocommit"),
]


def bake_cli(output: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            str(TEMPLATE),
            "--no-input",
            "-o",
            str(output),
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def assert_refused(completed: subprocess.CompletedProcess[str], output: Path, field: str) -> str:
    assert completed.returncode == 1, completed.stdout + completed.stderr
    ours = [line for line in completed.stderr.splitlines() if line.startswith(f"ERROR: {field}")]
    assert len(ours) == 1, completed.stderr
    assert list(output.iterdir()) == [], "a refused generation left files behind"
    return ours[0]


@pytest.mark.parametrize(
    ("slug", "reason"),
    [
        ("Inventory", "not a valid lowercase Python package name"),
        ("2fast", "not a valid lowercase Python package name"),
        ("my-service", "not a valid lowercase Python package name"),
        ("my service", "not a valid lowercase Python package name"),
        ("café", "not a valid lowercase Python package name"),
        ("_private", "not a valid lowercase Python package name"),
        ("s" * 41, "longer than 40 characters"),
        ("class", "is a Python keyword"),
        ("match", "is a Python keyword"),
        ("fastapi", "would shadow the module 'fastapi'"),
        ("sqlalchemy", "would shadow the module 'sqlalchemy'"),
        ("alembic", "would shadow the module 'alembic'"),
        ("test", "would shadow the module 'test'"),
        ("tests", "would shadow the module 'tests'"),
        ("logging", "would shadow the module 'logging'"),
        ("asyncio", "would shadow the module 'asyncio'"),
    ],
)
def test_bad_slug_is_refused(tmp_path: Path, slug: str, reason: str) -> None:
    completed = bake_cli(tmp_path, f"project_slug={slug}")

    message = assert_refused(completed, tmp_path, "project_slug")
    assert reason in message


def test_bad_slug_message_says_what_would_be_accepted(tmp_path: Path) -> None:
    message = assert_refused(
        bake_cli(tmp_path, "project_slug=My-Service"), tmp_path, "project_slug"
    )

    assert "use lowercase letters, digits and underscores, starting with a letter" in message


@pytest.mark.parametrize("name", ["", "   ", "x" * 81, "two\nlines"])
def test_bad_project_name_is_refused(tmp_path: Path, name: str) -> None:
    completed = bake_cli(tmp_path, f"project_name={name}", "project_slug=valid_slug")

    assert_refused(completed, tmp_path, "project_name")


@pytest.mark.parametrize(("option", "value"), VALUES_OUTSIDE_THE_CHOICES)
def test_value_outside_the_choices_is_refused_on_the_command_line(
    tmp_path: Path, option: str, value: str
) -> None:
    completed = bake_cli(tmp_path, f"{option}={value}")

    # cookiecutter itself checks choice options given on the command line.
    assert completed.returncode == 1
    assert f"{value} provided for choice variable {option}" in completed.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("option", "value"), VALUES_OUTSIDE_THE_CHOICES)
def test_value_outside_the_choices_is_refused_from_a_replay_file(
    tmp_path: Path, option: str, value: str
) -> None:
    # A replay file skips cookiecutter's own checks, so the pre-generation hook must catch it.
    replay_dir, first, second = tmp_path / "replay", tmp_path / "first", tmp_path / "second"
    second.mkdir()
    config = tmp_path / "config.yaml"
    config.write_text(f"replay_dir: {replay_dir}\n", encoding="utf-8")
    cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(first), config_file=str(config))
    replay_file = next(replay_dir.glob("*.json"))
    replay = json.loads(replay_file.read_text(encoding="utf-8"))
    replay["cookiecutter"][option] = value
    replay_file.write_text(json.dumps(replay), encoding="utf-8")

    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            str(TEMPLATE),
            "--replay-file",
            str(replay_file),
            "-o",
            str(second),
        ],
        capture_output=True,
        text=True,
        check=False,
    )

    message = assert_refused(completed, second, option)
    assert f"{value!r} is not one of the choices" in message


def test_odd_but_valid_answers_give_a_working_project(tmp_path: Path) -> None:
    author = "Seán O'Brien \"Bob\" d'Arc"
    description = 'Orders, "quoted" and back\\slashed; façade.'
    completed = bake_cli(
        tmp_path,
        "project_name=Café Orders-2",
        f"author_name={author}",
        f"description={description}",
    )

    assert completed.returncode == 0, completed.stderr
    project = tmp_path / "cafe_orders_2"
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["name"] == "cafe-orders-2"
    assert pyproject["project"]["authors"][0]["name"] == author
    assert pyproject["project"]["description"] == description
    main = (project / "src" / "cafe_orders_2" / "main.py").read_text(encoding="utf-8")
    titles = [
        keyword.value.value
        for node in ast.walk(ast.parse(main))
        if isinstance(node, ast.Call)
        for keyword in node.keywords
        if keyword.arg == "title" and isinstance(keyword.value, ast.Constant)
    ]
    assert titles == ["Café Orders-2"]
    for command in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        lint = subprocess.run(
            [sys.executable, "-m", "ruff", *command], cwd=project, capture_output=True, text=True
        )
        assert lint.returncode == 0, lint.stdout + lint.stderr


def test_a_project_name_with_quotes_is_a_valid_python_title(tmp_path: Path) -> None:
    completed = bake_cli(tmp_path, 'project_name=The "Best" Shop', "project_slug=best_shop")

    assert completed.returncode == 0, completed.stderr
    main = tmp_path / "best_shop" / "src" / "best_shop" / "main.py"
    assert """title='The "Best" Shop'""" in main.read_text(encoding="utf-8")
    ast.parse(main.read_text(encoding="utf-8"))


def test_generation_is_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for output in (first, second):
        output.mkdir()
        assert bake_cli(output, "database=mysql", "mode=sync").returncode == 0

    def snapshot(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    assert snapshot(first) == snapshot(second)


def test_interactive_answers_choose_the_variant(tmp_path: Path) -> None:
    # name, slug (default), description, author, e-mail, then database 2 (postgres),
    # mode 2 (sync), transaction style 2 (begin-context).
    answers = "Billing API\n\n\n\n\n2\n2\n2\n"

    completed = subprocess.run(
        [sys.executable, "-m", "cookiecutter", str(TEMPLATE), "-o", str(tmp_path)],
        input=answers,
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    project = tmp_path / "billing_api"
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert any(dep.startswith("psycopg") for dep in pyproject["project"]["dependencies"])
    services = (project / "src" / "billing_api" / "items" / "services.py").read_text("utf-8")
    assert "with session.begin():" in services
    assert "async def" not in services
