"""OpenAPI links: the requests that can take the ids a response returns.

A route names its response's links in `responses=` (each resource's `links.py` declares its
own with `link`), so `/openapi.json` tells a client, for instance, that the item POST /items
answers with can then be read, changed, deleted, ordered and transferred from by its id. The
fuzz test (`tests/test_fuzz.py`) follows the same links, so that it runs every operation on
rows that exist, not only on ids it made up.

Only the responses that create rows carry links: from a row just made every operation can be
reached, and each further source would spread the fuzz test's fixed number of steps thinner.
"""

from typing import Any

Link = dict[str, Any]


def link(
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
    operation: Link = {"operationRef": f"#/paths/{pointer}/{method}", "description": description}
    if parameters is not None:
        operation["parameters"] = parameters
    if request_body is not None:
        operation["requestBody"] = request_body
        # Schemathesis sends this body as it is, rather than merged into one it generated,
        # whose extra order lines would name items that do not exist.
        operation["x-schemathesis"] = {"merge_body": False}
    return operation
