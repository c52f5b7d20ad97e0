"""Configuration from the environment (or a `.env` file), validated once at start-up."""

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from .database.dialect import DialectSettings

# The name of the service's own database in the default URL.
DATABASE_NAME = "{{ cookiecutter.project_slug }}"


class Settings(DialectSettings):
    """The service's settings; the database's own ones come from its dialect module."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = f"{{ cookiecutter.__database_url_fstring }}"
    # Connections kept open. Database work is capped at pool_size + max_overflow, so requests
    # queue in the event loop instead of waiting (and timing out) inside the pool.
    pool_size: int = Field(default=10, ge=1)
    # Overflow connections are closed as soon as they are returned, which churns connections
    # under load; keep it at 0 and raise pool_size instead.
    max_overflow: int = Field(default=0, ge=0)
    # Seconds a checkout may wait for a free connection before the request fails with 503.
    pool_timeout: float = Field(default=30.0, gt=0)
    # Seconds /health/ready waits for the database before answering 503.
    ready_timeout: float = Field(default=3.0, gt=0)
    # Seconds a request waits for a database slot before it is answered 503 with Retry-After.
    capacity_timeout: float = Field(default=30.0, gt=0)
    # Prometheus metrics at /metrics. With several workers, set PROMETHEUS_MULTIPROC_DIR to an
    # empty directory (wiped at every start) so that the figures add up across workers.
    metrics_enabled: bool = True
    # create_app configures logging: JSON lines on stdout, uvicorn's too. Turn it off when the
    # process is started with `uvicorn --log-config` (see README).
    log_configure: bool = True
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    echo: bool = False
    # Uvicorn worker processes per replica, each with its own pool. Uvicorn reads
    # WEB_CONCURRENCY too (the default of --workers): set it there, not with --workers, so the
    # service knows its real number of pools.
    web_concurrency: int = Field(default=1, ge=1)
    # Seconds `alembic upgrade head` waits for another replica's migration to finish before it
    # gives up (see migrations/env.py).
    migration_lock_timeout: float = Field(default=300.0, gt=0)

    @property
    def pool_capacity(self) -> int:
        return self.pool_size + self.max_overflow


@lru_cache
def get_settings() -> Settings:
    return Settings()
