"""Liveness and readiness probes."""

import anyio
from fastapi import APIRouter, HTTPException, Request, status

from .database.lifecycle import ping

router = APIRouter(prefix="/health", tags=["health"])


@router.get("")
async def alive() -> dict[str, str]:
    """The process is up; says nothing about the database."""
    return {"status": "ok"}


@router.get("/ready")
async def ready(request: Request) -> dict[str, str]:
    """The database answers a query within `ready_timeout` seconds, or 503."""
    with anyio.move_on_after(request.app.state.settings.ready_timeout):
        await ping(request.app.state.engine)
        return {"status": "ready"}
    raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "The database did not answer in time.")
