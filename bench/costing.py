"""bench/cost.py's library: the apps driven in-process by bench/inprocess.py, the rounds that
alternate between them, the table, and the profile split by layer."""

import argparse
import contextlib
import json
import re
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

from bench import BENCH, TEMPLATE
from bench.baking import baseline_tree, migrate, pip_install, reference_venv, service_url
from bench.collector import span_sink
from bench.identity import Access, identity_provider
from bench.serving import apps_for, raw_environment, seed
from tests.variants import Variant, bake, clean_environment, fresh_database

INPROCESS = BENCH / "inprocess.py"


def bake_project(template: Path, variant: Variant, out: Path) -> Path:
    """`variant` baked from `template` into `out`, compiled, with uvloop (inprocess.py's loop)
    and py-spy (--profile) in its venv."""
    project = bake(variant, out, template=template, compile_bytecode=True)
    pip_install(project / ".venv/bin/python", "uvloop", "py-spy")
    return project


class App:
    def __init__(
        self,
        name: str,
        python: Path,
        target: str,
        cwd: Path,
        env: dict[str, str],
        token: str | None = None,
    ):
        self.name, self.python, self.target, self.cwd, self.env = name, python, target, cwd, env
        self.token = token  # sent with every request; None for raw and floor (no access control)

    def command(self, scenario: str, args: argparse.Namespace, *options: str) -> list[str]:
        return [
            str(self.python),
            str(INPROCESS),
            self.target,
            scenario,
            "--requests",
            str(args.requests),
            "--rounds",
            str(args.inner_rounds),
            "--path",
            str(self.cwd),
            *(["--token", self.token] if self.token else []),
            *options,
        ]

    def measure(self, scenario: str, args: argparse.Namespace, *options: str) -> dict[str, object]:
        completed = subprocess.run(
            self.command(scenario, args, *options),
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        for line in completed.stdout.splitlines():
            if line.startswith("INPROCESS "):
                result: dict[str, object] = json.loads(line.removeprefix("INPROCESS "))
                statuses: dict[str, int] = result["statuses"]  # type: ignore[assignment]
                # A 304 is what get-304 asks for; a replay (inprocess.py) is not a first claim.
                expected = "304" if scenario == "get-304" else "2"
                if any(not status.startswith(expected) for status in statuses):
                    # The CPU of refusals or errors is not a request's cost.
                    raise RuntimeError(f"{self.name} {scenario}: non-2xx answers {statuses}")
                return result
        raise RuntimeError(f"{self.name} {scenario}: no result\n{completed.stderr[-3000:]}")


def service_app(
    name: str, project: Path, variant: Variant, url: str, access: Access, **settings: str
) -> App:
    """The service baked in `project`, trusting `access`'s identity provider and called with
    its token; `settings` on top (AUTH_DISABLED=true: the same token, unverified)."""
    # `settings` win over the provider's (which say AUTH_DISABLED=false).
    env = clean_environment(**{"DATABASE_URL": url, **access.environment, **settings})
    target = f"{variant.slug}.main:app"
    return App(name, project / ".venv/bin/python", target, project, env, access.token)


def outbox_off_app(project: Path, variant: Variant, url: str, access: Access) -> App:
    """The service with `outbox.repository.record` a no-op (bench/reference/outbox_off.py):
    the same build, settings and token, no outbox row (issue 24)."""
    env = clean_environment(
        DATABASE_URL=url, BENCH_SERVICE_PACKAGE=variant.slug, **access.environment
    )
    python = project / ".venv/bin/python"
    return App("outbox-off", python, "outbox_off:app", BENCH / "reference", env, access.token)


def floor_app(project: Path, url: str) -> App:
    env = clean_environment(DATABASE_URL=url)
    return App("floor", project / ".venv/bin/python", "floor_app:app", BENCH / "reference", env)


def runs(app: App, scenario: str) -> bool:
    # The references know neither Idempotency-Key nor If-None-Match (issue 23's shapes).
    if scenario in ("order-keyed", "get-304"):
        return app.name not in ("raw", "floor")
    return app.name != "floor" or scenario in ("get", "post")


def raw_app(variant: Variant, url: str, workdir: Path) -> App:
    venv = reference_venv(workdir)
    env = raw_environment(variant, url)
    return App("raw", venv / "bin/python", "raw_app:app", BENCH / "reference", env)


# --- the profile, split by layer ------------------------------------------------------------------

# The layer of a sample: the first rule that matches its innermost frame, else the first that
# matches any frame from the inside out. The standard library's time belongs to its caller.
LAYERS = [
    ("logging (the service's JSON lines)", r"/logging/|/logs\.py"),
    ("metrics (prometheus-client)", r"/prometheus_client/"),
    ("driver", r"/(asyncpg|psycopg|aiomysql|pymysql|aiosqlite)/|sqlite3"),
    ("validation and serialisation (pydantic)", r"/pydantic(_core)?/"),
    ("SQLAlchemy (ORM, Core, pool)", r"/sqlalchemy/|/greenlet/"),
    ("dependency resolution (FastAPI)", r"/fastapi/dependencies/|^solve_dependencies "),
    ("the service's own code", r"/src/\w+/"),
    ("HTTP framework (FastAPI, Starlette routing, middleware)", r"/(fastapi|starlette)/"),
    ("anyio", r"/anyio/"),
    ("event loop (uvloop, asyncio)", r"uvloop|/asyncio/"),
]
STDLIB = re.compile(r"lib/python3\.\d+/(?!site-packages)")


def layer_of(frames: list[str]) -> str:
    if not any(frames):
        return "no Python frame (C code: garbage collection, extensions)"
    for frame in reversed(frames):
        if STDLIB.search(frame) and not re.search(r"/logging/|/asyncio/|sqlite3", frame):
            continue  # the standard library's time goes to the caller that is not in it
        for name, pattern in LAYERS:
            if re.search(pattern, frame):
                return name
        return "other"
    return "other"


def split_by_layer(raw: str) -> Counter[str]:
    layers: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        if any("_find_and_load" in frame for frame in frames):
            continue  # start-up imports (py-spy records no idle time, so the rest is requests)
        layers[layer_of(frames)] += int(count)
    return layers


def profile(app: App, scenario: str, args: argparse.Namespace, out: Path) -> str:
    raw = out.with_suffix(".raw")
    spy = [str(app.python.parent / "py-spy"), "record", "--rate", "400", "--format", "raw"]
    spy += ["--full-filenames", "--output", str(raw), "--", *app.command(scenario, args)]
    subprocess.run(spy, cwd=app.cwd, env=app.env, check=True, capture_output=True, timeout=900)
    layers = split_by_layer(raw.read_text())
    total = sum(layers.values()) or 1
    lines = [f"{app.name} {scenario}: {total} samples (py-spy, 400 Hz, in-process)", ""]
    lines += [f"  {100 * n / total:5.1f} %  {name}" for name, n in layers.most_common()]
    text = "\n".join(lines) + "\n"
    out.write_text(text)
    raw.unlink()
    return text


def run(variant: Variant, args: argparse.Namespace) -> None:
    """Bake, migrate and seed; measure every app in alternating rounds; print the table."""
    with tempfile.TemporaryDirectory(prefix="cost-") as tmp:
        workdir = Path(tmp)
        trees = {"template": TEMPLATE}
        if args.baseline:
            trees["baseline"] = baseline_tree(args.baseline, workdir)
        projects = {
            name: bake_project(tree, variant, workdir / name) for name, tree in trees.items()
        }
        with contextlib.ExitStack() as stack:
            base_url = stack.enter_context(fresh_database(variant, workdir))
            url = service_url(variant, base_url)
            project = projects["template"]
            access = stack.enter_context(identity_provider(project))
            migrate(project, url)
            seeder = apps_for(variant, project, url, workdir, ["template"], access=access)[0]
            seed(seeder, args.items, workdir / "seed.log")
            apps = [raw_app(variant, url, workdir)]
            apps += [service_app(name, p, variant, url, access) for name, p in projects.items()]
            if args.floor:
                apps.append(floor_app(project, url))
            if args.unobserved:
                off = {"METRICS_ENABLED": "false", "LOG_LEVEL": "WARNING"}
                apps.append(service_app("unobserved", project, variant, url, access, **off))
            if args.outbox_off:
                apps.append(outbox_off_app(project, variant, url, access))
            if args.auth_off:
                off = {"AUTH_DISABLED": "true"}
                apps.append(service_app("auth-off", project, variant, url, access, **off))
            if args.traces_on:
                on = {
                    "OTEL_TRACES_EXPORTER": "otlp",
                    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": stack.enter_context(span_sink()),
                }
                apps.append(service_app("traces-on", project, variant, url, access, **on))
            best: dict[tuple[str, str], float] = {}
            for scenario in args.scenario:
                for round_ in range(args.rounds):
                    for app in [app for app in apps if runs(app, scenario)]:
                        result = app.measure(scenario, args)
                        us = float(result["cpu_us_per_request"])  # type: ignore[arg-type]
                        key = (scenario, app.name)
                        best[key] = min(best.get(key, us), us)
                        print(
                            f"  {scenario:<6} round {round_ + 1}  {app.name:<9} {us:7.0f} µs/req"
                            f"  {result['rounds_cpu_us']}  {result['statuses']}",
                            flush=True,
                        )
            calls: dict[tuple[str, str], float] = {}
            if args.calls:
                for scenario in args.scenario:
                    for app in [app for app in apps if runs(app, scenario)]:
                        result = app.measure(scenario, args, "--calls")
                        calls[scenario, app.name] = float(result["calls_per_request"])  # type: ignore[arg-type]
            profiles = []
            if args.profile:
                for scenario in args.scenario:
                    out = BENCH / "profiles" / f"cost-{variant.id}-{scenario}.txt"
                    profiles.append(profile(apps[1], scenario, args, out))

    print(
        f"\n{variant.id}: CPU per request in-process (least of {args.rounds} x "
        f"{args.inner_rounds} rounds of {args.requests})\n"
    )
    # The template against each other app of the run: the baseline revision, the floor, or
    # itself with metrics and logs off or with access control off.
    print("| scenario | app | CPU µs/req | raw / app | template vs app | calls/req | vs app |")
    print("|---|---|---|---|---|---|---|")
    others = ("baseline", "unobserved", "auth-off", "outbox-off", "floor")
    for scenario in args.scenario:
        raw_us = best.get((scenario, "raw"))
        for app in [app for app in apps if runs(app, scenario)]:
            us = best[scenario, app.name]
            change = calls_change = ""
            if app.name in others:
                change = f"{100 * (best[scenario, 'template'] / us - 1):+.1f} %"
            n = calls.get((scenario, app.name))
            if n is not None and app.name in others:
                calls_change = f"{100 * (calls[scenario, 'template'] / n - 1):+.1f} %"
            shown = f"{n:.0f}" if n is not None else ""
            print(
                f"| {scenario} | {app.name} | {us:.0f} "
                f"| {f'{100 * raw_us / us:.1f} %' if raw_us else ''} | {change} "
                f"| {shown} | {calls_change} |"
            )
    for text in profiles:
        print("\n" + text)
