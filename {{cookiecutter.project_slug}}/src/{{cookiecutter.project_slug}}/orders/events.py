"""The events orders record in their outbox (outbox/repository.py's `record`), in the unit of
work that places or cancels the order. Consumers read them as `sales/handlers.py` does: the
payload is a public contract, so add fields, never rename or drop one."""

from .models import Order

PLACED = "order.placed"
CANCELLED = "order.cancelled"


def payload(order: Order) -> dict[str, object]:
    return {
        "order_id": order.id,
        "lines": [{"item_id": line.item_id, "quantity": line.quantity} for line in order.lines],
    }
