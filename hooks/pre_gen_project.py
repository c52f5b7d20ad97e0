"""Refuse answers that would produce a broken service, before anything is written.

Each refusal is one line on stderr saying what is wrong and what would be accepted; the exit
status is 1 and cookiecutter removes the partly created directory. Everything here is a
function of its arguments, so the template's suite imports and tests it; only the `__main__`
block reads the rendered context and the choices of cookiecutter.json.
"""

import json
import keyword
import re
import sys
from collections.abc import Mapping, Sequence

# Top-level modules the generated service imports, or that its tooling puts on the path; a
# package of the same name would shadow them.
SHADOWED = {
    "aiomysql",
    "aiosqlite",
    "alembic",
    "anyio",
    "asyncpg",
    "fastapi",
    "greenlet",
    "httpx",
    "migrations",
    "mypy",
    "psycopg",
    "pydantic",
    "pydantic_settings",
    "pymysql",
    "pytest",
    "ruff",
    "sqlalchemy",
    "starlette",
    "test",  # the standard library's regression tests; not in sys.stdlib_module_names
    "tests",
    "typing_extensions",
    "uvicorn",
}

SLUG_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
# Test databases are named test_<slug>_<12 hex digits>; PostgreSQL allows 63 bytes, MySQL 64.
SLUG_MAX_LENGTH = 40
# The name becomes the OpenAPI title, one line of Python.
NAME_MAX_LENGTH = 80


def slug_problem(slug: str) -> str | None:
    accepted = "use lowercase letters, digits and underscores, starting with a letter"
    if not SLUG_PATTERN.fullmatch(slug):
        return f"project_slug {slug!r} is not a valid lowercase Python package name: {accepted}."
    if len(slug) > SLUG_MAX_LENGTH:
        return f"project_slug {slug!r} is longer than {SLUG_MAX_LENGTH} characters: shorten it."
    if keyword.iskeyword(slug) or keyword.issoftkeyword(slug):
        return f"project_slug {slug!r} is a Python keyword: choose another name."
    if slug in sys.stdlib_module_names or slug in SHADOWED:
        return (
            f"project_slug {slug!r} would shadow the module {slug!r} that the service imports: "
            f"choose another name, e.g. {slug}_service."
        )
    return None


def name_problem(name: str) -> str | None:
    if not name.strip():
        return "project_name is empty: give the service a name."
    if len(name) > NAME_MAX_LENGTH or not name.isprintable():
        return f"project_name must be one line of at most {NAME_MAX_LENGTH} printable characters."
    return None


def choice_problem(option: str, value: str, choices: Sequence[str]) -> str | None:
    if value not in choices:
        return f"{option} {value!r} is not one of the choices: {', '.join(choices)}."
    return None


def problems(context: Mapping[str, str], choices: Mapping[str, Sequence[str]]) -> list[str]:
    """What is wrong with the answers, in the order the questions are asked."""
    found = [name_problem(context["project_name"]), slug_problem(context["project_slug"])]
    found += [choice_problem(option, context[option], values) for option, values in choices.items()]
    return [problem for problem in found if problem]


def main(context: Mapping[str, str], choices: Mapping[str, Sequence[str]]) -> int:
    for problem in problems(context, choices)[:1]:
        print(f"ERROR: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(
        main(
            json.loads(r"""{{ cookiecutter | jsonify }}"""),
            json.loads(r"""{{ cookiecutter | template_choices | jsonify }}"""),
        )
    )
