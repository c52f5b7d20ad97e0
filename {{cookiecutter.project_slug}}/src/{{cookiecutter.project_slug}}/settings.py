"""Configuration from the environment (or a `.env` file), validated once at start-up."""

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

{%- set default_url = cookiecutter.__database_url | python_string %}
{%- if (default_url | length) <= 76 %}
    database_url: str = {{ default_url }}
{%- else %}
    # Wrapped the way `ruff format` wraps a long string.
    database_url: str = (
        {{ default_url }}
    )
{%- endif %}
    # Connections kept open. Database work is capped at pool_size + max_overflow, so requests
    # queue in the event loop instead of waiting (and timing out) inside the pool.
    pool_size: int = Field(default=10, ge=1)
    # Overflow connections are closed as soon as they are returned, which churns connections
    # under load; keep it at 0 and raise pool_size instead.
    max_overflow: int = Field(default=0, ge=0)
    # Seconds a checkout may wait for a free connection before the request fails with 503.
    pool_timeout: float = Field(default=30.0, gt=0)
    # Seconds after which a connection is replaced; -1 keeps connections until they fail.
    pool_recycle: int = {{ cookiecutter.__pool_recycle }}
{%- if cookiecutter.database != "sqlite" %}
    # Every checkout replaces a connection the server has closed (restart, kill, idle timeout);
    # one idle for longer than this many seconds is also pinged first (0: ping every checkout).
    pool_ping_after_idle: float = Field(default=1.0, ge=0)
{%- endif %}
    # Seconds /health/ready waits for the database before answering 503.
    ready_timeout: float = Field(default=3.0, gt=0)
    echo: bool = False

    @property
    def pool_capacity(self) -> int:
        return self.pool_size + self.max_overflow


@lru_cache
def get_settings() -> Settings:
    return Settings()
