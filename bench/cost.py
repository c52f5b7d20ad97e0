"""Per-request CPU cost of a generated service, beside the raw reference and a baseline (issue 16).

    uv run python bench/cost.py [--variant postgres-async-flush-commit] [--baseline REV]
                                [--scenario get --scenario post] [--unobserved] [--calls]
                                [--profile]

Bakes the variant from the working tree (`template`) and, with --baseline, from a git revision
of the template (`baseline`: a change's effect, measured in the same run as its baseline),
migrates and seeds one database as bench/load.py does, then drives each app in-process with
bench/inprocess.py: the app's own CPU time per request, without an HTTP server or a client
(uvicorn's and wrk's share is the same for every app and would only blur the comparison).
Rounds alternate between the apps, so whatever else the machine does disturbs them alike; the
least disturbed round of each app counts. `raw / app` is the raw reference's CPU per request
over the app's: the share of the raw app's throughput that the app can reach when the CPU is
the limit.

--floor adds the stack's floor (bench/reference/floor_app.py: FastAPI and SQLAlchemy's ORM in
the tutorial's shape, async or sync as the variant, nothing else, run in the baked service's
environment; GET and POST only): what of the template's cost is the stack's, what its own.
--unobserved adds the template with metrics and the per-request log line off (issue 14's
comparison). --calls adds, per app and scenario, one more run that counts the function calls per
request: it does not move from run to run, so it shows changes too small for the CPU figure.

--profile records the template under each scenario with py-spy and splits its time by layer
(bench/profiles/cost-<variant>-<scenario>.txt): the HTTP framework, dependency resolution,
the service's own code, SQLAlchemy, the driver, validation and serialisation, logging, metrics
and the event loop.
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

BENCH = Path(__file__).resolve().parent
TEMPLATE = BENCH.parent
sys.path.insert(0, str(TEMPLATE))
sys.path.insert(0, str(BENCH))

import load  # noqa: E402

from tests.variants import VARIANTS, Variant, clean_environment, fresh_database, uv  # noqa: E402

INPROCESS = BENCH / "inprocess.py"


def bake(template: Path, variant: Variant, out: Path) -> Path:
    out.mkdir(parents=True)
    command = [sys.executable, "-m", "cookiecutter", str(template), "--no-input", "-o", str(out)]
    command += [f"{key}={value}" for key, value in variant.context.items()]
    subprocess.run(command, env=clean_environment(), check=True, capture_output=True)
    project = out / variant.slug
    subprocess.run(
        [uv(), "sync", "--quiet", "--compile-bytecode"],
        cwd=project,
        env=clean_environment(),
        check=True,
    )
    load.pip_install(project / ".venv/bin/python", "uvloop", "py-spy")
    return project


class App:
    def __init__(self, name: str, python: Path, target: str, cwd: Path, env: dict[str, str]):
        self.name, self.python, self.target, self.cwd, self.env = name, python, target, cwd, env

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
                return result
        raise RuntimeError(f"{self.name} {scenario}: no result\n{completed.stderr[-3000:]}")


def service_app(name: str, project: Path, variant: Variant, url: str, **settings: str) -> App:
    env = clean_environment(DATABASE_URL=url, **settings)
    return App(name, project / ".venv/bin/python", f"{variant.slug}.main:app", project, env)


def floor_app(project: Path, url: str) -> App:
    env = clean_environment(DATABASE_URL=url)
    return App("floor", project / ".venv/bin/python", "floor_app:app", BENCH / "reference", env)


def runs(app: App, scenario: str) -> bool:
    return app.name != "floor" or scenario in ("get", "post")


def raw_app(variant: Variant, url: str, workdir: Path) -> App:
    venv = load.reference_venv(workdir)
    env = load.raw_environment(variant, url)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="postgres-async-flush-commit")
    parser.add_argument("--baseline", metavar="REV", help="git revision of the template")
    parser.add_argument("--scenario", action="append", choices=("get", "post", "order"))
    parser.add_argument("--requests", type=int, default=1000, help="per measured round")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the apps")
    parser.add_argument("--inner-rounds", type=int, default=3, help="rounds per start of an app")
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--floor", action="store_true", help="FastAPI + async ORM alone too")
    parser.add_argument("--unobserved", action="store_true", help="metrics and logs off too")
    parser.add_argument("--calls", action="store_true", help="count calls per request too")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    args.scenario = args.scenario or ["get", "post"]
    variant = next((v for v in VARIANTS if v.id == args.variant), None)
    if variant is None:
        parser.error(f"unknown variant {args.variant}")

    with tempfile.TemporaryDirectory(prefix="cost-") as tmp:
        workdir = Path(tmp)
        trees = {"template": TEMPLATE}
        if args.baseline:
            trees["baseline"] = load.baseline_tree(args.baseline, workdir)
        projects = {name: bake(tree, variant, workdir / name) for name, tree in trees.items()}
        with fresh_database(variant, workdir) as base_url:
            url = load.service_url(variant, base_url)
            project = projects["template"]
            load.migrate(project, url)
            seeder = load.apps_for(variant, project, url, workdir, ["template"])[0]
            load.seed(seeder, args.items, workdir / "seed.log")
            apps = [raw_app(variant, url, workdir)]
            apps += [service_app(name, p, variant, url) for name, p in projects.items()]
            if args.floor:
                apps.append(floor_app(project, url))
            if args.unobserved:
                apps.append(
                    service_app(
                        "unobserved",
                        project,
                        variant,
                        url,
                        METRICS_ENABLED="false",
                        LOG_LEVEL="WARNING",
                    )
                )
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
    # The template against each other app of the run: the baseline revision, or itself with
    # metrics and logs off.
    print("| scenario | app | CPU µs/req | raw / app | template vs app | calls/req | vs app |")
    print("|---|---|---|---|---|---|---|")
    for scenario in args.scenario:
        raw_us = best[scenario, "raw"]
        for app in [app for app in apps if runs(app, scenario)]:
            us = best[scenario, app.name]
            change = calls_change = ""
            if app.name in ("baseline", "unobserved", "floor"):
                change = f"{100 * (best[scenario, 'template'] / us - 1):+.1f} %"
            n = calls.get((scenario, app.name))
            if n is not None and app.name in ("baseline", "unobserved", "floor"):
                calls_change = f"{100 * (calls[scenario, 'template'] / n - 1):+.1f} %"
            shown = f"{n:.0f}" if n is not None else ""
            print(
                f"| {scenario} | {app.name} | {us:.0f} | {100 * raw_us / us:.1f} % | {change} "
                f"| {shown} | {calls_change} |"
            )
    for text in profiles:
        print("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
