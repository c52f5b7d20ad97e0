"""The load generator: one wrk run of a scenario (bench/mix.lua), as mix.lua reports it."""

import json
import subprocess
import time
import uuid
from typing import Any

from bench import BENCH
from bench.model import STOCK_ITEMS, Scenario


def wrk(port: int, scenario: Scenario, seconds: float, threads: int, items: int) -> dict[str, Any]:
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
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    for line in completed.stdout.splitlines():
        if line.startswith("BENCHJSON "):
            return json.loads(line.removeprefix("BENCHJSON "))
    raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")
