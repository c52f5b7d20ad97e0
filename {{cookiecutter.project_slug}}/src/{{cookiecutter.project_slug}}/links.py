"""OpenAPI links: the requests that can take the ids a response returns.

A route names its response's links in `responses=`, so `/openapi.json` tells a client, for
instance, that the item POST /items answers with can then be read, changed, deleted, ordered
and transferred from by its id. The fuzz test (`tests/test_fuzz.py`) follows the same links,
so that it runs every operation on rows that exist, not only on ids it made up.

Only the responses that create rows carry links: from a row just made every operation can be
reached, and each further source would spread the fuzz test's fixed number of steps thinner.
"""

from typing import Any

Link = dict[str, Any]


def _link(
    method: str,
    path: str,
    description: str,
    *,
    parameters: dict[str, str] | None = None,
    request_body: dict[str, Any] | None = None,
) -> Link:
    # The target by path and method, which clients know already: a JSON pointer into this
    # app's own schema, where a "/" of the path is written "~1" (RFC 6901).
    pointer = path.replace("~", "~0").replace("/", "~1")
    link: Link = {"operationRef": f"#/paths/{pointer}/{method}", "description": description}
    if parameters is not None:
        link["parameters"] = parameters
    if request_body is not None:
        link["requestBody"] = request_body
        # Schemathesis sends this body as it is, rather than merged into one it generated,
        # whose extra order lines would name items that do not exist.
        link["x-schemathesis"] = {"merge_body": False}
    return link


# A response that is one item: POST /items.
ITEM = {
    "GetItem": _link(
        "get",
        "/items/{item_id}",
        "Read the item.",
        parameters={"item_id": "$response.body#/id"},
    ),
    "UpdateItem": _link(
        "patch",
        "/items/{item_id}",
        "Change the item.",
        parameters={"item_id": "$response.body#/id"},
    ),
    "DeleteItem": _link(
        "delete",
        "/items/{item_id}",
        "Delete the item.",
        parameters={"item_id": "$response.body#/id"},
    ),
    "OrderItem": _link(
        "post",
        "/orders",
        "Order one of the item.",
        request_body={"lines": [{"item_id": "$response.body#/id", "quantity": 1}]},
    ),
    "TransferFromItem": _link(
        "post",
        "/items/{item_id}/transfer",
        "Move some of the item's stock to another item.",
        parameters={"item_id": "$response.body#/id"},
    ),
}

# A response that is a list of items: POST /items/bulk. What one item leads to, ITEM says;
# these links need two.
ITEM_LIST = {
    "OrderItems": _link(
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
    "TransferBetweenItems": _link(
        "post",
        "/items/{item_id}/transfer",
        "Move one of the first item's stock to the second item.",
        parameters={"item_id": "$response.body#/0/id"},
        request_body={"to_item_id": "$response.body#/1/id", "quantity": 1},
    ),
}

# A response that is one order: POST /orders.
ORDER = {
    "GetOrder": _link(
        "get",
        "/orders/{order_id}",
        "Read the order.",
        parameters={"order_id": "$response.body#/id"},
    ),
    "CancelOrder": _link(
        "post",
        "/orders/{order_id}/cancel",
        "Cancel the order and give its stock back.",
        parameters={"order_id": "$response.body#/id"},
    ),
}
