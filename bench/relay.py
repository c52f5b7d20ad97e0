"""The outbox relay's events per second, by mode and batch size (issue 24).

    uv run python -m bench.relay [--database postgres] [--mode async --mode sync]
                                 [--batch-size 10 --batch-size 100 --batch-size 500]
                                 [--events 5000] [--rounds 2] [--limit 60]

Bakes the variant of each mode (`--style`, flush-commit by default) as bench/load.py does,
migrates a fresh database of it, then in every round, for each mode and batch size, runs
bench/relay_driver.py in the baked service's own environment: N unsent outbox rows inserted
straight into the database, the service's own relay loop (outbox/relay.py, what `python -m
<package> relay` runs) until all are marked sent, or `--limit` seconds. The rounds alternate
the modes and batch sizes, so a slow stretch of a shared machine disturbs them alike; the
median of the rounds is printed with their range. The broker is RabbitMQ at --broker-url
(127.0.0.1), with an exchange and queues of the run's own (`bench-relay-<id>`), deleted after
each run; the rows are `order.placed` events, which the service's worker queue is bound to, so
every message is routed to a durable queue and confirmed once RabbitMQ has it (persistent).

A run fails (exit 1) if it did not finish within the limit, left a row unsent or the queue does
not hold one message per row.
"""

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench import BENCH
from bench.baking import migrate, prepare, service_url
from bench.reports import machine
from tests.variants import VARIANTS, Variant, clean_environment, fresh_database

DRIVER = BENCH / "relay_driver.py"
BROKER_URL = "amqp://guest:guest@127.0.0.1:5672/"


def broker_cpu_seconds() -> float:
    """User + system time so far of the RabbitMQ server on this machine (beam.smp): read only,
    to say how much of the machine a run's events took in the broker."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            text = stat.read_text()
            if "(beam.smp)" in text:
                fields = text.rpartition(")")[2].split()
                ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def measure(
    variant: Variant, project: Path, url: str, batch: int, args: argparse.Namespace
) -> dict[str, Any]:
    """One run of the relay over `args.events` rows; the driver's result."""
    name = f"bench-relay-{uuid.uuid4().hex[:8]}"
    env = clean_environment(
        DATABASE_URL=url,
        BROKER_URL=args.broker_url,
        EVENTS_EXCHANGE=name,
        EVENTS_QUEUE=name,
        RELAY_BATCH_SIZE=str(batch),
        # The relay's wait after a short batch: only the last one is, and the clock has stopped.
        RELAY_POLL_INTERVAL="0.05",
        LOG_LEVEL="WARNING",
    )
    command = [str(project / ".venv/bin/python"), str(DRIVER), variant.slug]
    command += ["--events", str(args.events), "--limit", str(args.limit)]
    broker_cpu = broker_cpu_seconds()
    completed = subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, timeout=args.limit + 120
    )
    broker_cpu = broker_cpu_seconds() - broker_cpu
    for line in completed.stdout.splitlines():
        if line.startswith("RELAY "):
            result: dict[str, Any] = json.loads(line.removeprefix("RELAY "))
            # The whole run's (the topology and the clean-up too): an upper bound per event.
            result["broker_cpu_us_per_event"] = 1e6 * broker_cpu / max(1, result["sent"])
            return result
    raise RuntimeError(f"{variant.id} batch {batch}: no result\n{completed.stderr[-3000:]}")


def failed(result: dict[str, Any], events: int) -> bool:
    return not result["complete"] or result["unsent"] != 0 or result["queued"] != events


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="postgres", choices=("postgres", "mysql", "sqlite"))
    parser.add_argument("--mode", action="append", choices=("async", "sync"))
    parser.add_argument(
        "--style", default="flush-commit", choices=("flush-commit", "begin-context")
    )
    parser.add_argument("--batch-size", action="append", type=int)
    parser.add_argument("--events", type=int, default=5000, help="outbox rows per run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--limit", type=float, default=60.0, help="seconds per run at most")
    parser.add_argument("--broker-url", default=BROKER_URL)
    args = parser.parse_args()
    modes = args.mode or ["async", "sync"]
    batches = args.batch_size or [10, 100, 500]
    variants = [
        next(v for v in VARIANTS if v.id == f"{args.database}-{mode}-{args.style}")
        for mode in modes
    ]
    results: dict[tuple[str, int], list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="relay-") as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        targets = []
        for variant in variants:
            project = prepare(variant, workdir)
            (workdir / variant.id / "db").mkdir()  # a SQLite variant's database file goes there
            base_url = stack.enter_context(fresh_database(variant, workdir / variant.id / "db"))
            url = service_url(variant, base_url)
            migrate(project, url)
            targets.append((variant, project, url))
        started = time.perf_counter()
        for round_ in range(args.rounds):
            for variant, project, url in targets:
                for batch in batches:
                    result = measure(variant, project, url, batch, args)
                    results.setdefault((variant.id, batch), []).append(result)
                    print(
                        f"  round {round_ + 1} {variant.id} batch {batch:>4}: "
                        f"{result['events_per_second']:7.0f} events/s, {result['sent']} sent in "
                        f"{result['seconds']:.2f} s ({result['batches']} batches), "
                        f"{result['cpu_us_per_event']:.0f} µs CPU/event "
                        f"(broker {result['broker_cpu_us_per_event']:.0f}), "
                        f"unsent {result['unsent']}, queued {result['queued']}",
                        flush=True,
                    )
        wall = time.perf_counter() - started
    print(
        f"\nThe relay over {args.events} outbox rows, {args.rounds} rounds "
        f"({wall / 60:.1f} min; {machine()})\n"
    )
    print(
        "| variant | batch size | events/s (median) | range | relay CPU µs/event (median) "
        "| broker CPU µs/event (median) |"
    )
    print("|---|---|---|---|---|---|")
    for (variant_id, batch), runs in results.items():
        rates = [r["events_per_second"] for r in runs]
        cpu = statistics.median(r["cpu_us_per_event"] for r in runs)
        broker = statistics.median(r["broker_cpu_us_per_event"] for r in runs)
        print(
            f"| {variant_id} | {batch} | {statistics.median(rates):.0f} "
            f"| {min(rates):.0f} to {max(rates):.0f} | {cpu:.0f} | {broker:.0f} |"
        )
    bad = [
        f"{v} batch {b}"
        for (v, b), runs in results.items()
        if any(failed(r, args.events) for r in runs)
    ]
    if bad:
        print(f"\nFAILED: unfinished, unsent or unqueued events in {', '.join(bad)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
