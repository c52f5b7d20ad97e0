"""Row versions as the HTTP layer shows them (a strong `ETag`, RFC 9110) and the condition a
write puts on them (`If-Match`), for the units of work to check.

Every versioned row (items, orders: the models' `version_id_col`) answers with `ETag: "<n>"`,
its version. A write that names the version it read (`If-Match`) is done only if the row still
has it: the unit of work compares it with the row it loaded (`VersionCondition.check`), and the
versioned UPDATE compares it again at the database, so a change that lands in between is
refused too (412 either way). The headers are read in kit/http.py.
"""

from dataclasses import dataclass

from .errors import PreconditionFailedError


def etag(version: int) -> str:
    return f'"{version}"'


@dataclass(frozen=True, slots=True)
class VersionCondition:
    """The versions a write may apply to (`If-Match`); `tags` None: any (`*`)."""

    tags: frozenset[str] | None

    def check(self, kind: str, key: int, version: int) -> None:
        """Refuse the write (412) unless the row's version is one the client named."""
        if self.tags is not None and etag(version) not in self.tags:
            raise PreconditionFailedError(kind, key)


ANY_VERSION = VersionCondition(tags=None)
