"""Conditional requests over HTTP (RFC 9110, section 13): the `If-Match` and `If-None-Match`
headers read into conditions on a row's version (kit/versions.py), and their answers (304,
412, 428) for the OpenAPI document.
"""

from typing import Annotated, Any, Protocol

from fastapi import Depends, Header, HTTPException, Request, Response, status
from pydantic.json_schema import SkipJsonSchema

from .responses import ErrorBody
from .versions import ANY_VERSION, VersionCondition, etag

# An entity tag is a quoted string of visible ASCII other than the quote (RFC 9110, 8.8.3); the
# comma, which separates the tags of a list, is refused inside one too (the service's own tags
# are digits). The headers' schema says the same, for clients and the fuzz test; a value
# outside it is refused by parse_tags (400), as a malformed Idempotency-Key is.
ETAG_MAX_LENGTH = 64
_TAG = r'(?:W/)?"[!#-+\--~]{0,62}"'
TAG_LIST_PATTERN = rf"^[ \t]*(?:\*|{_TAG}(?:[ \t]*,[ \t]*{_TAG})*)[ \t]*$"
IF_MATCH_DESCRIPTION = (
    "Do the write only if the row's current `ETag` is one of these (strong comparison; `*`: "
    "any current version). Otherwise 412 and nothing is changed."
)
IF_NONE_MATCH_DESCRIPTION = (
    "Answer 304 Not Modified, without a body, if the row's current `ETag` is one of these."
)
ETAG_HEADER = {
    "ETag": {
        "description": "The row's version, a strong entity tag: send it back in `If-Match`.",
        "schema": {"type": "string", "pattern": '^"[0-9]+"$'},
    }
}


def parse_tags(value: str) -> frozenset[str] | None:
    """The entity tags of an `If-Match` / `If-None-Match` list; None for `*`. Weak tags
    (`W/"..."`) are kept as written: strong comparison never matches them."""
    if value.strip() == "*":
        return None
    tags = frozenset(tag.strip() for tag in value.split(",") if tag.strip())
    for tag in tags:
        bare = tag.removeprefix("W/")
        if (
            len(bare) < 2
            or len(bare) > ETAG_MAX_LENGTH
            or not (bare.startswith('"') and bare.endswith('"'))
            or any(not 0x21 <= ord(c) <= 0x7E or c in '",' for c in bare[1:-1])
        ):
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST,
                'If-Match and If-None-Match take entity tags such as "3" (quoted), or *.',
            )
    return tags


# A header of entity tags, optional and never null: no null in the schema, whose pattern a
# client can then follow.
TagsHeader = str | SkipJsonSchema[None]


def tags_header(name: str, description: str) -> Any:
    """The OpenAPI parameter of the conditional header `name` (a list of entity tags)."""
    return Header(
        alias=name,
        description=description,
        max_length=1024,
        json_schema_extra={"pattern": TAG_LIST_PATTERN},
    )


# `async def` though it never waits: FastAPI calls a plain `def` dependency in its thread
# pool, a hand-off to a worker thread and back on every request (about 290 function calls
# per request, and a thread switch each way).
async def if_match(
    request: Request,
    header: Annotated[TagsHeader, tags_header("If-Match", IF_MATCH_DESCRIPTION)] = None,
) -> VersionCondition:
    """The write's condition. Without the header the write applies to any version, unless the
    service requires conditional writes (IF_MATCH_REQUIRED: 428, RFC 6585)."""
    if header is None:
        if request.app.state.settings.if_match_required:
            raise HTTPException(
                status.HTTP_428_PRECONDITION_REQUIRED,
                "This service requires If-Match on writes to existing rows: send the ETag "
                "of the version you read.",
            )
        return ANY_VERSION
    return VersionCondition(parse_tags(header))


# If-None-Match is a parameter of the read itself, not a dependency of it (If-Match's reader
# needs the settings): FastAPI resolves each dependency of a route on every request at a cost
# of its own, about 75 function calls, and it reads the operation's headers anyway.
IfNoneMatch = Annotated[TagsHeader, tags_header("If-None-Match", IF_NONE_MATCH_DESCRIPTION)]


def none_match(header: str | None) -> frozenset[str] | None:
    """The tags a read may answer 304 for, of its If-None-Match header (`IfNoneMatch`, None
    when absent): an empty set when the header is absent. Read it before the unit of work, so
    a malformed header (400) costs no statement."""
    if header is None:
        return frozenset()
    return parse_tags(header)


IfMatch = Annotated[VersionCondition, Depends(if_match)]


def not_modified(tags: frozenset[str] | None, version: int) -> bool:
    """If-None-Match holds for the row: `*` (any current row) or a tag equal to its version's
    (weak comparison, RFC 9110 13.1.2: W/"3" matches "3")."""
    if tags is None:
        return True
    current = etag(version)
    return any(tag.removeprefix("W/") == current for tag in tags)


# 428 and 304: the answers of kit/http.py itself, for the OpenAPI document (a stale If-Match,
# 412, is a refusal of the unit of work: errors.refusals declares it).
PRECONDITION_REQUIRED: dict[int | str, dict[str, Any]] = {
    428: {
        "model": ErrorBody,
        "description": "If-Match is required (IF_MATCH_REQUIRED) and was not sent.",
    },
}
CONDITIONAL_READ: dict[int | str, dict[str, Any]] = {
    304: {
        "description": "Not Modified: If-None-Match names the row's current ETag.",
        "headers": ETAG_HEADER,
    },
}


class Versioned(Protocol):
    """A response body that is one versioned row (ItemRead, OrderRead)."""

    @property
    def version(self) -> int: ...

    def model_dump_json(self) -> str: ...


def row_response(
    row: Versioned, *, status_code: int = status.HTTP_200_OK, headers: dict[str, str] | None = None
) -> Response:
    """A response that is one row: its JSON (the route's response model, already validated:
    FastAPI does not serialise it again) and its ETag."""
    return Response(
        row.model_dump_json(),
        status_code=status_code,
        media_type="application/json",
        headers={"ETag": etag(row.version), **(headers or {})},
    )
