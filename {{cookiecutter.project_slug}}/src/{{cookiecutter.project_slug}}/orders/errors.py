"""What the orders' units of work refuse. Each docstring describes the refusal in the OpenAPI
document (`errors.refusals`)."""

from ..kit.errors import ConflictError, NotFoundError


class OrderNotFoundError(NotFoundError):
    """The caller placed no order with this id (another principal's order is not found)."""

    def __init__(self, order_id: int) -> None:
        super().__init__("Order", order_id)


class OrderAlreadyCancelledError(ConflictError):
    """The order is already cancelled."""

    def __init__(self, order_id: int) -> None:
        super().__init__(f"Order {order_id} is already cancelled.")


class InsufficientStockError(ConflictError):
    """An item has less stock than its line asks for; the body says which (`item_id`) and how
    much (`requested`, `available`)."""

    def __init__(self, item_id: int, name: str, requested: int, available: int) -> None:
        super().__init__(
            f"Insufficient stock for item {item_id} ({name!r}): "
            f"{requested} requested, {available} available.",
        )
        self.item_id = item_id
        self.requested = requested
        self.available = available

    def extra(self) -> dict[str, object]:
        return {"item_id": self.item_id, "requested": self.requested, "available": self.available}
