"""What the items' units of work refuse. Each docstring describes the refusal in the OpenAPI
document (`errors.refusals`)."""

from ..kit.errors import NotFoundError


class ItemNotFoundError(NotFoundError):
    """No item has this id."""

    def __init__(self, item_id: int) -> None:
        super().__init__("Item", item_id)
