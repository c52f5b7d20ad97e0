"""HTTP endpoints for orders. Each one calls one unit of work in `services.py`.

Every response that is one order carries its `ETag` (its version); a cancel honours `If-Match`
and a read `If-None-Match`. Placing and cancelling take an `Idempotency-Key`
(idempotency/http.py), scoped to the caller.
"""

from typing import Annotated

from fastapi import APIRouter, Request, Response, status

from ..auth.dependencies import requires
from ..auth.principal import Principal
from ..database.failures import Failure
from ..database.session import SessionDep
from ..errors import refusals
from ..idempotency.http import (
    KEY_HEADER_REFUSED,
    KEY_REFUSALS,
    REPLAYED_HEADER,
    IdempotencyKeyDep,
    replay_headers,
)
from ..items.errors import ItemNotFoundError
from ..kit.errors import PreconditionFailedError
from ..kit.http import (
    CONDITIONAL_READ,
    ETAG_HEADER,
    PRECONDITION_REQUIRED,
    IfMatch,
    IfNoneMatch,
    none_match,
    not_modified,
    row_response,
)
from ..kit.pagination import DEFAULT_PAGE_SIZE, PageNumber, PageSize
from ..kit.responses import SECURED
from ..kit.routing import url_of
from ..kit.types import PathId, path_id
from ..kit.versions import etag
from . import links, services
from .errors import InsufficientStockError, OrderAlreadyCancelledError, OrderNotFoundError
from .schemas import OrderCreate, OrderPage, OrderRead

router = APIRouter(prefix="/orders", tags=["orders"], responses=SECURED)

# The caller, verified before the session is taken (the first parameter of each endpoint). An
# order belongs to the `sub` that placed it; every other principal is told it does not exist.
Reader = Annotated[Principal, requires("orders:read")]
Writer = Annotated[Principal, requires("orders:write")]
ORDER_ID = path_id("order_id")

LOCATION_HEADER = {
    "Location": {"description": "The new order's URL.", "schema": {"type": "string"}},
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderRead,
    responses={
        status.HTTP_201_CREATED: {
            "links": links.ORDER,
            "headers": {**ETAG_HEADER, **LOCATION_HEADER, **REPLAYED_HEADER},
        },
        **KEY_HEADER_REFUSED,
        **refusals(*KEY_REFUSALS, ItemNotFoundError, InsufficientStockError),
    },
)
async def place_order(
    caller: Writer,
    data: OrderCreate,
    session: SessionDep,
    key: IdempotencyKeyDep,
    request: Request,
) -> Response:
    outcome = await services.place_order(session, data, owner=caller.sub, key=key)
    location = url_of(request, router, "get_order", order_id=outcome.response.id)
    headers = {"Location": location, **replay_headers(outcome)}
    return row_response(outcome.response, status_code=status.HTTP_201_CREATED, headers=headers)


@router.get("", response_model=OrderPage)
async def list_orders(
    caller: Reader,
    session: SessionDep,
    page: PageNumber = 1,
    page_size: PageSize = DEFAULT_PAGE_SIZE,
) -> OrderPage:
    return await services.list_orders(session, owner=caller.sub, page=page, page_size=page_size)


@router.get(
    f"/{ORDER_ID}",
    response_model=OrderRead,
    responses={
        status.HTTP_200_OK: {"headers": ETAG_HEADER},
        **CONDITIONAL_READ,
        **refusals(OrderNotFoundError),
    },
)
async def get_order(
    caller: Reader,
    order_id: PathId,
    session: SessionDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    tags = none_match(if_none_match)
    order = OrderRead.model_validate(await services.get_order(session, order_id, owner=caller.sub))
    if not_modified(tags, order.version):
        headers = {"ETag": etag(order.version)}
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return row_response(order)


@router.post(
    f"/{ORDER_ID}/cancel",
    response_model=OrderRead,
    responses={
        status.HTTP_200_OK: {"headers": {**ETAG_HEADER, **REPLAYED_HEADER}},
        **KEY_HEADER_REFUSED,
        **PRECONDITION_REQUIRED,
        # The stock given back may not fit an item's quantity any more: a value out of range.
        **refusals(
            *KEY_REFUSALS,
            OrderNotFoundError,
            OrderAlreadyCancelledError,
            PreconditionFailedError,
            Failure.STALE,
            Failure.INVALID,
        ),
    },
)
async def cancel_order(
    caller: Writer,
    order_id: PathId,
    session: SessionDep,
    condition: IfMatch,
    key: IdempotencyKeyDep,
) -> Response:
    outcome = await services.cancel_order(
        session,
        order_id,
        owner=caller.sub,
        condition=condition,
        key=key,
    )
    return row_response(outcome.response, headers=replay_headers(outcome))
