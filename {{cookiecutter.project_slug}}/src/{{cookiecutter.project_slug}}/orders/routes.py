"""HTTP endpoints for orders. Each one calls one unit of work in `services.py`.

Every response that is one order carries its `ETag` (its version); a cancel honours `If-Match`
and a read `If-None-Match`. Placing and cancelling take an `Idempotency-Key`
(idempotency/http.py), scoped to the caller.
"""

from typing import Annotated

from fastapi import APIRouter, Request, Response, status

from ..auth.dependencies import requires
from ..auth.principal import Principal
from ..database.session import SessionDep
from ..idempotency.http import KEYED, REPLAYED_HEADER, IdempotencyKeyDep, answer
from ..kit.http import (
    CONDITIONAL_READ,
    CONDITIONAL_WRITE,
    ETAG_HEADER,
    IfMatch,
    IfNoneMatch,
    not_modified,
)
from ..kit.pagination import DEFAULT_PAGE_SIZE, PageNumber, PageSize
from ..kit.responses import SECURED
from ..kit.types import PathId
from ..kit.versions import etag
from . import links, services
from .schemas import OrderCreate, OrderPage, OrderRead

router = APIRouter(prefix="/orders", tags=["orders"], responses=SECURED)

# The caller, verified before the session is taken (the first parameter of each endpoint). An
# order belongs to the `sub` that placed it; every other principal is told it does not exist.
Reader = Annotated[Principal, requires("orders:read")]
Writer = Annotated[Principal, requires("orders:write")]

LOCATION_HEADER = {
    "Location": {"description": "The new order's URL.", "schema": {"type": "string"}},
}


def order_answer(response: Response, order: OrderRead) -> OrderRead:
    response.headers["ETag"] = etag(order.version)
    return order


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderRead,
    responses={
        **KEYED,
        status.HTTP_201_CREATED: {
            "links": links.ORDER,
            "headers": {**ETAG_HEADER, **LOCATION_HEADER, **REPLAYED_HEADER},
        },
    },
)
async def place_order(
    caller: Writer,
    data: OrderCreate,
    session: SessionDep,
    key: IdempotencyKeyDep,
    request: Request,
    response: Response,
) -> OrderRead:
    outcome = await services.place_order(session, data, owner=caller.sub, key=key)
    order = answer(response, outcome)
    response.headers["Location"] = str(request.url_for("get_order", order_id=order.id))
    return order_answer(response, order)


@router.get("", response_model=OrderPage)
async def list_orders(
    caller: Reader,
    session: SessionDep,
    page: PageNumber = 1,
    page_size: PageSize = DEFAULT_PAGE_SIZE,
) -> OrderPage:
    return await services.list_orders(session, owner=caller.sub, page=page, page_size=page_size)


@router.get(
    "/{order_id}",
    response_model=OrderRead,
    responses={status.HTTP_200_OK: {"headers": ETAG_HEADER}, **CONDITIONAL_READ},
)
async def get_order(
    caller: Reader,
    order_id: PathId,
    session: SessionDep,
    tags: IfNoneMatch,
    response: Response,
) -> OrderRead | Response:
    order = OrderRead.model_validate(await services.get_order(session, order_id, owner=caller.sub))
    if not_modified(tags, order.version):
        headers = {"ETag": etag(order.version)}
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return order_answer(response, order)


@router.post(
    "/{order_id}/cancel",
    response_model=OrderRead,
    responses={
        **KEYED,
        **CONDITIONAL_WRITE,
        status.HTTP_200_OK: {"headers": {**ETAG_HEADER, **REPLAYED_HEADER}},
    },
)
async def cancel_order(
    caller: Writer,
    order_id: PathId,
    session: SessionDep,
    condition: IfMatch,
    key: IdempotencyKeyDep,
    response: Response,
) -> OrderRead:
    outcome = await services.cancel_order(
        session, order_id, owner=caller.sub, condition=condition, key=key
    )
    return order_answer(response, answer(response, outcome))
