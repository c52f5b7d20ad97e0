"""HTTP endpoints for widgets. Each one calls one unit of work in `services.py`."""

from fastapi import APIRouter, status

from ..auth.dependencies import requires
from ..database.session import SessionDep
from ..errors import refusals
from ..items.errors import ItemNotFoundError
from ..kit.responses import SECURED
from ..kit.types import PathId, path_id
from . import links, services
from .errors import WidgetNotFoundError
from .models import Widget
from .schemas import WidgetCreate, WidgetRead

router = APIRouter(prefix="/widgets", tags=["widgets"], responses=SECURED)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=WidgetRead,
    responses={
        status.HTTP_201_CREATED: {"links": links.WIDGET},
        **refusals(ItemNotFoundError),
    },
    dependencies=[requires("widgets:write")],
)
async def create_widget(data: WidgetCreate, session: SessionDep) -> Widget:
    return await services.create_widget(session, data)


@router.get(
    f"/{path_id('widget_id')}",
    response_model=WidgetRead,
    responses=refusals(WidgetNotFoundError),
    dependencies=[requires("widgets:read")],
)
async def get_widget(widget_id: PathId, session: SessionDep) -> Widget:
    return await services.get_widget(session, widget_id)
