"""What the widgets' units of work refuse."""

from ..kit.errors import NotFoundError


class WidgetNotFoundError(NotFoundError):
    """No widget has this id."""

    def __init__(self, widget_id: int) -> None:
        super().__init__("Widget", widget_id)
