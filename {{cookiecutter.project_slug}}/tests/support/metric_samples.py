"""The service's metrics as the tests read them: samples of this process's Prometheus registry,
where the app under test counts."""

from prometheus_client import REGISTRY

from {{ cookiecutter.project_slug }}.metrics import ROLLBACK_CAUSES


def sample(name: str, **labels: str) -> float:
    """A sample's value now; 0 while nothing has been counted in it."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def rollbacks() -> dict[str, float]:
    """db_client_rollbacks_total, by cause."""
    return {cause: sample("db_client_rollbacks_total", cause=cause) for cause in ROLLBACK_CAUSES}


def commits() -> float:
    return sample("db_client_commits_total")
