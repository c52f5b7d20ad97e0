"""Tests of the service, run against a real database."""
