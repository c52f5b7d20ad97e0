"""The post-generation hook prints the next steps of that variant: install, start the database
when it has a server, migrate, run, test; each refers to something the baked service has."""

import re
import subprocess
import sys
from pathlib import Path

import yaml

from .variants import DATABASES, TEMPLATE, Variant, clean_environment


def next_steps(variant: Variant, output: Path) -> list[str]:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            str(TEMPLATE),
            "--no-input",
            "--output-dir",
            str(output),
            *(f"{key}={value}" for key, value in variant.context.items()),
            f"project_slug={variant.slug}",
        ],
        env=clean_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, f"[{variant.id}] {completed.stdout}{completed.stderr}"
    heading = f"Created {variant.slug} ({variant.database}, {variant.mode}, "
    heading += f"{variant.transaction_style}). Next steps:"
    lines = completed.stdout.splitlines()
    assert heading in lines, f"[{variant.id}] {completed.stdout}"
    steps = lines[lines.index(heading) + 1 :]
    return [re.sub(r"\s+#.*", "", step).strip() for step in steps if step.strip()]


def test_next_steps_fit_the_variant(variant: Variant, tmp_path: Path) -> None:
    steps = next_steps(variant, tmp_path)

    expected = [f"cd {variant.slug}", "uv sync"]
    if DATABASES[variant.database].has_server:
        expected.append("docker compose up -d db")
    expected += [
        "uv run alembic upgrade head",
        "echo AUTH_DISABLED=true >> .env",
        f"uv run uvicorn {variant.slug}.main:app --reload",
        "uv run pytest",
        "docker compose up --build",
    ]
    assert steps == expected, f"[{variant.id}] {steps}"

    project = tmp_path / variant.slug
    services = yaml.safe_load((project / "compose.yaml").read_text(encoding="utf-8"))["services"]
    assert ("db" in services) == DATABASES[variant.database].has_server, (
        f"[{variant.id}] {services}"
    )
    main = project / "src" / variant.slug / "main.py"
    assert re.search(r"^app = ", main.read_text(encoding="utf-8"), re.MULTILINE), variant.id
    assert (project / "alembic.ini").is_file(), variant.id
