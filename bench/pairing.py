"""bench/paired.py's library: two apps of a variant under load at the same moment, pinned to one
core, their requests/s ratio per round, and the table of the medians."""

import argparse
import contextlib
import dataclasses
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import BENCH
from bench.baking import baseline_tree, migrate, prepare, service_url
from bench.collector import span_sink
from bench.identity import identity_provider
from bench.model import Scenario
from bench.reports import machine
from bench.serving import App, apps_for, seed
from bench.wrk import wrk
from tests.variants import Variant, fresh_database

PLAIN = ("get", "post", "order", "mix")
# Issue 23's pairs of request shapes (bench/mix.lua), sent to two instances of the same build
# (`--against same`): (the template's, the other's). Their ratio is the first shape's cost per
# request against the second's; nothing else differs. keys: POST /orders with a new
# Idempotency-Key on every request against the same without one (the claim's SAVEPOINT and
# row, the stored response). etags: GET /items/{id} as every client sends it (a 200 with its
# ETag) against the same GET with If-None-Match of the row's tag (a 304 without a body).
SHAPES = {"keys": ("order-keyed", "order"), "etags": ("get", "get-304")}
SCENARIOS = (*PLAIN, *SHAPES)
# The status a shape must be answered with; any other (or a replay, mix.lua) fails the run.
EXPECTED = {"order-keyed": "201", "get-304": "304"}
# The template with one of its settings changed: which of its parts costs what.
SETTINGS = {
    # Access control off: every request runs as the local principal. It is sent the same
    # requests, token included, so the pair differs by the token's verification alone.
    "auth-off": {"AUTH_DISABLED": "true"},
    "logs-off": {"LOG_LEVEL": "WARNING"},
    "metrics-off": {"METRICS_ENABLED": "false"},
    # The database-enforced limits (PostgreSQL and MySQL; 0 turns each off).
    "timeouts-off": {
        "STATEMENT_TIMEOUT": "0",
        "LOCK_TIMEOUT": "0",
        "IDLE_IN_TRANSACTION_TIMEOUT": "0",
    },
}
# The template with `outbox.repository.record` replaced by a no-op in the bench's own server
# module (bench/reference/outbox_off.py), not by a setting of the service: what an outbox row
# costs POST /orders (issue 24; with `--scenario order`).
OUTBOX_OFF = "outbox-off"
# The template with traces on (issue 25), exporting over OTLP/HTTP to a local receiver
# (bench/collector.py) that keeps nothing: every request's spans made, batched and sent.
TRACES_ON = "traces-on"
# The same with one trace in ten recorded (OTEL_TRACES_SAMPLER=traceidratio, ARG=0.1): the
# others' spans are made non-recording and never exported.
TRACES_SAMPLED = "traces-sampled"
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


def shapes_of(scenario: str, names: list[str]) -> dict[str, str]:
    """The request shape each app is sent: the scenario's own, or its pair's (SHAPES)."""
    if scenario not in SHAPES:
        return dict.fromkeys(names, scenario)
    return {name: SHAPES[scenario][name != "template"] for name in names}


def load_both(
    ports: dict[str, int],
    tokens: dict[str, str | None],
    shapes: dict[str, str],
    seconds: float,
    items: int,
) -> dict[str, Any]:
    """One wrk per app, started together, each with its app's token and request shape; each
    app's wrk result."""
    results: dict[str, Any] = {}
    failures: list[BaseException] = []

    def run(name: str) -> None:
        try:
            plan = Scenario(shapes[name], CONNECTIONS, 0, seconds)
            results[name] = wrk(ports[name], plan, seconds, 1, items, tokens[name])
        except BaseException as error:  # raised again in the caller's thread
            failures.append(error)

    threads = [threading.Thread(target=run, args=(name,)) for name in ports]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return results


def rps(out: dict[str, Any]) -> float:
    return float(out["requests"]) / (out["duration_us"] / 1e6)


def problems(out: dict[str, Any], shape: str) -> tuple[int, int]:
    """Socket errors, and answers other than the shape's expected status (a 2xx by default)."""
    errors = out["errors"]
    failed = errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]
    expected = EXPECTED.get(shape, "2")
    unexpected = sum(n for status, n in out["statuses"].items() if not status.startswith(expected))
    return failed, unexpected


def pinned(app: App, core: int) -> App:
    return dataclasses.replace(app, command=["taskset", "-c", str(core), *app.command])


def measure_pair(
    apps: dict[str, App], other: str, scenario: str, args: argparse.Namespace, log: Path
) -> Pair:
    pair = Pair(scenario, other, [], [], [], 0, 0)
    for round_ in range(args.rounds):
        # Alternate which app starts first, so neither always has the warmer cache.
        names = ["template", other] if round_ % 2 == 0 else [other, "template"]
        servers = {name: apps[name].start(log) for name in names}
        try:
            ports = {name: server.port for name, server in servers.items()}
            tokens = {name: apps[name].token for name in names}
            shapes = shapes_of(scenario, names)
            load_both(ports, tokens, shapes, args.warmup, args.items)
            outs = load_both(ports, tokens, shapes, args.duration, args.items)
        finally:
            for server in servers.values():
                server.stop()
        for name, out in outs.items():
            failed, non_2xx = problems(out, shapes[name])
            pair.errors += failed
            pair.non_2xx += non_2xx
            if failed or non_2xx:
                print(f"  !! {name}: {failed} socket errors, statuses {out['statuses']}")
        pair.template_rps.append(rps(outs["template"]))
        pair.other_rps.append(rps(outs[other]))
        pair.ratios.append(rps(outs["template"]) / rps(outs[other]))
        print(
            f"  {scenario:<6} round {round_ + 1}: template {rps(outs['template']):6.0f} req/s, "
            f"{other} {rps(outs[other]):6.0f} req/s, ratio {pair.ratios[-1]:.3f}",
            flush=True,
        )
    return pair


def run(variant: Variant, args: argparse.Namespace, scenarios: list[str]) -> bool:
    """Bake, migrate and seed; measure each pair in every scenario; print the table. False if
    any answer was not a 2xx or any request failed: a ratio of two apps of which one answers
    errors compares nothing (401 and 403 stop the run at once: bench/wrk.py)."""
    pairs: list[Pair] = []
    with tempfile.TemporaryDirectory(prefix="paired-") as tmp:
        workdir = Path(tmp)
        project = prepare(variant, workdir)
        baseline = None
        if args.baseline:
            tree = baseline_tree(args.baseline, workdir)
            baseline = prepare(variant, workdir, tree, name="baseline")
        log = workdir / "server.log"
        log.touch()
        (workdir / "db").mkdir()  # a SQLite variant's database file goes there
        with contextlib.ExitStack() as stack:
            base_url = stack.enter_context(fresh_database(variant, workdir / "db"))
            access = stack.enter_context(identity_provider(project))
            url = service_url(variant, base_url)
            migrate(project, url)
            own = [*SETTINGS, "floor", "same", OUTBOX_OFF, TRACES_ON, TRACES_SAMPLED]
            names = ["template", *(name for name in args.against if name not in own)]
            built = apps_for(variant, project, url, workdir, names, None, baseline, access=access)
            for name in args.against:
                template = built[0]
                if name == "floor":
                    # The stack alone (bench/reference/floor_app.py), in the service's venv; no
                    # access control, so no token.
                    command = [template.command[0], "floor_app:app", *template.command[2:]]
                    built.append(App(name, command, BENCH / "reference", template.env))
                if name in SETTINGS:
                    env = {**template.env, **SETTINGS[name]}
                    built.append(dataclasses.replace(template, name=name, env=env))
                if name == OUTBOX_OFF:
                    # The template whose units of work record no outbox row (issue 24;
                    # bench/reference/outbox_off.py): the same build, code and token.
                    command = [template.command[0], "outbox_off:app", *template.command[2:]]
                    env = {**template.env, "BENCH_SERVICE_PACKAGE": variant.slug}
                    cwd = BENCH / "reference"
                    built.append(
                        dataclasses.replace(template, name=name, command=command, cwd=cwd, env=env)
                    )
                if name in (TRACES_ON, TRACES_SAMPLED):
                    traces = {
                        "OTEL_TRACES_EXPORTER": "otlp",
                        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": stack.enter_context(span_sink()),
                    }
                    if name == TRACES_SAMPLED:
                        traces |= {
                            "OTEL_TRACES_SAMPLER": "traceidratio",
                            "OTEL_TRACES_SAMPLER_ARG": "0.1",
                        }
                    env = {**template.env, **traces}
                    built.append(dataclasses.replace(template, name=name, env=env))
                if name == "same":
                    # A second instance of the template itself: the pair differs by the
                    # requests sent (SHAPES), or, with a plain scenario, by nothing (the noise).
                    built.append(dataclasses.replace(template, name=name))
            # Both apps on the same core: the kernel's fair scheduler then gives each half of
            # it, and their requests/s are in the inverse ratio of their CPU per request. The
            # database and the two wrk share the other core.
            apps = {app.name: pinned(app, args.core) for app in built}
            seed(apps["template"], args.items, log)
            started = time.perf_counter()
            for other in args.against:
                for scenario in scenarios:
                    pairs.append(measure_pair(apps, other, scenario, args, log))
            wall = time.perf_counter() - started

    print(
        f"\n{variant.id}: the template and another app under load at the same time, "
        f"{CONNECTIONS} connections each, {args.rounds} rounds of {args.duration:.0f} s "
        f"({wall / 60:.1f} min; {machine()})\n"
    )
    print(
        "| against | scenario | template vs other, req/s (median) | range "
        "| template req/s | other req/s | errors | unexpected status |"
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
    failed = [f"{p.other} {p.scenario}" for p in pairs if p.errors or p.non_2xx]
    if failed:
        print(
            f"\nFAILED: errors or unexpected answers in {', '.join(failed)}: see the rounds above"
        )
    return not failed
