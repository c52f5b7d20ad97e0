"""The mutation matrix's vocabulary: what a mutation is, the variants the matrix runs in by
default, the tests it runs first, and the patterns the catalogue's edits share."""

from collections.abc import Callable
from dataclasses import dataclass, field

from ..variants import DATABASES, Variant

GUARD = "tests/test_convention_static.py"
# The quick, sharp tests first: with -x the first failure ends the run, so the matrix costs
# little more than two pytest start-ups per caught mutation. Then the whole suite.
FIRST = (
    "tests/test_convention_behaviour.py",
    "tests/test_overload.py::test_requests_wait_for_a_database_slot_not_inside_the_pool",
    "tests/test_concurrency.py",
    "tests/test_database.py",
    "tests/test_items.py",
)

# The variants the matrix runs in by default: every database, mode and transaction style at
# least once (tests/test_mutations.py checks that it covers them).
COVERING_SET = {
    "postgres-async-flush-commit",
    "mysql-sync-begin-context",
    "sqlite-async-begin-context",
}

Edit = tuple[str, str]


@dataclass(frozen=True)
class Mutation:
    name: str
    failure_mode: str
    # The file it edits, relative to the package: a role, as in the convention guard; one
    # starting with "/" is relative to the project (e.g. /migrations/env.py).
    role: str
    edits: tuple[Edit, ...] | dict[str, tuple[Edit, ...]]
    # The variants it applies to (default: all).
    applies: Callable[[Variant], bool] = field(default=lambda _variant: True)
    # Edits of a second file, when a failure mode spans two (e.g. commit moved out of the unit
    # of work into the session dependency).
    other_role: str | None = None
    other_edits: tuple[Edit, ...] = ()
    # Set when no behaviour can tell: why. The static guard must catch it instead.
    unobservable_because: str | None = None
    # The tests that exist to catch it, run before the others.
    caught_by: tuple[str, ...] = ()


def has_server(variant: Variant) -> bool:
    return DATABASES[variant.database].has_server


def is_postgres(variant: Variant) -> bool:
    return variant.database == "postgres"


AWAIT = r"(?:await )?"
SESSION_BLOCK = (
    r"(?P<open>    (?:async )?with session_factory\(\) as session:\n)"
    r"        adopt_unit_of_work\(session\.info\)\n"
    r"        try:\n"
    r"            yield session\n"
    r"        except Exception as error:\n"
    rf"            {AWAIT}session\.rollback\(\)\n"
    r"            report_rollback\(session\.info, error\)\n"
    r"            raise\n"
)
