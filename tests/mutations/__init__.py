"""The mutation matrix: each failure mode of the session convention, as an edit of a baked
service, and the harness that applies one and runs the service's behavioural suite.

- catalogue.py: the mutations (MUTATIONS), the guard they bypass (GUARD), the tests run first
  (FIRST) and the variants the matrix runs by default (COVERING_SET): data only.
- harness.py: applies a mutation to a copy of an installed service, runs its suite, and
  records the test that caught it (cell, table).
- __main__.py: `uv run python -m tests.mutations` prints the table of mutation x variant ->
  the test that caught it (MUTATIONS.md keeps the last one).

tests/test_mutations.py runs the same matrix as pytest cases.
"""
