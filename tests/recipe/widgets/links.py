"""OpenAPI links of the widgets' responses (see kit/links.py)."""

from ..kit.links import link

# A response that is one widget: POST /widgets.
WIDGET = {
    "GetWidget": link(
        "get",
        "/widgets/{widget_id}",
        "Read the widget.",
        parameters={"widget_id": "$response.body#/id"},
    ),
}
