"""The metrics endpoint: `/metrics` serves every metric as Prometheus text, and with
METRICS_ENABLED=false there is no endpoint and nothing is counted."""

import uuid

import httpx
import pytest

from {{ cookiecutter.project_slug }}.settings import Settings

from .support.helpers import create
from .support.metric_samples import commits, sample
from .support.serving import serve

pytestmark = pytest.mark.anyio


async def test_metrics_endpoint_serves_prometheus_text(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    for name in (
        "db_client_connection_count",
        "db_client_connection_max",
        "db_client_connection_pending_requests",
        "db_client_connection_wait_time_seconds_bucket",
        "db_client_connection_timeouts_total",
        "db_client_connections_invalidated_total",
        "db_client_connections_replaced_total",
        "db_client_commits_total",
        'db_client_rollbacks_total{cause="data_error"}',
        "http_server_request_duration_seconds_bucket",
    ):
        assert name in response.text


async def test_metrics_can_be_turned_off(database_url: str) -> None:
    settings = Settings(database_url=database_url, metrics_enabled=False)
    async with serve(settings) as (_, client):
        before = commits(), sample("db_client_connection_max")
        assert (await client.get("/metrics")).status_code == 404
        await create(client, f"off-{uuid.uuid4().hex}")
        assert (commits(), sample("db_client_connection_max")) == before
