"""`uv run python -m tests.mutations [--variant ID ...]`: bake and install each variant, run
every mutation that applies to it, and print the table of mutation x variant -> the test that
caught it (markdown; MUTATIONS.md keeps the last one). Progress goes to stderr."""

import argparse
import sys
import tempfile
from pathlib import Path

from ..variants import VARIANTS, bake
from .catalogue import MUTATIONS
from .harness import cell, first_failure, mutated_copy, table
from .model import COVERING_SET


def main() -> int:
    """Print the table of mutation x variant -> the test that caught it (markdown)."""
    parser = argparse.ArgumentParser(prog="python -m tests.mutations", description=main.__doc__)
    parser.add_argument("--variant", action="append", help="variant id (default: covering set)")
    arguments = parser.parse_args()

    chosen = [v for v in VARIANTS if v.id in (arguments.variant or COVERING_SET)]
    caught: dict[tuple[str, str], str] = {}
    with tempfile.TemporaryDirectory() as work:
        for variant in chosen:
            installed = bake(variant, Path(work) / "baked" / variant.id)
            for mutation in MUTATIONS:
                if not mutation.applies(variant):
                    caught[mutation.name, variant.id] = "n/a"
                    continue
                runs = Path(work) / "runs" / variant.id
                runs.mkdir(parents=True, exist_ok=True)
                project = mutated_copy(mutation, variant, installed, runs)
                test = first_failure(variant, project, mutation.caught_by)
                caught[mutation.name, variant.id] = cell(test, mutation)
                print(f"{variant.id} {mutation.name}: {test}", file=sys.stderr, flush=True)
    print(table(caught))
    return 0


if __name__ == "__main__":
    sys.exit(main())
