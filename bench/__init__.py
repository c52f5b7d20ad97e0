"""The template's benchmarks (bench/RESULTS.md), run from the template's root:

    uv run python -m bench.load     # the services under wrk, beside the raw reference
    uv run python -m bench.cost     # CPU per request in-process, beside a baseline revision
    uv run python -m bench.paired   # two builds under load at the same moment
    uv run python -m bench.matrix   # the time of each step of the suite's variant matrix
    uv run python -m bench.relay    # the outbox relay's events per second

Each entry point parses its options and calls the library here: model (apps, scenarios,
results), baking (a variant baked and installed), identity (the identity provider the services
trust, and the token every request to them carries), serving (the servers and their apps),
connections (the database connections an app opens), wrk (the load generator), running (the
load runs), sampling (py-spy summaries), targets, reports (tables, RESULTS.md, ratios.png),
costing, pairing and timing (cost, paired and matrix's own).

inprocess.py, relay_driver.py and reference/ run by path in a baked service's or the raw
reference's own environment, where this package cannot be imported: they are standalone
scripts.
"""

from pathlib import Path

BENCH = Path(__file__).resolve().parent
TEMPLATE = BENCH.parent
