"""The generated suites bite: every mutation of the convention (tests/mutations/) makes the
baked service's behavioural suite fail, in a covering set of variants (every database, mode and
transaction style at least once), or in all 12 with MUTATION_VARIANTS=all."""

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from .mutations.catalogue import MUTATIONS
from .mutations.harness import cell, first_failure, mutated_copy, run_guard
from .mutations.model import COVERING_SET, GUARD, Mutation
from .variants import VARIANTS, Variant

ALL_VARIANTS = os.environ.get("MUTATION_VARIANTS") == "all"


def cases() -> list[object]:
    return [
        pytest.param(
            variant,
            mutation,
            id=f"{variant.id}-{mutation.name}",
            # A group of their own, beside the variant's other checks, so that another worker
            # can take them (it bakes and installs the variant again: a few seconds).
            marks=pytest.mark.xdist_group(f"mutations-{variant.id}"),
        )
        for variant in VARIANTS
        if ALL_VARIANTS or variant.id in COVERING_SET
        for mutation in MUTATIONS
        if mutation.applies(variant)
    ]


def test_the_covering_set_covers_every_choice() -> None:
    covering = [variant for variant in VARIANTS if variant.id in COVERING_SET]

    for option in ("database", "mode", "transaction_style"):
        assert {getattr(v, option) for v in covering} == {getattr(v, option) for v in VARIANTS}


@pytest.mark.parametrize(("variant", "mutation"), cases(), indirect=["variant"])
def test_the_behavioural_suite_catches_the_mutation(
    variant: Variant,
    mutation: Mutation,
    installed: Path,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    project = mutated_copy(mutation, variant, installed, tmp_path)
    if mutation.unobservable_because:
        # The copy has no guard of its own (only behaviour counts above); run the original's.
        (project / GUARD).write_text((installed / GUARD).read_text("utf-8"), "utf-8")
        assert run_guard(project), f"[{variant.id}] {mutation.name}: the guard did not catch it"
        record_property("mutation", (mutation.name, variant.id, cell(None, mutation)))
        return

    caught_by = first_failure(variant, project, mutation.caught_by)
    # Printed as a table at the end of the run (tests/conftest.py).
    record_property("mutation", (mutation.name, variant.id, cell(caught_by, mutation)))

    assert caught_by, f"[{variant.id}] {mutation.name} survived: {mutation.failure_mode}"
