"""The transactional outbox: events recorded in the unit of work's own transaction, published
to the broker after the commit by the relay (`python -m {{ cookiecutter.project_slug }} relay`)."""
