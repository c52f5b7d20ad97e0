"""What a keyed request is refused for."""

from ..kit.errors import ConflictError, UnprocessableError


class KeyReusedError(UnprocessableError):
    """The Idempotency-Key was used before, by this caller on this operation, for a different
    request (another path or body)."""

    def __init__(self) -> None:
        super().__init__(
            "This Idempotency-Key was already used for a different request (another path or "
            "body): use a new key for a new request."
        )


class KeyInFlightError(ConflictError):
    """A request with the same Idempotency-Key was still being processed after the database's
    lock timeout (or, rarely, a purge took the key meanwhile): retry."""

    def __init__(self) -> None:
        super().__init__("A request with this Idempotency-Key is being processed; retry.")
