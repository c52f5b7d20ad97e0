"""Start-up check: every pool of every worker of every replica, and the connection of every job
process beside them, must fit in the server's limit.

Pools multiply: WEB_CONCURRENCY workers x (POOL_SIZE + MAX_OVERFLOW) x REPLICAS connections can
be open at once, plus JOB_CONNECTIONS for each outbox relay and event worker process
(RELAY_PROCESSES + WORKER_PROCESSES). Past the server's limit the service does not fail at start
but under load, with "too many connections"; this check makes it fail at start instead, naming
every number.
"""

import logging
from typing import ClassVar, Literal

from pydantic import Field

from .engine import ServiceEngine, fetch_row
from .failures import StartupCheckError
from .settings import DatabaseSettings

logger = logging.getLogger(__name__)

# The connections of one job process (the outbox relay, the event worker): its engine's pool
# holds exactly one (pool_size=1, max_overflow=0), whatever POOL_SIZE says.
JOB_CONNECTIONS = 1


class ConnectionBudgetError(StartupCheckError):
    """The service's pools together may open more connections than the server allows."""


class BudgetSettings(DatabaseSettings):
    """The settings of the connection budget, shared by the databases with a server."""

    # Replicas (containers, pods) of this service that share the database server.
    replicas: int = Field(default=1, ge=1)
    # Outbox relay and event worker processes deployed beside the web replicas (all of them, not
    # per replica), each with JOB_CONNECTIONS connection to the same server.
    relay_processes: int = Field(default=1, ge=0)
    worker_processes: int = Field(default=1, ge=0)
    # At start-up, compare all pools with the server's limit: "error" refuses to start when over
    # budget, "warn" logs and starts, "off" does not check.
    connection_budget: Literal["error", "warn", "off"] = "error"
    # One row: the connections the server accepts, and those it keeps for others (superusers)
    # that the service cannot use. Each dialect fills it in.
    connection_limit_query: ClassVar[str]

    @property
    def behind_transaction_pooler(self) -> bool:
        """A transaction pooler owns the server's connections, not this service's pools."""
        return False


def budget_message(
    settings: BudgetSettings, *, workers: int, max_connections: int, reserved: int
) -> str | None:
    """None when the budget holds; otherwise one line naming every number and what to change.
    `workers`: the pools of one replica (WEB_CONCURRENCY, a setting of the HTTP server)."""
    jobs = settings.relay_processes + settings.worker_processes
    needed = workers * settings.pool_capacity * settings.replicas + jobs * JOB_CONNECTIONS
    available = max_connections - reserved
    if needed <= available:
        return None
    return (
        f"Connection budget exceeded: WEB_CONCURRENCY={workers} workers x "
        f"(POOL_SIZE={settings.pool_size} + MAX_OVERFLOW={settings.max_overflow}) x "
        f"REPLICAS={settings.replicas} + (RELAY_PROCESSES={settings.relay_processes} + "
        f"WORKER_PROCESSES={settings.worker_processes}) x {JOB_CONNECTIONS} = {needed} "
        f"connections, but the server allows {available} (max_connections={max_connections} - "
        f"{reserved} reserved). Lower POOL_SIZE, WEB_CONCURRENCY, REPLICAS, RELAY_PROCESSES or "
        "WORKER_PROCESSES, raise the server's max_connections, or set CONNECTION_BUDGET=warn to "
        "start anyway."
    )


async def check_connection_budget(
    engine: ServiceEngine, settings: BudgetSettings, *, workers: int
) -> None:
    """Raise ConnectionBudgetError (or warn, with CONNECTION_BUDGET=warn) when over budget."""
    if settings.connection_budget == "off":
        return
    if settings.behind_transaction_pooler:
        logger.info(
            "Connection budget not checked: behind a transaction pooler the server's "
            "connections are the pooler's (its pool size), not this service's pools."
        )
        return
    try:
        limit = await fetch_row(engine, settings.connection_limit_query)
    except Exception as error:
        # The service starts without its database: readiness answers 503 until it is there.
        logger.warning("Connection budget not checked: the database did not answer (%r).", error)
        return
    message = budget_message(
        settings, workers=workers, max_connections=int(limit[0]), reserved=int(limit[1])
    )
    if message is None:
        return
    if settings.connection_budget == "warn":
        logger.warning(message)
        return
    raise ConnectionBudgetError(message)
