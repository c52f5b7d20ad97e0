"""What asyncpg knows about a pooled connection without asking the server, how it talks
through a transaction pooler, and how it sends settings when it connects."""

import uuid
from typing import Any


def unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4().hex}__"


# Behind a transaction pooler (PgBouncer) each transaction may run on another server connection.
# asyncpg names its prepared statements per connection and caches them, so the next transaction
# finds "prepared statement ... does not exist" (or "already exists"). Unique names and no caches
# make every statement stand alone (SQLAlchemy's asyncpg dialect docs, "Prepared Statement Name
# with PGBouncer").
POOLER_CONNECT_ARGS: dict[str, Any] = {
    "prepared_statement_name_func": unique_statement_name,
    "statement_cache_size": 0,
    "prepared_statement_cache_size": 0,
}


def closed_by_server(driver_connection: Any) -> bool:
    """The server closed the connection (restart, pg_terminate_backend, idle timeout): the event
    loop has already read the end of the stream, and asyncpg has marked the connection closed."""
    return bool(driver_connection.is_closed())


def add_startup_settings(connect_params: dict[str, Any], settings: dict[str, str]) -> None:
    """Server settings sent with the connection's startup message (asyncpg's server_settings):
    in force from its first statement, for no round trip."""
    connect_params["server_settings"] = {**connect_params.get("server_settings", {}), **settings}
