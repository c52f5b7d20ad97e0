"""The load benchmark's runs: every scenario of every app of a variant, in rounds."""

import argparse
import contextlib
import re
import tempfile
import time
from pathlib import Path

from bench import BENCH, TEMPLATE
from bench.baking import baseline_tree, migrate, prepare, service_url
from bench.connections import ConnectionCounter
from bench.identity import identity_provider
from bench.model import Result, Scenario, median_round, scenarios
from bench.reports import table
from bench.sampling import profile
from bench.serving import App, apps_for, pgbouncer, seed
from bench.targets import check_targets
from bench.wrk import wrk
from tests.variants import Variant, fresh_database


def run_scenario(
    variant: Variant,
    app: App,
    scenario: Scenario,
    url: str,
    args: argparse.Namespace,
    log: Path,
) -> Result:
    result = Result(variant.id, app.name, scenario.name, scenario.connections)
    counter = ConnectionCounter(variant, url)
    counter.start()
    server = app.start(log)
    try:
        result.cold_start_s = server.cold_start
        wrk(server.port, scenario, scenario.warmup, args.threads, args.items, app.token)
        cpu_before = server.cpu_seconds()
        out = wrk(server.port, scenario, scenario.duration, args.threads, args.items, app.token)
        cpu = server.cpu_seconds() - cpu_before
        result.rss_mb = server.rss_mb()
    finally:
        server.stop()
        result.db_connections = counter.stop()
    errors = out["errors"]
    result.rps = out["requests"] / (out["duration_us"] / 1e6)
    result.cpu_us = 1e6 * cpu / max(out["requests"], 1)
    result.p50_ms = out["latency_us"]["p50"] / 1000
    result.p99_ms = out["latency_us"]["p99"] / 1000
    result.max_ms = out["latency_us"]["max"] / 1000
    result.errors = errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]
    result.timeouts = errors["timeout"]
    result.statuses = out["statuses"]
    result.non_2xx = sum(n for status, n in out["statuses"].items() if not status.startswith("2"))
    text = server.log_text()
    result.pool_timeouts = len(re.findall(r"QueuePool limit|TimeoutError", text))
    return result


def run_variant(variant: Variant, args: argparse.Namespace, workdir: Path) -> list[Result]:
    started = time.perf_counter()
    project = prepare(variant, workdir)
    baseline = None
    if "baseline" in args.apps:
        tree = baseline_tree(args.baseline, workdir)
        baseline = prepare(variant, workdir, tree, name="baseline")
    log = workdir / variant.id / "server.log"
    log.touch()
    results: list[Result] = []
    with fresh_database(variant, workdir / variant.id) as base_url:
        url = service_url(variant, base_url)
        migrate(project, url)
        with contextlib.ExitStack() as stack:
            access = stack.enter_context(identity_provider(project))
            pooler_url = None
            if "pgbouncer" in args.apps and variant.database == "postgres":
                pooler_url = stack.enter_context(pgbouncer(project, url))
            apps = apps_for(
                variant, project, url, workdir, args.apps, pooler_url, baseline, access=access
            )
            seeder = apps_for(variant, project, url, workdir, ["template"], access=access)[0]
            seed(seeder, args.items, log)
            print(f"[{variant.id}] ready in {time.perf_counter() - started:.0f} s", flush=True)
            results += run_apps(variant, apps, url, args, log)
            if args.profile and "template" in args.apps:
                out = BENCH / "profiles" / f"{variant.id}.txt"
                out.parent.mkdir(exist_ok=True)
                template = next(app for app in apps if app.name == "template")
                profile(template, scenarios(args)[0], args, log, out)
                print(f"  profile: {out.relative_to(TEMPLATE)}", flush=True)
    raws = {r.scenario + str(r.connections): r.rps for r in results if r.app == "raw"}
    for result in results:
        raw = raws.get(result.scenario + str(result.connections))
        result.ratio = result.rps / raw if raw else None
    print(f"[{variant.id}] done in {time.perf_counter() - started:.0f} s", flush=True)
    return results


def run_apps(
    variant: Variant, apps: list[App], url: str, args: argparse.Namespace, log: Path
) -> list[Result]:
    """Every scenario for every app, in rounds of all apps back to back; the median round."""
    results: list[Result] = []
    for scenario in scenarios(args):
        rounds: dict[str, list[Result]] = {app.name: [] for app in apps}
        for round_ in range(scenario.rounds):
            for app in apps:
                if round_ > 0 and app.name == "defaults":
                    continue
                result = run_scenario(variant, app, scenario, url, args, log)
                rounds[app.name].append(result)
                print(
                    f"  {app.name:<11}{scenario.id:<10}{result.rps:>9.0f} req/s  "
                    f"{result.cpu_us:>6.0f} us CPU/req  p99 {result.p99_ms:>7.1f} ms  "
                    f"errors {result.errors} non-2xx {result.non_2xx}",
                    flush=True,
                )
        results += [median_round(runs) for runs in rounds.values()]
    return results


def run_variants(variants: list[Variant], args: argparse.Namespace) -> tuple[list[Result], float]:
    """Every variant, one after the other, each one's table and check of the targets printed as
    it ends; the results and the wall time in seconds."""
    results: list[Result] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="load-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for variant in variants:
            results += run_variant(variant, args, workdir)
            print()
            print(table(results, variant.id))
            for target, met, evidence in check_targets(results, variant):
                print(f"  {'ok  ' if met else 'MISS'} {target}: {evidence}")
            print(flush=True)
    wall = time.perf_counter() - started
    print(f"{len(variants)} variants in {wall / 60:.1f} min")
    return results, wall
