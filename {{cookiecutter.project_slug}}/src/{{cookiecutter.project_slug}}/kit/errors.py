"""What a unit of work reports when the request cannot be done: domain errors, free of HTTP.

Each resource's `errors.py` subclasses these; units of work (`*/services.py`) raise them, and
`errors.py` of the service, the HTTP layer, maps each base class to a status in one handler. A
unit of work never raises HTTPException: it does not know it serves HTTP, and an exception
raised inside it always rolls its transaction back.
"""


class ServiceError(Exception):
    """A request the service refuses; `detail` is safe to show to the client."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def extra(self) -> dict[str, object]:
        """Fields of the error body beside `detail`, for clients that act on them."""
        return {}


class NotFoundError(ServiceError):
    def __init__(self, kind: str, key: int) -> None:
        super().__init__(f"{kind} {key} not found.")
        self.kind = kind
        self.key = key


class ConflictError(ServiceError):
    """The request contradicts the stored state (e.g. cancelling a cancelled order)."""


class UnprocessableError(ServiceError):
    """The request is well formed but cannot be done as sent (e.g. an idempotency key reused
    for another request)."""


class PreconditionFailedError(ServiceError):
    """The client's condition on the stored state does not hold: its `If-Match` names a
    version the row no longer has. Nothing was changed."""

    def __init__(self, kind: str, key: int) -> None:
        super().__init__(
            f"{kind} {key} has changed since the version the request names (If-Match); "
            "nothing was changed. Read it again and retry with its new ETag."
        )
