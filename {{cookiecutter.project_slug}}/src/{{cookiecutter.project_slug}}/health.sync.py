"""Liveness and readiness probes."""

import anyio
from fastapi import APIRouter, HTTPException, Request, status
from sqlalchemy import Engine, text

router = APIRouter(prefix="/health", tags=["health"])


@router.get("")
async def alive() -> dict[str, str]:
    """The process is up; says nothing about the database."""
    return {"status": "ok"}


@router.get("/ready")
async def ready(request: Request) -> dict[str, str]:
    """The database answers a query within `ready_timeout` seconds, or 503."""
    engine: Engine = request.app.state.engine

    def ping() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    # The blocking driver cannot be interrupted: a ping that overruns is abandoned to its
    # worker thread, and the probe answers 503 on time.
    with anyio.move_on_after(request.app.state.settings.ready_timeout):
        await anyio.to_thread.run_sync(ping, abandon_on_cancel=True)
        return {"status": "ready"}
    raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "The database did not answer in time.")
