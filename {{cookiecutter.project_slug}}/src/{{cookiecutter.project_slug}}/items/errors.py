"""What the items' units of work refuse."""

from ..kit.errors import NotFoundError


class ItemNotFoundError(NotFoundError):
    def __init__(self, item_id: int) -> None:
        super().__init__("Item", item_id)
