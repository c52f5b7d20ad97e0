"""The identity provider's signing keys: its JWKS, fetched over HTTP and cached.

A token names its key by `kid`. A known key is used from the cache, with no I/O. The cache is
fetched again after `auth_jwks_cache_seconds`, by the request that finds it due (the others keep
using the cached keys meanwhile), and at once when a token names a key it does not hold (the
provider rotated its keys); but never more than once per `auth_jwks_refresh_interval`: a flood
of tokens with made-up `kid`s costs the provider one request per interval, not one per token. A
fetch that fails keeps the keys already held, so a provider that is down rejects only tokens
whose key was never fetched (503, not 401: the token may be fine).

The fetch is blocking (urllib), run in a worker thread and bounded by `auth_jwks_timeout`; one
fetch at a time, and the requests that wait for it share its result.
"""

import http.client
import json
import logging
import math
import time
import urllib.request
from typing import Any

import anyio
import anyio.to_thread
import jwt

from .errors import InvalidTokenError, KeySetUnavailableError

logger = logging.getLogger(__name__)

# A JWKS is a few kilobytes; anything much larger is not one.
MAX_JWKS_BYTES = 1_000_000


def fetch_jwks(url: str, timeout: float) -> dict[str, Any]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body = response.read(MAX_JWKS_BYTES + 1)
    if len(body) > MAX_JWKS_BYTES:
        raise ValueError("the JWKS is larger than any key set")
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError("the JWKS is not a JSON object")
    return data


class KeySet:
    def __init__(
        self,
        url: str,
        *,
        algorithms: list[str],
        timeout: float,
        cache_seconds: float,
        refresh_interval: float,
    ) -> None:
        self.url = url
        self.algorithms = frozenset(algorithms)
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        self.refresh_interval = refresh_interval
        self.keys: dict[str | None, jwt.PyJWK] = {}
        self.fetched_at = -math.inf
        self.attempted_at = -math.inf
        # Whether the last fetch succeeded: a key missing after a failed one may exist.
        self.reachable = False
        # Counts the fetches that succeeded: what was verified with the keys of an earlier
        # fetch is verified again with the new ones (a key the provider removed is gone).
        self.generation = 0
        self.lock = anyio.Lock()

    async def key(self, kid: str | None) -> jwt.PyJWK:
        """The key a token names; InvalidTokenError when the provider does not have it,
        KeySetUnavailableError when the provider cannot be asked."""
        key = self.lookup(kid)
        if key is not None and (
            time.monotonic() - self.fetched_at < self.cache_seconds or self.lock.locked()
        ):
            # Fresh; or due for a fetch that another request is making: until it ends, the
            # cached key serves, so a slow provider delays one request, not all of them.
            return key
        await self.refresh()
        key = self.lookup(kid)
        if key is not None:
            return key
        if not self.reachable:
            raise KeySetUnavailableError(
                "The identity provider's keys cannot be fetched; try again later."
            )
        raise InvalidTokenError(
            "The token is signed with a key the identity provider does not have."
        )

    def lookup(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None and len(self.keys) == 1:
            # A provider with one key may leave `kid` out of its tokens.
            return next(iter(self.keys.values()))
        return self.keys.get(kid)

    async def refresh(self) -> None:
        async with self.lock:
            now = time.monotonic()
            if now - self.attempted_at < self.refresh_interval:
                return  # fetched (or tried) a moment ago, perhaps while this request waited
            self.attempted_at = now
            try:
                with anyio.fail_after(self.timeout):
                    data = await anyio.to_thread.run_sync(
                        fetch_jwks, self.url, self.timeout, abandon_on_cancel=True
                    )
                keys = self.usable_keys(data)
            except (
                OSError,  # refused, reset, DNS, an HTTP error status (urllib's HTTPError)
                TimeoutError,
                http.client.HTTPException,  # something answered that does not speak HTTP
                ValueError,  # not JSON, not a key set, too large
                RecursionError,  # JSON nested deeper than the parser recurses
                jwt.PyJWKSetError,
            ) as error:
                self.reachable = False
                logger.warning(
                    "identity provider's JWKS not fetched",
                    extra={"error.type": f"{type(error).__module__}.{type(error).__qualname__}"},
                )
                return
            self.keys = keys
            self.fetched_at = time.monotonic()
            self.reachable = True
            self.generation += 1

    def usable_keys(self, data: dict[str, Any]) -> dict[str | None, jwt.PyJWK]:
        """The signing keys of an accepted algorithm, by `kid`. A key without `alg` gets its
        type's default (RSA: RS256; EC: by its curve)."""
        keys: dict[str | None, jwt.PyJWK] = {}
        for key in jwt.PyJWKSet.from_dict(data).keys:
            if key.public_key_use not in (None, "sig"):
                continue
            if key.algorithm_name in self.algorithms:
                keys[key.key_id] = key
        return keys
