"""Schema-driven fuzzing: no request that the OpenAPI schema allows gets a 5xx.

The app runs under uvicorn in a thread, as in production; schemathesis generates requests
from its OpenAPI schema with a fixed number of examples and a fixed seed, so runs repeat.

Each operation is fuzzed on its own first, with ids it makes up: those seldom name a row. The
stateful test then follows the schema's OpenAPI links (each resource's `links.py`): it creates
items and orders, and reads, changes, deletes, orders, transfers and cancels the rows it
created, so that every operation also runs on rows that exist.
"""

import hashlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err

from {{ cookiecutter.project_slug }}.main import create_app
from {{ cookiecutter.project_slug }}.settings import Settings

from .support.identity_provider import access_headers
from .support.tables import empty_database
from .support.uvicorn_server import uvicorn_in_thread

EXAMPLES_PER_OPERATION = 8
# The stateful test: this many scenarios of at most this many requests, each on empty tables.
# Each operation below succeeds 4 to 30 times in them; should one get none after a change,
# its statuses (in the failure) tell a broken operation from bad luck, which more scenarios fix.
SCENARIOS = 30
STEPS_PER_SCENARIO = 20
# The operations the stateful test must have run with success at least once: each of them
# names an existing row (or, for POST /orders, takes stock from existing items).
ON_EXISTING_ROWS = (
    "GET /items/{item_id}",
    "PATCH /items/{item_id}",
    "DELETE /items/{item_id}",
    "POST /items/{item_id}/transfer",
    "POST /orders",
    "GET /orders/{order_id}",
    "POST /orders/{order_id}/cancel",
)
# Each operation that may refuse a schema-valid request with a 422, and why.
SCHEMA_VALID_BUT_REFUSED = {
    # uniqueItems compares whole lines, not their item_id (the schema's description says it).
    "POST /orders": "one line per item is a rule JSON Schema cannot state",
    # The sum is out of the 32-bit column's range: the stored quantities decide, not the request.
    "POST /items/adjust-quantity": "a valid delta added to a stored quantity may not fit",
    "POST /items/{item_id}/transfer": "a valid quantity added to the target's may not fit",
    "POST /orders/{order_id}/cancel": "the stock given back may not fit an item's quantity",
}
# What positive_data_acceptance takes as an answer to a schema-valid request: its default, and
# 412, the answer to an If-Match (any of the schema's entity tags) that names a version the row
# no longer has: the stored row decides, not the request.
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "412", "429", "5xx"]
CONFIG = {
    "request-timeout": 10,
    # Requests the schema allows, as the per-operation test sends: with invalid ones mixed in,
    # the scenarios would spend many of their steps on 422s.
    "generation": {"mode": "positive"},
    # Every check schemathesis has (its default): no 5xx; every status, header and body as the
    # schema declares them; every request the schema allows accepted (but for the refusals of
    # SCHEMA_VALID_BUT_REFUSED); a row a 201 announced readable by its id until it is deleted,
    # and not after.
    #
    # The links in the schema, and no others inferred from it.
    "phases": {"stateful": {"inference": {"algorithms": []}}},
    "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}},
    # Schema-valid requests that may be refused with a 422 the schema declares but cannot
    # foresee: positive_data_acceptance takes that 422 as an answer for these only.
    "operations": [
        {
            "include-name": label,
            "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "422"]}},
        }
        for label in SCHEMA_VALID_BUT_REFUSED
    ],
}


# A client sends a new Idempotency-Key with each new request and the same one with its retry;
# generated keys repeat (hypothesis draws short strings), and the same key with another body is
# a client's error (422, test_idempotency.py). Each case gets the key of its own request: the
# same request (a retry) the same key, another request another key, the same in every replay.
KEY_HEADER = "Idempotency-Key"


def with_its_own_key(case: schemathesis.Case[Any]) -> None:
    if case.headers and KEY_HEADER in case.headers:
        request = repr((case.method, case.formatted_path, case.query, case.body))
        case.headers[KEY_HEADER] = hashlib.sha256(request.encode()).hexdigest()


@pytest.fixture(scope="module")
def base_url(database_url: str) -> Iterator[str]:
    app = create_app(Settings(database_url=database_url))
    with uvicorn_in_thread(app) as url:
        yield url
        assert app.state.engine.pool.checkedout() == 0


def load_schema(base_url: str) -> schemathesis.BaseSchema:
    # Every request with a valid token of every scope, as a client of the service sends them:
    # the fuzzing reaches the operations, not only their 401s. Given as the schema's security
    # scheme's credentials, so schemathesis knows them for auth (and its ignored_auth check
    # sends each operation without them, and with invalid ones, expecting a 401).
    token = access_headers()["Authorization"].removeprefix("Bearer ")
    auth = {"openapi": {"BearerToken": {"bearer": token}}}
    config = schemathesis.Config.from_dict({**CONFIG, "auth": auth})
    return schemathesis.openapi.from_url(f"{base_url}/openapi.json", config=config)


def test_every_generated_request_gets_an_answer_the_schema_declares(base_url: str) -> None:
    api_schema = load_schema(base_url)
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    for result in api_schema.get_all_operations():
        if isinstance(result, Err):
            pytest.fail(f"the OpenAPI schema has an invalid operation: {result.err()}")
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: schemathesis.Case[Any]) -> None:
            with_its_own_key(case)
            response = case.call(timeout=10)
            statuses[response.status_code] += 1
            # Every check, collected rather than raised: Hypothesis would spend the time on
            # shrinking it, and the other operations would not run.
            try:
                case.validate_response(response)
            except FailureGroup as failure:
                failures.append(f"{case.method} {case.formatted_path}: {failure}")

        call()

    assert failures == []
    # The generated requests got past validation and reached the database, not only 422s.
    assert statuses[201] > 0, statuses


def test_operations_on_the_rows_they_created_get_answers_the_schema_declares(
    base_url: str, database_url: str
) -> None:
    """A scenario calls one operation, then the operations its response links to, with the ids
    it returned. Schemathesis checks every response (a 5xx fails, and so does a 404 for a row a
    201 announced); the counts show that the operations ran on rows that existed."""
    statuses: Counter[tuple[str, int]] = Counter()

    # Schemathesis makes the state machine's class from the schema, at run time.
    class Scenarios(load_schema(base_url).as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # Hypothesis replays the start of earlier scenarios and expects the same choices:
            # each scenario's responses must depend on its own requests only.
            anyio.run(empty_database, database_url)

        def before_call(self, case: schemathesis.Case[Any]) -> None:
            super().before_call(case)
            with_its_own_key(case)

        def after_call(self, response: schemathesis.Response, case: schemathesis.Case[Any]) -> None:
            super().after_call(response, case)
            statuses[case.operation.label, response.status_code] += 1

    Scenarios.run(
        settings=settings(
            Scenarios.TestCase.settings,
            max_examples=SCENARIOS,
            stateful_step_count=STEPS_PER_SCENARIO,
            derandomize=True,
            database=None,
        )
    )

    succeeded = {label for label, status in statuses if status < 300}
    assert [label for label in ON_EXISTING_ROWS if label not in succeeded] == [], statuses
