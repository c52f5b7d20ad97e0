"""The mutation matrix: each failure mode of the session convention, as an edit of a baked
service, and the harness that applies one and runs the service's behavioural suite.

A mutation is data: its name, the failure mode it stands for, the file it edits (by its role in
the service, as the convention guard names roles), and the edit, a list of regular-expression
replacements that must each match. The behavioural suite is the service's own suite without its
static guard (`tests/test_convention.py`), so only tests that exercise the running service
count. `uv run python -m tests.mutations` prints the table of mutation x variant -> the test that
caught it (MUTATIONS.md keeps the last one).
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .variants import DATABASES, TEMPLATE, VARIANTS, Variant, clean_environment, uv

GUARD = "tests/test_convention.py"
# The quick, sharp tests first: with -x the first failure ends the run, so the matrix costs
# little more than two pytest start-ups per caught mutation. Then the whole suite.
FIRST = (
    "tests/test_session_convention.py",
    "tests/test_overload.py::test_requests_wait_for_a_database_slot_not_inside_the_pool",
    "tests/test_concurrency.py",
    "tests/test_database.py",
    "tests/test_items.py",
)
# A mutation survives if the suite passes. Each run stops at the first failure, and is bounded:
# a suite that hangs (e.g. on a lock a mutation never releases) has failed too.
SUITE_TIMEOUT = 300

Edit = tuple[str, str]
# A test's line in pytest's verbose output, when it failed.
VERDICT = re.compile(r"^(tests/\S+) (?:FAILED|ERROR)\b")


@dataclass(frozen=True)
class Mutation:
    name: str
    failure_mode: str
    # The file it edits, relative to the package: a role, as in the convention guard; one
    # starting with "/" is relative to the project (e.g. /migrations/env.py).
    role: str
    edits: tuple[Edit, ...] | dict[str, tuple[Edit, ...]]
    # The variants it applies to (default: all).
    applies: Callable[[Variant], bool] = field(default=lambda _variant: True)
    # Edits of a second file, when a failure mode spans two (e.g. commit moved out of the unit
    # of work into the session dependency).
    other_role: str | None = None
    other_edits: tuple[Edit, ...] = ()
    # Set when no behaviour can tell: why. The static guard must catch it instead.
    unobservable_because: str | None = None
    # The tests that exist to catch it, run before the others.
    caught_by: tuple[str, ...] = ()


def has_server(variant: Variant) -> bool:
    return DATABASES[variant.database].has_server


def is_postgres(variant: Variant) -> bool:
    return variant.database == "postgres"


AWAIT = r"(?:await )?"
SESSION_BLOCK = (
    r"(?P<open>    (?:async )?with session_factory\(\) as session:\n)"
    r"        try:\n"
    r"            yield session\n"
    r"        except Exception as error:\n"
    rf"            {AWAIT}session\.rollback\(\)\n"
    r"            report_rollback\(session\.info, error\)\n"
    r"            raise\n"
)

MUTATIONS = [
    Mutation(
        "no-rollback-no-close",
        "the session dependency neither rolls back nor closes: a failed transaction stays "
        "open on its connection",
        "database/session.py",
        ((SESSION_BLOCK, "    yield session_factory()\n"),),
    ),
    Mutation(
        "rollback-without-close",
        "the session dependency rolls back on error but never closes its session",
        "database/session.py",
        (
            (
                SESSION_BLOCK,
                "    session = session_factory()\n"
                "    try:\n"
                "        yield session\n"
                "    except Exception as error:\n"
                "        \\g<rollback>session.rollback()\n"
                "        report_rollback(session.info, error)\n"
                "        raise\n",
            ),
        ),
    ),
    Mutation(
        "close-without-rollback",
        "the session dependency closes its session but does not roll back on error",
        "database/session.py",
        ((SESSION_BLOCK, "\\g<open>        yield session\n"),),
        unobservable_because="close() rolls back the same transaction at the same moment; "
        "only the rollback's log line and metric can tell, and only where a test reads them: "
        "left to the guard (test_convention.py)",
    ),
    Mutation(
        "shared-session",
        "the incident: one session shared by every request, never rolled back or closed",
        "database/session.py",
        (
            (
                SESSION_BLOCK,
                "    shared = getattr(request.app.state, 'shared_session', None)\n"
                "    if shared is None:\n"
                "        shared = request.app.state.shared_session = session_factory()\n"
                "    yield shared\n",
            ),
        ),
    ),
    Mutation(
        "commit-after-response",
        "the commit moved from the unit of work into the session dependency, which runs after "
        "the response is sent",
        "*/services.py",
        {
            "flush-commit": ((rf"\n *{AWAIT}session\.commit\(\)\n", "\n"),),
            "begin-context": ((r"(?m)^( *)(?:async )?with session\.begin\(\):$", r"\1if True:"),),
        },
        other_role="database/session.py",
        other_edits=(
            (
                r"( +)yield session\n",
                r"\1yield session\n\1\g<await>session.commit()\n",
            ),
        ),
    ),
    Mutation(
        "commit-in-repository",
        "the data-access layer commits: a unit of work of several steps is no longer atomic",
        "*/repository.py",
        # In the first step of a transfer: its second step may still fail.
        (
            (
                rf"( +)({AWAIT})session\.refresh\(item, \[.quantity.\]\)\n",
                r"\1\2session.commit()\n\g<0>",
            ),
        ),
    ),
    Mutation(
        "capacity-removed",
        "no admission limit: requests wait inside the pool (and time out) instead of queueing",
        "database/session.py",
        ((r" *_slot: Annotated\[None, Depends\(database_slot\)\],\n", ""),),
    ),
    Mutation(
        "pool-settings-ignored",
        "the engine ignores the pool settings and runs on the library's defaults",
        "database/session.py",
        (
            (r" *pool_size=settings\.pool_size,\n", ""),
            (r" *max_overflow=settings\.max_overflow,\n", ""),
            (r" *pool_timeout=settings\.pool_timeout,\n", ""),
        ),
    ),
    Mutation(
        "dead-connections-kept",
        "connections the server closed are handed to requests",
        "database/dialect.py",
        ((r"( +)replace_dead_connections\(.*\)\n", r"\1pass\n"),),
        applies=has_server,
    ),
    Mutation(
        "database-error-500",
        "every database error is answered 500",
        "errors.py",
        ((r"( +)status_code = status_of\(exc\)\n", r"\1status_code = 500\n"),),
    ),
    Mutation(
        "exception-swallowed",
        "a unit of work swallows the error of its data access and reports success",
        "*/services.py",
        {
            "flush-commit": (
                (
                    rf"( +)({AWAIT})repository\.update_item\(session, item, changes\)\n",
                    r"\1try:\n\1    \2repository.update_item(session, item, changes)\n"
                    r"\1except Exception:\n\1    pass\n",
                ),
            ),
            "begin-context": (
                (
                    rf"( +)return ({AWAIT})repository\.update_item\(session, item, changes\)\n",
                    r"\1try:\n\1    return \2repository.update_item(session, item, changes)\n"
                    r"\1except Exception:\n\1    return item\n",
                ),
            ),
        },
    ),
    # The negative controls of the scale-out and observability features (issues 13 and 14).
    Mutation(
        "pooler-setting-ignored",
        "DATABASE_POOLER=pgbouncer no longer makes the driver pooler-safe: named prepared "
        "statements break behind PgBouncer in transaction mode",
        "database/dialect.py",
        ((r"dict\(POOLER_CONNECT_ARGS\)", "{}"),),
        applies=is_postgres,
        caught_by=("tests/test_pgbouncer.py",),
    ),
    Mutation(
        "migration-lock-off",
        "migrations run without the database lock: replicas starting together race",
        "/migrations/env.py",
        ((r"migration_lock\(connection, timeout\) if locked else ", ""),),
        caught_by=("tests/test_migration_lock.py",),
    ),
    Mutation(
        "timeouts-not-applied",
        "the statement and lock timeouts the database enforces are never set: a slow statement "
        "or a held lock keeps its connection and its slot",
        "database/dialect.py",
        ((r"( +)apply_timeouts\(engine, settings\)\n", r"\1pass\n"),),
        applies=has_server,
        caught_by=("tests/test_statement_timeout.py",),
    ),
    # The negative control of the deadlock answer (issue 12).
    Mutation(
        "deadlock-generic-body",
        "a deadlock's victim is answered with the generic 503 body, which does not say that "
        "the transaction was rolled back and nothing was changed",
        "errors.py",
        (
            (
                r'( +)if cause == "deadlock":\n.*\n +return error_response\(status_code, '
                r"DEADLOCK_DETAIL\)\n",
                "",
            ),
        ),
        applies=has_server,
        caught_by=("tests/test_deadlock.py",),
    ),
]


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


def bake_and_install(variant: Variant, directory: Path) -> Path:
    command = ["cookiecutter", str(TEMPLATE), "--no-input", "-o", str(directory)]
    command += [f"{key}={value}" for key, value in variant.context.items()]
    subprocess.run([sys.executable, "-m", *command], check=True, capture_output=True)
    project = directory / variant.slug
    subprocess.run([uv(), "sync", "--quiet"], cwd=project, env=clean_environment(), check=True)
    return project


def main() -> int:
    """Print the table of mutation x variant -> the test that caught it (markdown)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--variant", action="append", help="variant id (default: covering set)")
    arguments = parser.parse_args()
    from .test_mutations import COVERING_SET

    chosen = [v for v in VARIANTS if v.id in (arguments.variant or COVERING_SET)]
    caught: dict[tuple[str, str], str] = {}
    with tempfile.TemporaryDirectory() as work:
        for variant in chosen:
            installed = bake_and_install(variant, Path(work) / "baked" / variant.id)
            for mutation in MUTATIONS:
                if not mutation.applies(variant):
                    caught[mutation.name, variant.id] = "n/a"
                    continue
                runs = Path(work) / "runs" / variant.id
                runs.mkdir(parents=True, exist_ok=True)
                project = mutated_copy(mutation, variant, installed, runs)
                test = first_failure(variant, project, mutation.caught_by)
                caught[mutation.name, variant.id] = cell(test, mutation)
                print(f"{variant.id} {mutation.name}: {test}", file=sys.stderr, flush=True)
    print(table(caught))
    return 0


if __name__ == "__main__":
    sys.exit(main())
