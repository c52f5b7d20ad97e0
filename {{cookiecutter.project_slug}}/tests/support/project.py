"""The project's own files as the tests use them: its root (alembic.ini, migrations/, the
package's pyproject.toml), and its schema made the documented way."""

from pathlib import Path

from alembic import command
from alembic.config import Config

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def migrate(url: str) -> None:
    """Create the schema the documented way: Alembic's `upgrade head`, here in-process."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    command.upgrade(config, "head")
