"""Each baked service's own convention guard (tests/test_convention.py) catches a breach of the
session convention and names the file and line of it."""

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from .variants import Variant, clean_environment

GUARD = "tests/test_convention.py"


def insert_after(path: Path, anchor: str, new_line: str) -> int:
    """Insert `new_line` after the first line containing `anchor`, indented like it; its number."""
    lines = path.read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if anchor in line)
    indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
    lines.insert(index + 1, indent + new_line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return index + 2


def append(path: Path, block: str) -> int:
    """Append a block of code; the number of its last line."""
    text = path.read_text(encoding="utf-8").rstrip("\n") + "\n\n\n" + block
    path.write_text(text, encoding="utf-8")
    return len(text.splitlines())


def commit_in_repository(variant: Variant, package: Path) -> tuple[str, int]:
    statement = "await session.commit()" if variant.mode == "async" else "session.commit()"
    return "repository.py", insert_after(package / "repository.py", "session.add(item)", statement)


def engine_in_routes(variant: Variant, package: Path) -> tuple[str, int]:
    block = 'from sqlalchemy import create_engine\n\nreport_engine = create_engine("db://")\n'
    return "routes.py", append(package / "routes.py", block)


def other_style_in_services(variant: Variant, package: Path) -> tuple[str, int]:
    anchor = "await repository.delete_item(session, item)"
    other_style = {"flush-commit": "begin", "begin-context": "commit"}[variant.transaction_style]
    statement = f"session.{other_style}()"
    if variant.mode == "sync":
        anchor = anchor.removeprefix("await ")
    else:
        statement = "await " + statement
    return "services.py", insert_after(package / "services.py", anchor, statement)


BREACHES: dict[str, Callable[[Variant, Path], tuple[str, int]]] = {
    "commit-in-repository": commit_in_repository,
    "engine-in-routes": engine_in_routes,
    "other-style-in-services": other_style_in_services,
}


def run_guard(installed: Path, project: Path) -> subprocess.CompletedProcess[str]:
    # The guard reads the source next to it, so it runs in the copy with the baked project's
    # environment; --noconftest: the guard needs no database and must not import the app.
    return subprocess.run(
        [
            str(installed / ".venv" / "bin" / "python"),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--noconftest",
            GUARD,
        ],
        cwd=project,
        env=clean_environment(),
        capture_output=True,
        text=True,
        check=False,
    )


def copy_project(installed: Path, destination: Path) -> Path:
    ignore = shutil.ignore_patterns(".venv", "*_cache", "__pycache__")
    return Path(shutil.copytree(installed, destination / installed.name, ignore=ignore))


def test_the_guard_passes_on_the_baked_service(
    variant: Variant, installed: Path, tmp_path: Path
) -> None:
    completed = run_guard(installed, copy_project(installed, tmp_path))
    assert completed.returncode == 0, f"[{variant.id}]\n{completed.stdout}{completed.stderr}"
    assert "4 passed" in completed.stdout, f"[{variant.id}] {completed.stdout}"


@pytest.mark.parametrize("breach", BREACHES)
def test_the_guard_names_the_file_and_line_of_a_breach(
    variant: Variant, installed: Path, tmp_path: Path, breach: str
) -> None:
    project = copy_project(installed, tmp_path)
    module, line = BREACHES[breach](variant, project / "src" / variant.slug)

    completed = run_guard(installed, project)

    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, f"[{variant.id}] {breach}: guard did not fail\n{output}"
    summary = completed.stdout.strip().splitlines()[-1]
    assert " failed" in summary and "error" not in summary, f"[{variant.id}] {breach}\n{output}"
    where = f"src/{variant.slug}/{module}:{line}:"
    assert where in output, f"[{variant.id}] {breach}: {where} not named\n{output}"
