"""The resources' routers, made routes of the app itself."""

from fastapi import APIRouter, FastAPI


def include(app: FastAPI, router: APIRouter) -> None:
    """Add `router`'s operations to `app`, as `app.include_router(router)` does, but as the
    app's own routes. An included router is one more route that FastAPI (0.165) matches by
    trying each of its routes with scope keys set and restored around every try: about 300
    function calls per request. Each route the router made is already complete (the router's
    prefix, tags, responses and dependencies are in it), so the OpenAPI document, the matching
    order and the answers are the same."""
    app.router.routes.extend(router.routes)
