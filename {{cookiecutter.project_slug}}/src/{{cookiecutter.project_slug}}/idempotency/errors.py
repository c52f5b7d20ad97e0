"""What a keyed request is refused for."""

from ..kit.errors import ConflictError, UnprocessableError


class KeyReusedError(UnprocessableError):
    def __init__(self) -> None:
        super().__init__(
            "This Idempotency-Key was already used for a different request (another path or "
            "body): use a new key for a new request."
        )


class KeyInFlightError(ConflictError):
    """The first request with the key still holds it after the database's lock timeout (or,
    rarely, a purge took the key between the wait and the read): retryable."""

    def __init__(self) -> None:
        super().__init__("A request with this Idempotency-Key is being processed; retry.")
