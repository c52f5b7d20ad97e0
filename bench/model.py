"""What the load benchmark runs and records: its apps, scenarios and results (bench/load.py)."""

import argparse
from dataclasses import dataclass, field

APPS = ("template", "defaults", "raw", "workers2", "pgbouncer", "unobserved", "baseline")
DEFAULT_APPS = ["template", "defaults", "raw"]
POOL_SIZE = 10  # the generated services' default pool_size (max_overflow 0)
WORKERS = 2  # of the `workers2` app
STOCK_ITEMS = 100  # seeded after the items, for the orders
STOCK = 1_000_000_000  # each stock item's: no run takes it all


@dataclass
class Scenario:
    name: str  # mix | get | post
    connections: int
    warmup: float
    duration: float
    rounds: int = 1

    @property
    def id(self) -> str:
        return f"{self.name}@{self.connections}"


@dataclass
class Result:
    variant: str
    app: str
    scenario: str
    connections: int
    rps: float = 0.0
    cpu_us: float = 0.0  # the server's CPU time per request answered
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    errors: int = 0
    timeouts: int = 0
    non_2xx: int = 0
    pool_timeouts: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    db_connections: int | None = None
    rss_mb: float = 0.0
    cold_start_s: float = 0.0
    ratio: float | None = None
    round_rps: list[float] = field(default_factory=list)  # every round's, when rounds > 1


def scenarios(args: argparse.Namespace) -> list[Scenario]:
    mixes = [
        Scenario("mix", c, args.warmup, args.duration, args.mix_rounds) for c in args.connections
    ]
    singles = [
        Scenario(
            name, args.connections[0], args.endpoint_warmup, args.endpoint_duration, args.rounds
        )
        for name in ("get", "post", "order")
        if args.endpoint_duration > 0
    ]
    return mixes + singles


def median_round(runs: list[Result]) -> Result:
    """The run with the median requests/s (the lower one of an even count), with every run's
    requests/s, errors summed over all runs so none is hidden."""
    ordered = sorted(runs, key=lambda r: r.rps)
    median = ordered[(len(ordered) - 1) // 2]
    if len(runs) > 1:
        median.round_rps = [r.rps for r in runs]
        median.errors = sum(r.errors for r in runs)
        median.timeouts = sum(r.timeouts for r in runs)
        median.non_2xx = sum(r.non_2xx for r in runs)
        median.pool_timeouts = sum(r.pool_timeouts for r in runs)
    return median
