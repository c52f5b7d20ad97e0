"""The mutation matrix's harness: it applies a mutation of the catalogue (catalogue.py) to a
copy of a baked, installed service, runs the copy's behavioural suite (or, for a mutation no
behaviour can tell, the original's static guard), and records the test that caught it.
"""

import importlib.util
import os
import re
import shutil
import signal
import subprocess
import threading
from pathlib import Path

from ..variants import VARIANTS, Variant, clean_environment
from .catalogue import MUTATIONS
from .model import FIRST, GUARD, Edit, Mutation

# A mutation survives if the suite passes. Each run stops at the first failure, and is bounded:
# a suite that hangs (e.g. on a lock a mutation never releases) has failed too.
SUITE_TIMEOUT = 300
# A test's line in pytest's verbose output, when it failed.
VERDICT = re.compile(r"^(tests/\S+) (?:FAILED|ERROR)\b")


def apply_edits(paths: list[Path], edits: tuple[Edit, ...], is_async: bool) -> None:
    """Apply each edit to every file it matches; each must match in at least one of them (a
    role such as */services.py names every resource's file, and an edit may be for one)."""
    sources = {path: path.read_text(encoding="utf-8") for path in paths}
    for pattern, replacement in edits:
        # Named groups a replacement may use: what the mode awaits with.
        replacement = replacement.replace(r"\g<await>", "await " if is_async else "")
        replacement = replacement.replace(r"\g<rollback>", "await " if is_async else "")
        total = 0
        for path, source in sources.items():
            sources[path], count = re.subn(pattern, replacement, source)
            total += count
        names = ", ".join(path.name for path in paths)
        assert total, f"{names}: {pattern!r} matches nothing; the mutation has drifted"
    for path, source in sources.items():
        path.write_text(source, encoding="utf-8")


def files_by_role(package: Path, role: str) -> list[Path]:
    if role.startswith("/"):
        package, role = package.parent.parent, role[1:]
    paths = sorted(package.glob(role))
    assert paths, f"no file has the role {role} in {package}"
    return paths


def mutate(mutation: Mutation, variant: Variant, project: Path) -> None:
    package = project / "src" / variant.slug
    is_async = variant.mode == "async"
    edits = mutation.edits
    if isinstance(edits, dict):
        edits = edits[variant.transaction_style]
    apply_edits(files_by_role(package, mutation.role), edits, is_async)
    if mutation.other_role:
        apply_edits(files_by_role(package, mutation.other_role), mutation.other_edits, is_async)


def mutated_copy(mutation: Mutation, variant: Variant, installed: Path, destination: Path) -> Path:
    """A copy of the installed service with the mutation applied; it shares the original's
    environment (the copy's own sources come first on the path)."""
    ignore = shutil.ignore_patterns(".venv", "*_cache", "__pycache__")
    copy = Path(shutil.copytree(installed, destination / mutation.name, ignore=ignore))
    (copy / ".venv").symlink_to(installed / ".venv")
    (copy / GUARD).unlink()
    mutate(mutation, variant, copy)
    return copy


def run_guard(project: Path) -> list[str]:
    """Run the project's guard tests in this process; the failure messages, if any.

    The guard needs only the standard library and reads the source next to it, so loading it
    from the copy checks the copy; this avoids a pytest start-up per breach.
    """
    spec = importlib.util.spec_from_file_location("convention_guard", project / GUARD)
    assert spec is not None and spec.loader is not None
    guard = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(guard)
    failures = []
    for name in dir(guard):
        if name.startswith("test_"):
            try:
                getattr(guard, name)()
            except AssertionError as failure:
                failures.append(f"{name}: {failure}")
    return failures


def first_failure(variant: Variant, project: Path, caught_by: tuple[str, ...] = ()) -> str | None:
    """Run the behavioural suite, stopping at the first failure; the failing test, or None.

    The tests meant to catch the mutation and the quick, sharp ones (FIRST) run first, in a
    pytest run of their own (pytest orders the files of one package alphabetically, whatever
    order they are given in); then the whole suite.
    """
    first = tuple(
        test for test in (*caught_by, *FIRST) if (project / test.split("::")[0]).is_file()
    )
    for tests in (first, ("tests",)):
        failure = first_failure_of(variant, project, tests)
        if failure:
            return failure
    return None


def first_failure_of(variant: Variant, project: Path, tests: tuple[str, ...]) -> str | None:
    """Run `tests` with -x; the failing test, or None.

    The output is read as it comes (verbose: one line per test): once pytest names a failed
    test the run is over, even if the mutated service would then hang the teardown (e.g. a
    thread stuck on a lock it left).
    """
    env = clean_environment(CI="true", PYTHONPATH=str(project / "src"), PYTHONUNBUFFERED="1")
    server_url = variant.server_url()
    if server_url is not None:
        env["TEST_DATABASE_URL"] = server_url
    pytest = [".venv/bin/python", "-m", "pytest", "-x", "-v", "-p", "no:cacheprovider"]
    process = subprocess.Popen(
        [*pytest, *tests],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    stop = threading.Timer(SUITE_TIMEOUT, lambda: os.killpg(process.pid, signal.SIGKILL))
    stop.start()
    failure, tail = None, []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            tail = [*tail[-20:], line]
            verdict = VERDICT.match(line)
            if verdict:
                failure = verdict[1]
                break
    finally:
        stop.cancel()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    if failure:
        return failure
    if process.returncode == 0:
        return None
    if process.returncode == -signal.SIGKILL:
        return f"the suite hung for {SUITE_TIMEOUT} s"
    return f"exit {process.returncode}: {''.join(tail)}"


def table(caught: dict[tuple[str, str], str]) -> str:
    """Markdown: a row per mutation, a column per variant, the test that caught it in each cell
    ("n/a" where it does not apply, **survived** where nothing caught it)."""
    variants = [variant.id for variant in VARIANTS if any(v == variant.id for _, v in caught)]
    lines = [
        "| mutation | failure mode | " + " | ".join(variants) + " |",
        "|---|---|" + "---|" * len(variants),
    ]
    for mutation in MUTATIONS:
        cells = " | ".join(caught.get((mutation.name, variant), "n/a") for variant in variants)
        lines.append(f"| {mutation.name} | {mutation.failure_mode} | {cells} |")
    return "\n".join(lines)


def cell(test: str | None, mutation: Mutation) -> str:
    if mutation.unobservable_because:
        return "the guard (unobservable)"
    return f"`{test.removeprefix('tests/')}`" if test else "**survived**"
