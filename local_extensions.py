"""Jinja filters for the template: user-supplied text rendered as valid literals."""

import json

from cookiecutter.utils import simple_filter


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
