"""A variant baked and installed for the bench, the template of another revision, its database."""

import subprocess
from pathlib import Path

from bench import BENCH, TEMPLATE
from tests.variants import Variant, bake, clean_environment, uv


def prepare(variant: Variant, workdir: Path, template: Path = TEMPLATE, name: str = "") -> Path:
    """`variant` baked from `template` into `workdir`, installed with uvloop and httptools, its
    own code compiled; the project's directory."""
    out = workdir / variant.id / name if name else workdir / variant.id
    # Compiled bytecode, as the generated Dockerfile has it (UV_COMPILE_BYTECODE=1): without it,
    # and with PYTHONDONTWRITEBYTECODE set, every start compiles every module again.
    project = bake(variant, out, template=template, compile_bytecode=True)
    pip_install(project / ".venv/bin/python", "uvloop", "httptools")
    compile_bytecode(project / ".venv/bin/python", project / "src")
    return project


def baseline_tree(revision: str, workdir: Path) -> Path:
    """The template at `revision`, exported (not a worktree: nothing is left in .git)."""
    tree = workdir / "baseline-template"
    if not tree.exists():
        tree.mkdir()
        archive = subprocess.run(
            ["git", "archive", revision], cwd=TEMPLATE, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def service_url(variant: Variant, base_url: str) -> str:
    """The service's DATABASE_URL for a fresh database of the suite's helpers."""
    return base_url + ("?charset=utf8mb4" if variant.database == "mysql" else "")


def migrate(project: Path, url: str) -> None:
    """`alembic upgrade head` of the baked service against `url`."""
    subprocess.run(
        [".venv/bin/alembic", "upgrade", "head"],
        cwd=project,
        env=clean_environment(DATABASE_URL=url),
        check=True,
        capture_output=True,
    )


def pip_install(python: Path, *requirements: str) -> None:
    """Install into the environment of `python`, compiled as the generated Dockerfile does."""
    command = [uv(), "pip", "install", "--quiet", "--compile-bytecode", "--python", str(python)]
    subprocess.run([*command, *requirements], env=clean_environment(), check=True)


def compile_bytecode(python: Path, directory: Path) -> None:
    subprocess.run([str(python), "-m", "compileall", "-q", str(directory)], check=True)


def reference_venv(workdir: Path) -> Path:
    venv = workdir / "reference-venv"
    if not venv.exists():
        env = clean_environment()
        subprocess.run([uv(), "venv", "--quiet", str(venv)], check=True, env=env)
        pip_install(venv / "bin/python", "-r", str(BENCH / "reference/requirements.txt"))
    return venv
