"""Database plumbing: the engine, the per-request session, admission, and the dialect."""
