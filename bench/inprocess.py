"""CPU time per request of an ASGI app, driven in-process (no HTTP server, no client).

    PYTHON inprocess.py MODULE:APP SCENARIO [--requests N] [--concurrency C] [--items I]
                                            [--token TOKEN] [--calls]

Runs in the app's own environment (bench/cost.py starts it with the baked service's Python or
the raw reference's): the app's lifespan, then `--requests` requests of SCENARIO (get: GET
/items/{random id}; post: POST /items with a unique name; order: POST /orders of two stock
items, as bench/mix.lua sends them; order-keyed and get-304: the same with a new
Idempotency-Key per request, and with If-None-Match of the seeded rows' tag, as mix.lua's
shapes of those names; a replayed answer counts as status "replayed") through the ASGI
interface, `--concurrency` at a time, on uvloop, after a warm-up of a fifth as many, in
`--rounds` rounds. Prints one line
`INPROCESS {json}` with the process's CPU time (user + system, every thread) per request of
the least disturbed round (other processes can only add to it), every round's, and the
statuses. The HTTP server's own cost (uvicorn, httptools) is the same for every app and left
out, so the figures compare what the apps themselves spend. With --calls it also counts the
function calls per request of the measured rounds (every thread): a figure that does not move
from run to run, for changes too small to see in CPU time on a shared machine. With --token
every request carries `Authorization: Bearer TOKEN` (the generated service's access control;
bench/identity.py runs the identity provider that issued it).
"""

import argparse
import asyncio
import importlib
import itertools
import json
import random
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

STOCK_ITEMS = 100  # as bench/load.py seeds them, after the items


Request = tuple[str, str, bytes, list[tuple[bytes, bytes]]]


def request_for(scenario: str, n: int, items: int, prefix: str) -> Request:
    if scenario in ("get", "get-304"):
        # The seeded rows are at version 1 and no scenario here writes them.
        conditional = [(b"if-none-match", b'"1"')] if scenario == "get-304" else []
        return "GET", f"/items/{random.randint(1, items)}", b"", conditional
    if scenario == "post":
        body = {"name": f"{prefix}-{n}", "quantity": random.randint(0, 1000)}
        return "POST", "/items", json.dumps(body).encode(), []
    first, second = random.sample(range(1, STOCK_ITEMS + 1), 2)
    lines = [{"item_id": items + first, "quantity": 1}, {"item_id": items + second, "quantity": 1}]
    # n is unique within the run and prefix per run: every key is a first claim.
    key = [(b"idempotency-key", f"{prefix}-{n}".encode())] if scenario == "order-keyed" else []
    return "POST", "/orders", json.dumps({"lines": lines}).encode(), key


async def call(
    app: Any,
    method: str,
    path: str,
    body: bytes,
    headers: list[tuple[bytes, bytes]],
    extra: list[tuple[bytes, bytes]],
) -> int | str:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *headers,
            *extra,
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    status: int | str = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            if (b"idempotent-replayed", b"true") in message.get("headers", []):
                status = "replayed"  # not the first claim's cost: the caller fails on it

    await app(scope, receive, send)
    return status


async def drive(app: Any, args: argparse.Namespace) -> dict[str, Any]:
    prefix = uuid.uuid4().hex[:8]
    statuses: Counter[int | str] = Counter()
    slots = asyncio.Semaphore(args.concurrency)
    extra = [(b"authorization", f"Bearer {args.token}".encode())] if args.token else []

    async def one(n: int) -> None:
        async with slots:
            request = request_for(args.scenario, n, args.items, prefix)
            statuses[await call(app, *request, extra)] += 1

    async def batch(first: int, count: int) -> None:
        await asyncio.gather(*(one(first + n) for n in range(count)))

    per_request: list[float] = []
    counter = CallCounter()
    if args.calls:
        counter.install()
    async with app.router.lifespan_context(app):
        await batch(0, max(1, args.requests // 5))
        statuses.clear()
        counter.counting = args.calls
        for round_ in range(1, args.rounds + 1):
            cpu = time.process_time()
            await batch(round_ * args.requests, args.requests)
            per_request.append(1e6 * (time.process_time() - cpu) / args.requests)
        counter.counting = False
    return {
        "calls_per_request": counter.total() / (args.rounds * args.requests)
        if args.calls
        else None,
        "scenario": args.scenario,
        "requests": args.requests,
        # The least disturbed round: other processes on the machine only ever add to it.
        "cpu_us_per_request": min(per_request),
        "rounds_cpu_us": [round(us) for us in per_request],
        "statuses": {str(k): v for k, v in statuses.items()},
    }


class CallCounter:
    """Counts every function call (Python and C) while `counting` is set, in this thread and in
    every thread started after `install()`: the worker threads of sync services start during
    the warm-up. Deterministic, where CPU time moves by 10 % from run to run on a shared
    machine; the profiler slows the calls it counts, so CPU time is not read in the same run."""

    def __init__(self) -> None:
        self.counting = False
        self.calls = itertools.count()

    def profile(self, _frame: Any, event: str, _arg: Any) -> None:
        if self.counting and (event == "call" or event == "c_call"):
            next(self.calls)  # atomic under the GIL

    def install(self) -> None:
        sys.setprofile(self.profile)
        threading.setprofile(self.profile)

    def total(self) -> int:
        return next(self.calls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app", help="MODULE:ATTRIBUTE of the ASGI app")
    parser.add_argument("scenario", choices=("get", "post", "order", "order-keyed", "get-304"))
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds; the least counts")
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--path", action="append", default=[], help="prepend to sys.path")
    parser.add_argument(
        "--calls", action="store_true", help="count function calls per request instead of CPU"
    )
    parser.add_argument("--token", help="a bearer token to send with every request")
    args = parser.parse_args()
    sys.path[:0] = [str(Path(p).resolve()) for p in args.path]
    module, _, attribute = args.app.partition(":")
    app = getattr(importlib.import_module(module), attribute)
    random.seed(1)
    import uvloop

    result = uvloop.run(drive(app, args))
    print("INPROCESS " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
