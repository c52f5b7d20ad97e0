"""Jinja filters for the template: user-supplied text rendered as valid literals, and the
template's own options, read from cookiecutter.json for the hooks."""

import json
from pathlib import Path
from typing import Any

from cookiecutter.utils import simple_filter

COOKIECUTTER_JSON = Path(__file__).resolve().parent / "cookiecutter.json"


def choice_options(cookiecutter_json: Path = COOKIECUTTER_JSON) -> dict[str, list[str]]:
    """Every option that offers a choice, with its choices in order: the lists in
    cookiecutter.json, the one place they are written."""
    options: dict[str, Any] = json.loads(cookiecutter_json.read_text(encoding="utf-8"))
    return {
        name: value
        for name, value in options.items()
        if isinstance(value, list) and not name.startswith("_")
    }


@simple_filter
def template_choices(_: object) -> dict[str, list[str]]:
    """`{{ cookiecutter | template_choices }}`: the hooks' view of choice_options().

    The hooks cannot read cookiecutter.json themselves (they run in the generated project, and
    by then cookiecutter's context holds only the chosen values), so it is rendered into them.
    """
    return choice_options()


@simple_filter
def python_string(value: str) -> str:
    """A Python string literal, quoted the way `ruff format` would leave it."""
    if '"' in value and "'" not in value:
        return "'" + value.replace("\\", "\\\\") + "'"
    return json.dumps(value, ensure_ascii=False)


@simple_filter
def toml_string(value: str) -> str:
    """A TOML basic string: JSON's escapes are a subset of TOML's."""
    return json.dumps(value, ensure_ascii=False)
