"""Load benchmark of the generated services against two references (issue 5).

    uv run python -m bench.load [--variant postgres-async-flush-commit ...] [--profile 10]

Needs wrk (`apt-get install wrk`, Debian's package; any wrk 4.x with LuaJIT) and the database
servers the test suite needs (PostgreSQL on 127.0.0.1:5432, MariaDB/MySQL on 127.0.0.1:3306).
For each chosen variant (default: all 12), one after the other:

1. bake it, `uv sync` it plus uvloop and httptools into its own venv, migrate a fresh database
   (`alembic upgrade head`) and seed 10,000 items through `POST /items/bulk` (batches of 1000),
   then 100 stock items with a stock no run can exhaust, for the orders;
2. run the chosen apps (--app; default `template`, `defaults`, `raw`) back to back against that
   database, each with `uvicorn --loop uvloop --http httptools --workers 1 --no-access-log`:
   - `template`: the generated service as a user gets it (its settings' defaults);
   - `defaults`: the same service with library defaults: a patched copy without the database
     slot and without the pool's liveness check, QueuePool 5 + 10 (bench/reference/defaults.py);
   - `raw`: Starlette on the raw async driver doing the same queries (bench/reference/raw_app.py);
   - `workers2`: the template with WEB_CONCURRENCY=2 and `--workers 2` (two processes, a pool
     each, metrics in prometheus-client's multiprocess mode);
   - `pgbouncer` (PostgreSQL only): the template through a PgBouncer in transaction pool mode
     with as many server connections as the service's pool (10), DATABASE_POOLER=pgbouncer;
     PgBouncer is started by the baked service's own test helper (tests/support/pgbouncer.py);
   - `unobserved`: the template with METRICS_ENABLED=false and LOG_LEVEL=WARNING (no metrics,
     no per-request log line): what observability costs;
   - `baseline` (with --baseline REV): the service baked from that git revision of the
     template, as shipped then: a change's effect in the same run as its baseline;
3. for each app, five scenarios, each on a freshly started server (cold start to the first 200
   on /health is measured every time): the mix (GET /items/{random id}, GET /items?page=N
   &page_size=20, POST /items with a unique name, PATCH /items/{random id} {"quantity": n},
   POST /orders with two lines; a fifth each) at 64 and at 256 connections after a warm-up
   (default 3 s + 10 s), then GET one item alone, POST alone and POST /orders alone at 64
   connections (default 2 s + 5 s), in --rounds rounds (default 3): each round runs every app
   but `defaults` back to back (`defaults` only in the first), and the table shows the round
   with the median requests/s and the range of all rounds (--mix-rounds does the same for the
   mixes). The raw reference's throughput
   varies far more from run to run than the services' on a shared machine; medians keep one
   disturbed run from deciding a ratio.

Measured per run: requests/s, p50/p99/max latency (wrk's, uncorrected), socket errors
(connect/read/write/timeout), non-2xx responses, pool timeouts (in the server's log), database
connections opened from server start to the end of the run (PostgreSQL: pg_stat_database.sessions
of the run's own database, which counts every connection; MariaDB: distinct connection ids of
the run's database in the process list, sampled every 20 ms; SQLite: n/a), the server's RSS after
the load (all its processes), the cold start, and the server's CPU time per request (user +
system of all its processes during the measured run, over the requests answered): a figure
that moves less from machine to machine than requests/s. Ratios are each app's requests/s over
the raw reference's in the same scenario.

Every app but `raw` trusts the baked service's stand-in identity provider (its AUTH_* settings)
and every request to it (the seeding, the warm-ups, the runs) carries a token of it, as a
deployment's clients send one (bench/identity.py). A 401 or a 403 stops the run at once; any
other non-2xx answer is counted, and makes the command exit 1 once the outputs are written.

Prints a table per variant and a check of the targets (issue 16); writes bench/results.json and
bench/ratios.png and, for a run of all 12 variants, the generated section of bench/RESULTS.md
(--section NAME writes a section of that name instead, for a run of some variants).
--profile N adds, per variant, an N-second py-spy recording of the template app under the mix at
64 connections (a separate run, so it does not disturb the measurements), summarised by package
in bench/profiles/<variant>.txt. Takes about 4 minutes per variant with the defaults.
"""

import argparse
import shutil
import sys
from pathlib import Path

from bench.model import APPS, DEFAULT_APPS
from bench.reports import write_outputs
from bench.running import run_variants
from tests.variants import VARIANTS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", action="append", help="variant id (default: all 12)")
    parser.add_argument(
        "--app",
        dest="apps",
        action="append",
        choices=APPS,
        help=f"app to run (default: {', '.join(DEFAULT_APPS)})",
    )
    parser.add_argument(
        "--connections",
        type=lambda s: [int(c) for c in s.split(",")],
        default=[64, 256],
        help="comma-separated (default 64,256)",
    )
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before each mix run")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of each mix run")
    parser.add_argument("--endpoint-warmup", type=float, default=2.0)
    parser.add_argument(
        "--endpoint-duration",
        type=float,
        default=5.0,
        help="seconds of the GET-only and POST-only runs (0: skip them)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of the GET-only and POST-only runs; the median counts (default 3)",
    )
    parser.add_argument(
        "--mix-rounds",
        type=int,
        default=1,
        help="rounds of the mix runs, as --rounds for the others (default 1)",
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--items", type=int, default=10_000, help="items seeded")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="SECONDS",
        help="py-spy the template app under the mix at 64 connections",
    )
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="git revision of the template that the `baseline` app is baked from",
    )
    parser.add_argument("--workdir", type=Path, help="keep baked variants and logs here")
    parser.add_argument(
        "--record",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write bench/RESULTS.md (default: only for a run of all 12, or with --section)",
    )
    parser.add_argument(
        "--section",
        help="the section of bench/RESULTS.md to write (default: the full run's, `main`)",
    )
    args = parser.parse_args()
    args.apps = args.apps or list(DEFAULT_APPS)
    if args.baseline and "baseline" not in args.apps:
        args.apps.append("baseline")
    if "baseline" in args.apps and not args.baseline:
        parser.error("--app baseline needs --baseline REV")
    args.command = "uv run python -m bench.load " + " ".join(sys.argv[1:])
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed: `apt-get install wrk`")
    unknown = set(args.variant or ()) - {v.id for v in VARIANTS}
    if unknown:
        parser.error(
            f"unknown variant(s) {sorted(unknown)}; choose from {[v.id for v in VARIANTS]}"
        )
    variants = [v for v in VARIANTS if not args.variant or v.id in args.variant]
    results, wall = run_variants(variants, args)
    write_outputs(results, variants, args, wall)
    failed = [f"{r.variant} {r.app} {r.scenario}@{r.connections}" for r in results if r.non_2xx]
    if failed:
        print(f"FAILED: non-2xx answers in {', '.join(failed)} (see the tables)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
