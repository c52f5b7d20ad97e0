"""Per-request CPU cost of a generated service, beside the raw reference and a baseline (issue 16).

    uv run python -m bench.cost [--variant postgres-async-flush-commit] [--baseline REV]
                                 [--scenario get --scenario post] [--unobserved] [--auth-off]
                                 [--outbox-off] [--traces-on]
                                 [--calls] [--profile]

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
comparison), --auth-off with access control off (AUTH_DISABLED=true; issue 22's: it is sent
the same token, unverified), --outbox-off with no outbox row recorded (issue 24:
bench/reference/outbox_off.py replaces `outbox.repository.record` with a no-op; read it with
`--scenario order`), --traces-on with traces exported over OTLP/HTTP to a local receiver that
keeps nothing (issue 25; bench/collector.py). Every service app trusts the baked service's
stand-in identity provider and every request to it carries a token of it (bench/identity.py);
the raw reference and the floor have no access control and get none. An answer that is not a
2xx stops the run.
--calls adds, per app and scenario, one more run that counts the function calls per
request: it does not move from run to run, so it shows changes too small for the CPU figure.

--profile records the template under each scenario with py-spy and splits its time by layer
(bench/profiles/cost-<variant>-<scenario>.txt): the HTTP framework, dependency resolution,
the service's own code, SQLAlchemy, the driver, validation and serialisation, logging, metrics
and the event loop.
"""

import argparse
import sys

from bench.costing import run
from tests.variants import VARIANTS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="postgres-async-flush-commit")
    parser.add_argument("--baseline", metavar="REV", help="git revision of the template")
    parser.add_argument(
        "--scenario",
        action="append",
        choices=("get", "post", "order", "order-keyed", "get-304"),
        help="order-keyed, get-304: order with a new Idempotency-Key, get with If-None-Match",
    )
    parser.add_argument("--requests", type=int, default=1000, help="per measured round")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the apps")
    parser.add_argument("--inner-rounds", type=int, default=3, help="rounds per start of an app")
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--floor", action="store_true", help="FastAPI + async ORM alone too")
    parser.add_argument("--unobserved", action="store_true", help="metrics and logs off too")
    parser.add_argument("--auth-off", action="store_true", help="access control off too")
    parser.add_argument("--outbox-off", action="store_true", help="no outbox row too")
    parser.add_argument("--traces-on", action="store_true", help="traces exported too")
    parser.add_argument("--calls", action="store_true", help="count calls per request too")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    args.scenario = args.scenario or ["get", "post"]
    variant = next((v for v in VARIANTS if v.id == args.variant), None)
    if variant is None:
        parser.error(f"unknown variant {args.variant}")
    run(variant, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
