"""What the orders' units of work refuse."""

from ..kit.errors import ConflictError, NotFoundError


class OrderNotFoundError(NotFoundError):
    def __init__(self, order_id: int) -> None:
        super().__init__("Order", order_id)


class OrderAlreadyCancelledError(ConflictError):
    def __init__(self, order_id: int) -> None:
        super().__init__(f"Order {order_id} is already cancelled.")


class InsufficientStockError(ConflictError):
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
