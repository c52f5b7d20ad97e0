"""Schema-driven fuzzing: no request that the OpenAPI schema allows gets a 5xx.

The app runs under uvicorn in a thread, as in production; schemathesis generates requests
from its OpenAPI schema with a fixed number of examples and a fixed seed, so runs repeat.
"""

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Err

from {{ cookiecutter.project_slug }}.main import create_app
from {{ cookiecutter.project_slug }}.settings import Settings

EXAMPLES_PER_OPERATION = 8


@pytest.fixture(scope="module")
def api_schema(database_url: str) -> Iterator[schemathesis.BaseSchema]:
    app = create_app(Settings(database_url=database_url))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.01)
    port = listener.getsockname()[1]
    try:
        yield schemathesis.openapi.from_url(f"http://127.0.0.1:{port}/openapi.json")
        assert app.state.engine.pool.checkedout() == 0
    finally:
        server.should_exit = True
        thread.join()


def test_no_generated_request_gets_a_server_error(api_schema: schemathesis.BaseSchema) -> None:
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
            response = case.call(timeout=10)
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}")

        call()

    assert failures == []
    # The generated requests got past validation and reached the database, not only 422s.
    assert statuses[201] > 0, statuses
