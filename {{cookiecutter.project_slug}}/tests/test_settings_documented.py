"""Every setting is documented with its real default, in the README's Configure table and in
`.env.example`: a default is changed in `Settings` (or its database's part) and nowhere else,
and this test names each place that did not follow."""

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic.fields import FieldInfo

from {{ cookiecutter.project_slug }}.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# A README row: | `NAME` | `default` | meaning |, or | `NAME` | unset | meaning |
README_ROW = re.compile(r"^\| `([A-Z][A-Z0-9_]*)` \| `?([^`|]*?)`? \|", re.MULTILINE)
ENV_LINE = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$", re.MULTILINE)


def documented(text: str, pattern: re.Pattern[str]) -> dict[str, str]:
    return dict(pattern.findall(text))


def same_value(written: str, default: Any) -> bool:
    """A written default (`30`, `true`, `json`, `RS256,ES256`; `unset` or nothing for None)
    means the field's default value."""
    if default is None:
        return written in ("", "unset")
    if isinstance(default, list):
        return written.split(",") == [str(value) for value in default]
    if isinstance(default, bool):
        return written == str(default).lower()
    if isinstance(default, int | float):
        try:
            return float(written) == float(default)
        except ValueError:
            return False
    return written == str(default)


def fields() -> dict[str, FieldInfo]:
    return {name.upper(): field for name, field in Settings.model_fields.items()}


@pytest.mark.parametrize(
    ("place", "pattern"),
    [("README.md", README_ROW), (".env.example", ENV_LINE)],
)
def test_every_setting_is_documented_with_its_default(place: str, pattern: re.Pattern[str]) -> None:
    written = documented((PROJECT_ROOT / place).read_text(encoding="utf-8"), pattern)

    missing = sorted(set(fields()) - set(written))
    wrong = {
        name: (written[name], field.default)
        for name, field in fields().items()
        if name in written and not same_value(written[name], field.default)
    }

    assert missing == [], f"{place} does not list these settings"
    assert wrong == {}, f"{place} gives these defaults wrongly: (written, real)"


@pytest.mark.parametrize(
    ("place", "pattern"),
    [("README.md", README_ROW), (".env.example", ENV_LINE)],
)
def test_no_setting_is_documented_that_does_not_exist(place: str, pattern: re.Pattern[str]) -> None:
    written = documented((PROJECT_ROOT / place).read_text(encoding="utf-8"), pattern)
    # Read by libraries, not by Settings: prometheus-client's multiprocess directory.
    not_ours = {"PROMETHEUS_MULTIPROC_DIR"}

    assert sorted(set(written) - set(fields()) - not_ours) == [], place


def test_the_check_sees_a_changed_default() -> None:
    """The negative control: a default that moved in one place only is caught."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    drifted = readme.replace("| `POOL_SIZE` | `10` |", "| `POOL_SIZE` | `11` |")
    assert drifted != readme, "the README's POOL_SIZE row is not where this test expects it"

    written = documented(drifted, README_ROW)

    assert not same_value(written["POOL_SIZE"], Settings.model_fields["pool_size"].default)
