"""HTTP endpoints for widgets. Each one calls one unit of work in `services.py`."""

from typing import Annotated

from fastapi import APIRouter, Path, status

from ..database.session import SessionDep
from ..items.models import INTEGER_MAX
from . import services
from .models import Widget
from .schemas import WidgetCreate, WidgetRead

router = APIRouter(prefix="/widgets", tags=["widgets"])

WidgetId = Annotated[int, Path(ge=1, le=INTEGER_MAX)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WidgetRead)
async def create_widget(data: WidgetCreate, session: SessionDep) -> Widget:
    return await services.create_widget(session, data)


@router.get("/{widget_id}", response_model=WidgetRead)
async def get_widget(widget_id: WidgetId, session: SessionDep) -> Widget:
    return await services.get_widget(session, widget_id)
