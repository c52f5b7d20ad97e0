"""Two builds of a service under load at the same time: their throughput ratio, robust to a noisy
machine (issue 14's overhead, a change against its baseline).

    uv run python bench/paired.py [--variant postgres-async-flush-commit] --against unobserved
                                  [--against baseline --baseline d66c60c] [--rounds 5]

bench/load.py runs one app after the other; on a shared 2-core machine whose speed drifts by
20 % within minutes, a 10 % difference between two apps is then within the noise. Here the
template and the other app serve at the same moment, both pinned to one core (the kernel's fair
scheduler gives each half of it), each loaded by its own wrk with half the connections (32 + 32)
and the same scenario, so a slow stretch of the machine slows both alike; what differs is what
each spends per request. The ratio of their requests/s is read in every
round, the order of starting alternating, and the median of the rounds is printed with their
range. A round still moves by several per cent (the core is not the only thing they share: the
database, the other core, the caches), so take five rounds or more and read the median.

Apps, as in bench/load.py: `unobserved` (METRICS_ENABLED=false, LOG_LEVEL=WARNING) and
`baseline` (baked from --baseline REV); `logs-off` and `metrics-off` turn off one of the two,
`timeouts-off` the limits the database enforces; `floor` is FastAPI and SQLAlchemy's ORM
alone (bench/reference/floor_app.py, GET and POST only).
Scenarios: GET one item, POST one item, POST an order, and the mix (bench/mix.lua).
"""

import argparse
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import load  # noqa: E402

from tests.variants import VARIANTS, fresh_database  # noqa: E402

SCENARIOS = ("get", "post", "order", "mix")
# The template with one of its observability settings changed: which of the two costs what.
SETTINGS = {
    "logs-off": {"LOG_LEVEL": "WARNING"},
    "metrics-off": {"METRICS_ENABLED": "false"},
    # The database-enforced limits (PostgreSQL and MySQL; 0 turns each off).
    "timeouts-off": {
        "STATEMENT_TIMEOUT": "0",
        "LOCK_TIMEOUT": "0",
        "IDLE_IN_TRANSACTION_TIMEOUT": "0",
    },
}
CONNECTIONS = 32  # each app's; 64 in all, bench/load.py's first load


@dataclass
class Pair:
    scenario: str
    other: str
    ratios: list[float]
    template_rps: list[float]
    other_rps: list[float]
    errors: int
    non_2xx: int


def load_both(ports: dict[str, int], scenario: str, seconds: float, items: int) -> dict[str, Any]:
    """One wrk per app, started together; each app's wrk result."""
    results: dict[str, Any] = {}
    plan = load.Scenario(scenario, CONNECTIONS, 0, seconds)

    def run(name: str) -> None:
        results[name] = load.wrk(ports[name], plan, seconds, 1, items)

    threads = [threading.Thread(target=run, args=(name,)) for name in ports]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def rps(out: dict[str, Any]) -> float:
    return float(out["requests"]) / (out["duration_us"] / 1e6)


def problems(out: dict[str, Any]) -> tuple[int, int]:
    errors = out["errors"]
    failed = errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]
    non_2xx = sum(n for status, n in out["statuses"].items() if not status.startswith("2"))
    return failed, non_2xx


def pinned(app: load.App, core: int) -> load.App:
    return load.App(
        app.name, ["taskset", "-c", str(core), *app.command], app.cwd, app.env, app.fresh_directory
    )


def measure_pair(
    apps: dict[str, load.App], other: str, scenario: str, args: argparse.Namespace, log: Path
) -> Pair:
    pair = Pair(scenario, other, [], [], [], 0, 0)
    for round_ in range(args.rounds):
        # Alternate which app starts first, so neither always has the warmer cache.
        names = ["template", other] if round_ % 2 == 0 else [other, "template"]
        servers = {name: apps[name].start(log) for name in names}
        try:
            ports = {name: server.port for name, server in servers.items()}
            load_both(ports, scenario, args.warmup, args.items)
            outs = load_both(ports, scenario, args.duration, args.items)
        finally:
            for server in servers.values():
                server.stop()
        for out in outs.values():
            failed, non_2xx = problems(out)
            pair.errors += failed
            pair.non_2xx += non_2xx
        pair.template_rps.append(rps(outs["template"]))
        pair.other_rps.append(rps(outs[other]))
        pair.ratios.append(rps(outs["template"]) / rps(outs[other]))
        print(
            f"  {scenario:<6} round {round_ + 1}: template {rps(outs['template']):6.0f} req/s, "
            f"{other} {rps(outs[other]):6.0f} req/s, ratio {pair.ratios[-1]:.3f}",
            flush=True,
        )
    return pair


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="postgres-async-flush-commit")
    parser.add_argument(
        "--against",
        action="append",
        choices=("unobserved", "baseline", "floor", *SETTINGS),
        required=True,
    )
    parser.add_argument("--baseline", metavar="REV", help="git revision for `baseline`")
    parser.add_argument("--scenario", action="append", choices=SCENARIOS)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--core", type=int, default=0, help="the core both apps share")
    args = parser.parse_args()
    if "baseline" in args.against and not args.baseline:
        parser.error("--against baseline needs --baseline REV")
    variant = next((v for v in VARIANTS if v.id == args.variant), None)
    if variant is None:
        parser.error(f"unknown variant {args.variant}")
    scenarios = args.scenario or list(SCENARIOS)

    pairs: list[Pair] = []
    with tempfile.TemporaryDirectory(prefix="paired-") as tmp:
        workdir = Path(tmp)
        project = load.prepare(variant, workdir)
        baseline = None
        if args.baseline:
            tree = load.baseline_tree(args.baseline, workdir)
            baseline = load.prepare(variant, workdir, tree, name="baseline")
        log = workdir / "server.log"
        log.touch()
        with fresh_database(variant, workdir / "db") as base_url:
            url = load.service_url(variant, base_url)
            load.migrate(project, url)
            own = [*SETTINGS, "floor"]
            names = ["template", *(name for name in args.against if name not in own)]
            built = load.apps_for(variant, project, url, workdir, names, None, baseline)
            for name in args.against:
                if name == "floor":
                    # The stack alone (bench/reference/floor_app.py), in the service's venv.
                    template = built[0]
                    command = [template.command[0], "floor_app:app", *template.command[2:]]
                    built.append(load.App(name, command, BENCH / "reference", template.env))
                if name in SETTINGS:
                    template = built[0]
                    env = {**template.env, **SETTINGS[name]}
                    built.append(load.App(name, template.command, template.cwd, env))
            # Both apps on the same core: the kernel's fair scheduler then gives each half of
            # it, and their requests/s are in the inverse ratio of their CPU per request. The
            # database and the two wrk share the other core.
            apps = {app.name: pinned(app, args.core) for app in built}
            load.seed(apps["template"], args.items, log)
            started = time.perf_counter()
            for other in args.against:
                for scenario in scenarios:
                    pairs.append(measure_pair(apps, other, scenario, args, log))
            wall = time.perf_counter() - started

    print(
        f"\n{variant.id}: the template and another app under load at the same time, "
        f"{CONNECTIONS} connections each, {args.rounds} rounds of {args.duration:.0f} s "
        f"({wall / 60:.1f} min; {load.machine()})\n"
    )
    print(
        "| against | scenario | template vs other, req/s (median) | range "
        "| template req/s | other req/s | errors | non-2xx |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for pair in pairs:
        median = statistics.median(pair.ratios)
        print(
            f"| {pair.other} | {pair.scenario} | {100 * (median - 1):+.1f} % "
            f"| {100 * (min(pair.ratios) - 1):+.1f} to {100 * (max(pair.ratios) - 1):+.1f} % "
            f"| {statistics.median(pair.template_rps):.0f} "
            f"| {statistics.median(pair.other_rps):.0f} | {pair.errors} | {pair.non_2xx} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
