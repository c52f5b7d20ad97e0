"""Database plumbing: the engine, the per-request session, capacity, failures, and the dialect."""
