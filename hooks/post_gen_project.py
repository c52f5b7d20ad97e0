"""Shape the rendered project into the chosen variant, then print the next steps.

1. Variant files. A file named `name.<choices>.ext` belongs to the variants that chose one of
   <choices>: there it becomes `name.ext`; elsewhere it is removed. <choices> is one choice
   (`env.async.py`, `compose.mysql.yaml`) or several of one option joined by `+`
   (`tcp_proxy.postgres+mysql.py`: every database with a server); a name may carry one such
   part per option (`driver.postgres.sync.py`).
2. Sync mode. The modules matching SYNC_FROM_ASYNC (in the package) and SYNC_FROM_ASYNC_IN_PROJECT
   (beside it: the migration environment) are written once, in async form; for a sync
   service they are rewritten mechanically (as `unasync` does for httpcore and redis-py):
   `async def` -> `def`, `await x` -> `x`, AsyncSession -> Session, and the imports to match.
   `python hooks/post_gen_project.py --check` (and the template's suite) fails when a rule
   no longer matches anything in the template's async sources.

Everything here is a function of its arguments, so the template's suite imports and tests it;
only the `__main__` block reads the rendered cookiecutter context. Standard library only:
generation needs no network and no package beyond cookiecutter.
"""

import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

# Modules written in async form, by their role, relative to the package: the database module
# that creates engines and sessions, and every resource's data access, units of work and routes.
SYNC_FROM_ASYNC = (
    "database/session.py",
    "*/repository.py",
    "*/services.py",
    "*/routes.py",
    # The idempotency keys' claim, which units of work call in their transaction, and the
    # command line's units of work outside requests.
    "idempotency/claims.py",
    "commands.py",
    # The events' relay and worker (around messaging/broker.<mode>.py, the one module written
    # per mode), and the handlers they run.
    "outbox/relay.py",
    "inbox/worker.py",
    "*/handlers.py",
)
# Modules outside the package, relative to the project: Alembic's environment, which migrates
# through the service's own engine.
SYNC_FROM_ASYNC_IN_PROJECT = ("migrations/env.py",)
LINE_LENGTH = 100

# name in async code -> (module it is imported from in sync code, name in sync code)
SYNC_NAMES = {
    "AsyncEngine": ("sqlalchemy", "Engine"),
    "AsyncSession": ("sqlalchemy.orm", "Session"),
    "async_sessionmaker": ("sqlalchemy.orm", "sessionmaker"),
    "create_async_engine": ("sqlalchemy", "create_engine"),
    "AsyncIterator": ("collections.abc", "Iterator"),
    "asynccontextmanager": ("contextlib", "contextmanager"),
}
ASYNC_ONLY_MODULES = {"sqlalchemy.ext.asyncio"}
SYNC_STATEMENTS = {
    "async def/with/for": (re.compile(r"\basync (def|with|for) "), r"\1 "),
    "await": (re.compile(r"\bawait "), ""),
    ".sync_engine": (re.compile(r"\.sync_engine\b"), ""),
    # An async engine's connection runs sync code (Alembic's) through run_sync; a sync one
    # calls it directly.
    ".run_sync": (re.compile(r"\b(\w+)\.run_sync\((\w+)\)"), r"\2(\1)"),
    # The event loop that an async script starts at its entry point.
    "asyncio.run": (re.compile(r"\basyncio\.run\((.*)\)$", re.MULTILINE), r"\1"),
    "import asyncio": (re.compile(r"^import asyncio\n", re.MULTILINE), ""),
}
FROM_IMPORT = re.compile(r"^from ([\w.]+) import (?:\(\n((?:    .*\n)+)\)|(.*))\n", re.MULTILINE)


# --- 1. Variant files -------------------------------------------------------------------------


def variant_name(
    name: str, chosen: Mapping[str, str], choices: Mapping[str, Sequence[str]]
) -> str | None:
    """The name a template file takes in the chosen variant, or None if it is not part of it.

    A file without variant markers keeps its name. A marker naming a choice that no option
    offers is left alone, so `.env.example` and `py.typed` are never mistaken for markers.
    """
    option_of = {choice: option for option, values in choices.items() for choice in values}
    parts = name.split(".")
    kept = [parts[0]]
    for part in parts[1:-1]:
        marked = part.split("+")
        options = {option_of.get(choice) for choice in marked}
        option = options.pop() if len(options) == 1 else None
        if option is None:
            kept.append(part)
        elif chosen[option] not in marked:
            return None
    return ".".join([*kept, parts[-1]]) if len(parts) > 1 else name


def select_variant_files(
    root: Path, chosen: Mapping[str, str], choices: Mapping[str, Sequence[str]]
) -> None:
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        name = variant_name(path.name, chosen, choices)
        if name is None:
            path.unlink()
        elif name != path.name:
            path.rename(path.with_name(name))


# --- 2. Sync mode -----------------------------------------------------------------------------


def member_sort_key(name: str) -> tuple[int, str]:
    # isort's order-by-type, as ruff applies it: CONSTANTS, then Classes, then functions.
    if name.isupper() and len(name) > 1:
        return (0, name.lower())
    return (1 if name[0].isupper() else 2, name.lower())


def format_from_import(module: str, names: list[str]) -> str:
    names = sorted(set(names), key=member_sort_key)
    line = f"from {module} import {', '.join(names)}"
    if len(line) <= LINE_LENGTH:
        return line + "\n"
    return f"from {module} import (\n" + "".join(f"    {name},\n" for name in names) + ")\n"


def rewrite_imports(source: str) -> str:
    """Move async names to their sync modules, keeping ruff's isort order.

    A run of adjacent `from` imports is one isort section; a run with a moved name is rebuilt
    in module order, with the async-only modules gone.
    """
    statements = list(FROM_IMPORT.finditer(source))
    runs: list[list[re.Match[str]]] = []
    for match in statements:
        if runs and runs[-1][-1].end() == match.start():
            runs[-1].append(match)
        else:
            runs.append([match])
    output, position = [], 0
    for run in runs:
        imports: dict[str, list[str]] = {}
        moved = False
        for match in run:
            # Split on commas only: "main as uvicorn_command" is one name.
            for name in (part.strip() for part in (match[2] or match[3]).split(",")):
                if name:
                    module, sync_name = SYNC_NAMES.get(name, (match[1], name))
                    moved |= name in SYNC_NAMES
                    imports.setdefault(module, []).append(sync_name)
        if not moved:
            continue
        output.append(source[position : run[0].start()])
        position = run[-1].end()
        for module in sorted(set(imports) - ASYNC_ONLY_MODULES, key=str.lower):
            output.append(format_from_import(module, imports[module]))
    output.append(source[position:])
    return "".join(output)


def to_sync(source: str, matched: Counter[str] | None = None) -> str:
    """The sync form of an async module. `matched` counts how often each rule applied."""
    matched = Counter() if matched is None else matched
    source = rewrite_imports(source)
    for name, (_, sync_name) in SYNC_NAMES.items():
        source, count = re.subn(rf"\b{name}\b", sync_name, source)
        matched[name] += count
    for rule, (pattern, replacement) in SYNC_STATEMENTS.items():
        source, count = pattern.subn(replacement, source)
        matched[rule] += count
    return source


def modules_to_make_sync(package: Path) -> list[Path]:
    return sorted({path for pattern in SYNC_FROM_ASYNC for path in package.glob(pattern)})


def make_sync(package: Path) -> Counter[str]:
    """Rewrite the async modules of a generated package, and those beside it in its project,
    in place; how often each rule applied."""
    matched: Counter[str] = Counter()
    project = package.parent.parent
    outside = [path for pattern in SYNC_FROM_ASYNC_IN_PROJECT for path in project.glob(pattern)]
    for path in [*modules_to_make_sync(package), *outside]:
        path.write_text(to_sync(path.read_text(encoding="utf-8"), matched), encoding="utf-8")
    return matched


def unmatched_rules(sources: Iterable[str]) -> list[str]:
    """The rules that change nothing in any of `sources`: dead, or no longer matching the
    code they were written for. Either way the transformation has drifted from the code."""
    matched: Counter[str] = Counter()
    for source in sources:
        to_sync(source, matched)
    return [rule for rule in [*SYNC_NAMES, *SYNC_STATEMENTS] if not matched[rule]]


def template_async_sources(template: Path) -> list[str]:
    """The template's async sources of the modules a sync variant rewrites (every variant file
    of them: e.g. both transaction styles' services)."""
    # The template's project directory, found without writing its name: this file is rendered.
    project = next(template.glob("*cookiecutter.project_slug*"))
    package = next((project / "src").glob("*cookiecutter.project_slug*"))
    paths: set[Path] = set()
    for root, patterns in ((package, SYNC_FROM_ASYNC), (project, SYNC_FROM_ASYNC_IN_PROJECT)):
        for pattern in patterns:
            stem, suffix = pattern.rsplit(".", 1)
            paths.update(root.glob(f"{stem}.{suffix}"))
            paths.update(root.glob(f"{stem}.*.{suffix}"))
    return [path.read_text(encoding="utf-8") for path in sorted(paths)]


def check(template: Path) -> int:
    """Check mode: every rule still matches the template's async sources."""
    unmatched = unmatched_rules(template_async_sources(template))
    for rule in unmatched:
        print(f"ERROR: the sync rule {rule!r} matches no async source", file=sys.stderr)
    return 1 if unmatched else 0


# --- 3. Next steps ----------------------------------------------------------------------------


def next_steps(context: Mapping[str, str]) -> str:
    slug = context["project_slug"]
    steps = [
        (f"cd {slug}", ""),
        ("uv sync", "install; commit the uv.lock it writes"),
    ]
    if context["database"] != "sqlite":
        label = context["__database_label"]
        steps.append(("docker compose up -d db", f"start {label} (or set DATABASE_URL)"))
    steps += [
        ("uv run alembic upgrade head", "migrate"),
        ("echo AUTH_DISABLED=true >> .env", "local trial only: no identity provider yet"),
        (f"uv run uvicorn {slug}.main:app --reload", "run: http://127.0.0.1:8000/docs"),
        ("uv run pytest", "test"),
        ("docker compose up --build", "or run it in containers (README: Deploy)"),
    ]
    width = max(len(command) for command, _ in steps)
    lines = [
        f"\nCreated {slug} ({context['database']}, {context['mode']}, "
        f"{context['transaction_style']}). Next steps:"
    ]
    for command, comment in steps:
        lines.append(f"  {command:<{width}}   # {comment}" if comment else f"  {command}")
    return "\n".join(lines)


def main(context: Mapping[str, str], choices: Mapping[str, Sequence[str]], root: Path) -> int:
    select_variant_files(root, context, choices)
    if context["mode"] == "sync":
        make_sync(root / "src" / context["project_slug"])
    print(next_steps(context))
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        sys.exit(check(Path(__file__).resolve().parent.parent))
    sys.exit(
        main(
            json.loads(r"""{{ cookiecutter | jsonify }}"""),
            json.loads(r"""{{ cookiecutter | template_choices | jsonify }}"""),
            Path.cwd(),
        )
    )
