"""Shape the rendered project into the chosen variant, then print the next steps.

1. Variant files. A file named `name.<choice>.ext` (e.g. `env.async.py`, `compose.mysql.yaml`)
   belongs to the variants that chose <choice>: there it becomes `name.ext`; elsewhere it is
   removed.
2. Sync mode. The modules in SYNC_FROM_ASYNC are written once, in async form; for a sync
   service they are rewritten mechanically (as `unasync` does for httpcore and redis-py):
   `async def` -> `def`, `await x` -> `x`, AsyncSession -> Session, and the imports to match.

Standard library only: generation needs no network and no package beyond cookiecutter.
"""

import json
import re
import sys
from pathlib import Path

CONTEXT = json.loads(r"""{{ cookiecutter | jsonify }}""")

OPTIONS = ("database", "mode", "transaction_style")
ALL_CHOICES = {"sqlite", "postgres", "mysql", "async", "sync", "flush-commit", "begin-context"}
PACKAGE = Path("src") / CONTEXT["project_slug"]
SYNC_FROM_ASYNC = ("db.py", "repository.py", "routes.py", "services.py")
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
SYNC_STATEMENTS = [
    (re.compile(r"\basync (def|with|for) "), r"\1 "),
    (re.compile(r"\bawait "), ""),
    (re.compile(r"\.sync_engine\b"), ""),
]
FROM_IMPORT = re.compile(r"^from ([\w.]+) import (?:\(\n((?:    .*\n)+)\)|(.*))\n", re.MULTILINE)


def select_variant_files(root: Path) -> None:
    chosen = {CONTEXT[option] for option in OPTIONS}
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        parts = path.name.split(".")
        markers = [part for part in parts[1:-1] if part in ALL_CHOICES]
        if not markers:
            continue
        if set(markers) <= chosen:
            path.rename(path.with_name(".".join(p for p in parts if p not in markers)))
        else:
            path.unlink()


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
            for name in re.split(r"[,\s]+", match[2] or match[3]):
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


def to_sync(source: str) -> str:
    source = rewrite_imports(source)
    for name, (_, sync_name) in SYNC_NAMES.items():
        source = re.sub(rf"\b{name}\b", sync_name, source)
    for pattern, replacement in SYNC_STATEMENTS:
        source = pattern.sub(replacement, source)
    return source


def make_sync(package: Path) -> None:
    for module in SYNC_FROM_ASYNC:
        path = package / module
        path.write_text(to_sync(path.read_text(encoding="utf-8")), encoding="utf-8")


def print_next_steps() -> None:
    slug = CONTEXT["project_slug"]
    steps = [
        (f"cd {slug}", ""),
        ("uv sync", "install; commit the uv.lock it writes"),
    ]
    if CONTEXT["database"] != "sqlite":
        label = CONTEXT["__database_label"]
        steps.append(("docker compose up -d db", f"start {label} (or set DATABASE_URL)"))
    steps += [
        ("uv run alembic upgrade head", "migrate"),
        (f"uv run uvicorn {slug}.main:app --reload", "run: http://127.0.0.1:8000/docs"),
        ("uv run pytest", "test"),
        ("docker compose up --build", "or run it in containers (README: Deploy)"),
    ]
    width = max(len(command) for command, _ in steps)
    print(
        f"\nCreated {slug} ({CONTEXT['database']}, {CONTEXT['mode']}, "
        f"{CONTEXT['transaction_style']}). Next steps:"
    )
    for command, comment in steps:
        print(f"  {command:<{width}}   # {comment}" if comment else f"  {command}")


def main() -> int:
    root = Path.cwd()
    select_variant_files(root)
    if CONTEXT["mode"] == "sync":
        make_sync(root / PACKAGE)
    print_next_steps()
    return 0


if __name__ == "__main__":
    sys.exit(main())
