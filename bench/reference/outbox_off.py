"""The generated service with its outbox row left out, for issue 24's pair (bench/paired.py
`--against outbox-off`, bench/cost.py `--outbox-off`).

    BENCH_SERVICE_PACKAGE=svc_postgres_async_flush_commit uvicorn outbox_off:app

Started by module name in the baked service's own environment (the service is installed in
it), like floor_app.py. It imports the service's `outbox.repository` and replaces `record` with
a function that records nothing, then serves the service's own `main.app`: the units of work
call `outbox.record(...)` through the module, so POST /orders and cancel run exactly as the
service's, without the event's JSON, its ORM object and its INSERT at the commit's flush. The
event's payload dict is still built by the caller (`events.payload(order)`, a few calls). A
bench-only switch: the service has no setting for it, and should not.
"""

import importlib
import os
from collections.abc import Mapping

PACKAGE = os.environ["BENCH_SERVICE_PACKAGE"]
repository = importlib.import_module(f"{PACKAGE}.outbox.repository")


def record_nothing(session: object, kind: str, payload: Mapping[str, object]) -> None:
    """`record`'s signature, and nothing added to the session."""


repository.record = record_nothing
app = importlib.import_module(f"{PACKAGE}.main").app
