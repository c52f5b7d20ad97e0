"""The load generator: one wrk run of a scenario (bench/mix.lua), as mix.lua reports it."""

import json
import subprocess
import time
import uuid
from typing import Any

from bench import BENCH
from bench.model import STOCK_ITEMS, Scenario

# The answers to a request the service did not let in: with them the figures would measure
# its refusals, not its work.
REFUSED = ("401", "403")


class RefusedError(RuntimeError):
    """The app refused the bench's requests: no token, or one it does not accept."""


def wrk(
    port: int,
    scenario: Scenario,
    seconds: float,
    threads: int,
    items: int,
    token: str | None = None,
) -> dict[str, Any]:
    """One run; `token` is sent as `Authorization: Bearer <token>` on every request. Raises
    RefusedError if any answer is a 401 or a 403."""
    command = [
        "wrk",
        "-t",
        str(min(threads, scenario.connections)),
        "-c",
        str(scenario.connections),
        "-d",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(BENCH / "mix.lua"),
        f"http://127.0.0.1:{port}",
        "--",
        scenario.name,
        uuid.uuid4().hex[:10],
        str(items),
        str(int(time.time()) % 100000),
        str(STOCK_ITEMS),
        token or "",
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    for line in completed.stdout.splitlines():
        if line.startswith("BENCHJSON "):
            out: dict[str, Any] = json.loads(line.removeprefix("BENCHJSON "))
            refused = {s: n for s, n in out["statuses"].items() if s in REFUSED}
            if refused:
                raise RefusedError(
                    f"port {port}, {scenario.name}: {refused} of {out['statuses']} "
                    f"({'a token was sent' if token else 'no token was sent'}): the figures "
                    "would measure refusals"
                )
            return out
    raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")
