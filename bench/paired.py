"""Two builds of a service under load at the same time: their throughput ratio, robust to a noisy
machine (issue 14's and issue 22's overheads, a change against its baseline).

    uv run python -m bench.paired [--variant postgres-async-flush-commit] --against unobserved
                                   [--against auth-off] [--against baseline --baseline d66c60c]
                                   [--rounds 5]

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
`timeouts-off` the limits the database enforces, `auth-off` access control (AUTH_DISABLED=true;
it is sent the same token, so the pair differs by its verification alone); `floor` is FastAPI
and SQLAlchemy's ORM alone (bench/reference/floor_app.py, GET and POST only, no token).
Every service app trusts the baked service's stand-in identity provider and every request to
it carries a token (bench/identity.py). Exits 1 if any answer was not a 2xx.
Scenarios: GET one item, POST one item, POST an order, and the mix (bench/mix.lua).

`same` is a second instance of the template (issue 23): with `--scenario keys` one instance is
sent POST /orders with a new Idempotency-Key per request and the other the same orders without
one (every keyed answer must be a 201 and none a replay); with `--scenario etags`, GET
/items/{id} (a 200 with its ETag) against the same GET with If-None-Match of its tag (every
answer a 304). With a plain scenario the pair differs by nothing: the method's noise.

`outbox-off` (issue 24) is the template whose units of work record no outbox row: the same
build served through bench/reference/outbox_off.py, which replaces `outbox.repository.record`
with a no-op before it imports the app (a bench-only switch; the service has no setting for
it). With `--scenario order` the ratio is what the row (its JSON, ORM object and INSERT in the
order's transaction) costs POST /orders.

`traces-on` (issue 25) is the template with OTEL_TRACES_EXPORTER=otlp, exporting to a local
receiver that keeps nothing (bench/collector.py): what traces cost when they are on;
`traces-sampled` the same recording one trace in ten (OTEL_TRACES_SAMPLER=traceidratio, 0.1).
"""

import argparse
import sys

from bench.pairing import (
    OUTBOX_OFF,
    PLAIN,
    SCENARIOS,
    SETTINGS,
    SHAPES,
    TRACES_ON,
    TRACES_SAMPLED,
    run,
)
from tests.variants import VARIANTS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="postgres-async-flush-commit")
    parser.add_argument(
        "--against",
        action="append",
        choices=(
            "unobserved",
            "baseline",
            "floor",
            "same",
            OUTBOX_OFF,
            TRACES_ON,
            TRACES_SAMPLED,
            *SETTINGS,
        ),
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
    scenarios = args.scenario or list(PLAIN)
    if any(s in SHAPES for s in scenarios) and args.against != ["same"]:
        # Two request shapes against another build would mix two differences in one ratio.
        parser.error(f"--scenario {' / '.join(SHAPES)} go with --against same alone")
    return 0 if run(variant, args, scenarios) else 1


if __name__ == "__main__":
    sys.exit(main())
