"""What the outbox refuses: an event it could not deliver as recorded."""


class EventPayloadError(TypeError):
    """An event's payload is not JSON (a set, a datetime, NaN...): refused where it is recorded,
    before the commit, so a unit of work never stores an event the worker could not read. It is
    the code's error, not the client's: the request fails (500) and its transaction rolls back."""

    def __init__(self, kind: str, error: Exception) -> None:
        super().__init__(f"The payload of a {kind!r} event is not JSON: {error}")
        self.kind = kind
