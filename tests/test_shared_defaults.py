"""Facts written in more than one place, tied to their one home.

The service's default pool size lives in `database/settings.py`. The generated README and
`.env.example` repeat it (the service's own tests/test_settings_documented.py ties those); the
bench's two reference apps repeat it so that they run the service's default pool beside the
service (bench/reference/raw_app.py's RAW_POOL, floor_app.py's pool_size). This test ties those.
"""

import re
from pathlib import Path

from .variants import TEMPLATE

DATABASE_SETTINGS = (
    TEMPLATE
    / "{{cookiecutter.project_slug}}"
    / "src"
    / "{{cookiecutter.project_slug}}"
    / "database"
    / "settings.py"
)
REFERENCES = TEMPLATE / "bench" / "reference"


def only_match(pattern: str, path: Path) -> int:
    found = re.findall(pattern, path.read_text(encoding="utf-8"))
    assert len(found) == 1, f"{path.name}: expected one match of {pattern!r}, found {found}"
    return int(found[0])


def test_the_bench_references_run_the_service_default_pool() -> None:
    default = only_match(r"pool_size: int = Field\(default=(\d+)", DATABASE_SETTINGS)

    assert only_match(r'"RAW_POOL", "(\d+)"', REFERENCES / "raw_app.py") == default
    assert only_match(r'"pool_size": (\d+)', REFERENCES / "floor_app.py") == default
