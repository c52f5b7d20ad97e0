"""Time the template's variant matrix: bake, install, lint, type-check, migrate, test.

    uv run python -m bench.matrix [--jobs 2] [--variant postgres-sync-begin-context ...]

Runs the same steps as the test suite, variants in parallel, and prints the wall time and the
time of each step per variant. Needs the database servers the test suite needs. The bake and
the install are one step, `bake+sync`: the suite's bake routine (tests.variants.bake), cookiecutter
then `uv sync`, timed as one call.
"""

import argparse
import os
import sys

from bench.timing import run_matrix
from tests.variants import VARIANTS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--variant", action="append", help="variant id (default: all 12)")
    args = parser.parse_args()
    variants = [v for v in VARIANTS if not args.variant or v.id in args.variant]
    return run_matrix(variants, args)


if __name__ == "__main__":
    sys.exit(main())
