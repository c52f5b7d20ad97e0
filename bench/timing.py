"""bench/matrix.py's library: the suite's steps for each variant, timed, variants in parallel."""

import argparse
import os
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.variants import MIGRATION_ROUND_TRIP, Variant, bake, clean_environment, fresh_database

# bake+sync: the suite's bake routine (tests.variants.bake), cookiecutter then `uv sync`.
STEPS = ("bake+sync", "lint", "type", "migrate", "test")


def timed(
    timings: dict[str, float], step: str, commands: list[list[str]], cwd: Path, env: dict[str, str]
) -> None:
    start = time.perf_counter()
    for command in commands:
        completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
        if completed.returncode != 0:
            raise RuntimeError(f"{step}: {' '.join(command)}\n{completed.stdout}{completed.stderr}")
    timings[step] = timings.get(step, 0.0) + time.perf_counter() - start


def run_variant(variant: Variant, workdir: Path) -> dict[str, float]:
    timings: dict[str, float] = {}
    env = clean_environment()
    out = workdir / variant.id
    out.mkdir()
    start = time.perf_counter()
    try:
        project = bake(variant, out)
    except subprocess.CalledProcessError as exc:
        output = b"".join(part or b"" for part in (exc.stdout, exc.stderr)).decode(errors="replace")
        raise RuntimeError(f"bake+sync: {' '.join(map(str, exc.cmd))}\n{output}") from exc
    timings["bake+sync"] = time.perf_counter() - start
    timed(
        timings,
        "lint",
        [[".venv/bin/ruff", "check", "."], [".venv/bin/ruff", "format", "--check", "."]],
        project,
        env,
    )
    mypy_env = clean_environment(MYPY_CACHE_DIR=str(workdir / "mypy-cache"))
    timed(timings, "type", [[".venv/bin/mypy"]], project, mypy_env)
    with fresh_database(variant, out) as url:
        migrate_env = clean_environment(DATABASE_URL=url)
        timed(timings, "migrate", [MIGRATION_ROUND_TRIP], project, migrate_env)
    test_env = clean_environment(CI=os.environ.get("CI", "true"))
    if variant.server_url():
        test_env["TEST_DATABASE_URL"] = variant.server_url() or ""
    timed(
        timings,
        "test",
        [[".venv/bin/python", "-m", "pytest", "-q", "-p", "no:cacheprovider"]],
        project,
        test_env,
    )
    return timings


def run_matrix(variants: list[Variant], args: argparse.Namespace) -> int:
    """Every variant, `args.jobs` at a time; prints the table of step times; 1 if any failed."""
    results: dict[str, dict[str, float] | Exception] = {}
    with tempfile.TemporaryDirectory(prefix="matrix-") as workdir:
        start = time.perf_counter()

        def job(variant: Variant) -> None:
            try:
                results[variant.id] = run_variant(variant, Path(workdir))
            except Exception as exc:  # reported in the table, the other variants go on
                results[variant.id] = exc

        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            list(pool.map(job, variants))
        wall = time.perf_counter() - start

    header = f"{'variant':<32}" + "".join(f"{step:>9}" for step in STEPS) + f"{'total':>9}"
    print(header)
    print("-" * len(header))
    failed = 0
    for variant in variants:
        result = results[variant.id]
        if isinstance(result, Exception):
            failed += 1
            print(f"{variant.id:<32} FAILED: {str(result).splitlines()[0]}")
            continue
        cells = "".join(f"{result.get(step, 0.0):>8.1f}s" for step in STEPS)
        print(f"{variant.id:<32}{cells}{sum(result.values()):>8.1f}s")
    cpu = sum(sum(r.values()) for r in results.values() if isinstance(r, dict))
    print("-" * len(header))
    print(
        f"{len(variants)} variants, {args.jobs} jobs: wall {wall:.1f}s, "
        f"sum of variant times {cpu:.1f}s, {failed} failed"
    )
    return 1 if failed else 0
