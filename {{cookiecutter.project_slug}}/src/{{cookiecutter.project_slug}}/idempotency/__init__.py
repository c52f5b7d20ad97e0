"""Idempotency keys: a retried request has its effect once (see keys.py and services.py)."""
