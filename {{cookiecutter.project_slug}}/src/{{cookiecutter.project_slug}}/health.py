"""Liveness and readiness probes.

/health/ready never competes with real traffic: it takes no database slot and pings on a probe
engine of its own (one connection), so a saturated pool does not make a busy but healthy
instance look unready, and a hung database cannot hold the probe past `ready_timeout`.
"""

from typing import Any

import anyio
from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from .database.engine import ping
from .errors import RETRY_AFTER_SECONDS

router = APIRouter(prefix="/health", tags=["health"])


def pool_state(request: Request) -> dict[str, int]:
    """The request pool as it is: what an operator asks first when requests queue."""
    state = request.app.state
    pool: Any = state.engine.pool
    return {
        "size": pool.size(),
        "checked_out": pool.checkedout(),
        "overflow": max(pool.overflow(), 0),
        "capacity": state.settings.pool_capacity,
        "waiting": state.database_slots.statistics().tasks_waiting,
    }


@router.get("")
async def alive() -> dict[str, str]:
    """The process is up; says nothing about the database."""
    return {"status": "ok"}


@router.get("/ready")
async def ready(request: Request) -> JSONResponse:
    """The database answers a query within `ready_timeout` seconds, or 503; and the pool's state."""
    pool = pool_state(request)  # as it was when asked, not after the probe's wait
    with anyio.move_on_after(request.app.state.settings.ready_timeout):
        await ping(request.app.state.probe_engine)
        return JSONResponse({"status": "ready", "pool": pool})
    return JSONResponse(
        {"detail": "The database did not answer in time.", "pool": pool},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )
