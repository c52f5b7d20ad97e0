"""OpenAPI links of the items' responses (see kit/links.py)."""

from ..kit.links import link

# A response that is one item: POST /items. No transfer: it needs a second item, which one item
# does not name (ITEM_LIST does); a link that names only the source leads to a 404 about the
# target, which reads as the new item not found.
ITEM = {
    "GetItem": link(
        "get",
        "/items/{item_id}",
        "Read the item.",
        parameters={"item_id": "$response.body#/id"},
    ),
    "UpdateItem": link(
        "patch",
        "/items/{item_id}",
        "Change the item.",
        parameters={"item_id": "$response.body#/id"},
    ),
    "DeleteItem": link(
        "delete",
        "/items/{item_id}",
        "Delete the item.",
        parameters={"item_id": "$response.body#/id"},
    ),
    "OrderItem": link(
        "post",
        "/orders",
        "Order one of the item.",
        request_body={"lines": [{"item_id": "$response.body#/id", "quantity": 1}]},
    ),
}

# A response that is a list of items: POST /items/bulk. What one item leads to, ITEM says;
# these links need two.
ITEM_LIST = {
    "OrderItems": link(
        "post",
        "/orders",
        "Order one of each of the first two items.",
        request_body={
            "lines": [
                {"item_id": "$response.body#/0/id", "quantity": 1},
                {"item_id": "$response.body#/1/id", "quantity": 1},
            ]
        },
    ),
    "TransferBetweenItems": link(
        "post",
        "/items/{item_id}/transfer",
        "Move one of the first item's stock to the second item.",
        parameters={"item_id": "$response.body#/0/id"},
        request_body={"to_item_id": "$response.body#/1/id", "quantity": 1},
    ),
}
