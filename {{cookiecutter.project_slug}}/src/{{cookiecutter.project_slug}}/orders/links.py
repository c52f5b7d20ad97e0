"""OpenAPI links of the orders' responses (see kit/links.py)."""

from ..kit.links import link

# A response that is one order: POST /orders.
ORDER = {
    "GetOrder": link(
        "get",
        "/orders/{order_id}",
        "Read the order.",
        parameters={"order_id": "$response.body#/id"},
    ),
    "CancelOrder": link(
        "post",
        "/orders/{order_id}/cancel",
        "Cancel the order and give its stock back.",
        parameters={"order_id": "$response.body#/id"},
    ),
}
