"""The settings every database has: where it is, the pool, the wait for a slot, migrations.

Each dialect module builds its `DialectSettings` on these, adding its database's own; the
service's `Settings` composes that class with the settings of the HTTP layer.
"""

from pydantic import Field
from pydantic_settings import BaseSettings

# The name of the service's own database in the default URL.
DATABASE_NAME = "{{ cookiecutter.project_slug }}"


class DatabaseSettings(BaseSettings):
    database_url: str = f"{{ cookiecutter.__database_url_fstring }}"
    # Connections kept open. Database work is capped at pool_size + max_overflow, so requests
    # queue in the event loop instead of waiting (and timing out) inside the pool.
    pool_size: int = Field(default=10, ge=1)
    # Overflow connections are closed as soon as they are returned, which churns connections
    # under load; keep it at 0 and raise pool_size instead.
    max_overflow: int = Field(default=0, ge=0)
    # Seconds a checkout may wait for a free connection before the request fails with 503.
    pool_timeout: float = Field(default=30.0, gt=0)
    # Seconds a request waits for a database slot before it is answered 503 with Retry-After.
    capacity_timeout: float = Field(default=30.0, gt=0)
    echo: bool = False
    # Seconds `alembic upgrade head` waits for another replica's migration to finish before it
    # gives up (see migrations/env.py).
    migration_lock_timeout: float = Field(default=300.0, gt=0)

    @property
    def pool_capacity(self) -> int:
        """Database slots: at most this many requests hold a session at once."""
        return self.pool_size + self.max_overflow
