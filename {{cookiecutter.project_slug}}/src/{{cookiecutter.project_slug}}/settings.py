"""Configuration from the environment (or a `.env` file), validated once at start-up."""

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from .auth.settings import AuthSettings
from .database.dialect import DialectSettings
from .messaging.settings import BrokerSettings
from .tracing.settings import TracingSettings


class Settings(DialectSettings, AuthSettings, BrokerSettings, TracingSettings):
    """The service's settings: the database's (database/settings.py and the dialect module's),
    the identity provider's (auth/settings.py), the broker's (messaging/settings.py), the
    traces' (tracing/settings.py), and those of the HTTP layer below."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Seconds /health/ready waits for the database before answering 503.
    ready_timeout: float = Field(default=3.0, gt=0)
    # Prometheus metrics at /metrics. With several workers, set PROMETHEUS_MULTIPROC_DIR to an
    # empty directory (wiped at every start) so that the figures add up across workers.
    metrics_enabled: bool = True
    # create_app configures logging: JSON lines on stdout, uvicorn's too. Turn it off when the
    # process is started with `uvicorn --log-config` (see README).
    log_configure: bool = True
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Uvicorn worker processes per replica, each with its own pool. Uvicorn reads
    # WEB_CONCURRENCY too (the default of --workers): set it there, not with --workers, so the
    # service knows its real number of pools.
    web_concurrency: int = Field(default=1, ge=1)
    # Seconds an idempotency key is kept: a retry within it is answered with the first
    # response; after it, the key may be purged (`python -m ... purge-idempotency-keys`) and
    # means a new request. Published in the OpenAPI description.
    idempotency_key_retention: int = Field(default=86400, gt=0)
    # Refuse (400) a non-idempotent operation sent without an Idempotency-Key.
    idempotency_key_required: bool = False
    # Refuse (428) a write to an existing row sent without If-Match.
    if_match_required: bool = False


@lru_cache
def get_settings() -> Settings:
    return Settings()
