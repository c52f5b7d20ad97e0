"""Idempotency inside a unit of work: the key is claimed by the unit of work's own transaction
and its response is stored before that transaction commits, so the effect and the key are kept
together or not at all. A unit of work that takes a key reads:

    claimed = await claim(session, key, ITEM)      # first, before any other statement
    if claimed.replay is None:
        ...                                        # the effect
        claimed.remember(ItemRead.model_validate(item))
    # commit (or the end of the begin() block), then
    return claimed.outcome

`claim` inserts the key's row in a savepoint, so that a duplicate leaves the transaction
usable. A concurrent request with the same key waits on the unique index until the first one
ends: if it committed, its stored response is the replay and the unit of work does nothing
else; if it rolled back, the key is free and this request claims it.
"""

from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import TypeAdapter
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..database.errors import failure_of
from ..database.failures import Failure
from . import repository
from .errors import KeyInFlightError, KeyReusedError
from .keys import RequestKey
from .models import IdempotencyRecord

Response = TypeVar("Response")


@dataclass(frozen=True, slots=True)
class Outcome(Generic[Response]):
    """A keyed unit of work's answer: its own, or the stored one of the request it repeats."""

    response: Response
    replayed: bool = False


class Claim(Generic[Response]):
    """The unit of work's hold on its key: the replay, or the row its response goes in."""

    def __init__(
        self,
        schema: TypeAdapter[Response],
        record: IdempotencyRecord | None = None,
        replay: Outcome[Response] | None = None,
    ) -> None:
        self.schema = schema
        self.record = record
        self.replay = replay
        self._outcome = replay

    def remember(self, response: Response) -> None:
        """Store the unit of work's response in its key's row (the commit's flush writes it)."""
        if self.record is not None:
            self.record.response = self.schema.dump_json(response).decode()
        self._outcome = Outcome(response)

    @property
    def outcome(self) -> Outcome[Response]:
        if self._outcome is None:
            raise RuntimeError("the unit of work neither replayed nor remembered its response")
        return self._outcome


async def claim(
    session: AsyncSession, key: RequestKey | None, schema: TypeAdapter[Response]
) -> Claim[Response]:
    """Claim `key` for this unit of work, or find the stored response it repeats. Raises
    KeyReusedError (the key's request was another one) and KeyInFlightError (the first request
    still holds the key after the database's lock timeout)."""
    if key is None:
        return Claim(schema)
    try:
        async with session.begin_nested():
            return Claim(schema, await repository.insert_key(session, key))
    except IntegrityError:
        pass  # taken by a request that committed: replay it, below
    except DBAPIError as error:
        failure = failure_of(error)
        if failure is not None and failure.kind is Failure.TIMEOUT:
            raise KeyInFlightError() from error
        raise
    record = await repository.stored_key(session, key)
    if record is None:
        raise KeyInFlightError()  # purged between the two statements: retryable
    if record.created_at < key.not_before:
        # Past its retention and not yet purged: the key is free again.
        await repository.delete_key(session, record)
        async with session.begin_nested():
            return Claim(schema, await repository.insert_key(session, key))
    if record.fingerprint != key.fingerprint:
        raise KeyReusedError()
    if record.response is None:  # not reached: a committed key always has its response
        raise KeyInFlightError()
    return Claim(schema, replay=Outcome(schema.validate_json(record.response), replayed=True))
