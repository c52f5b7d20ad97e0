"""Which handler runs for each event kind this service's worker consumes. The worker's queue is
bound to these kinds only. To react to another event, write its handler beside the domain it
changes (as `sales/handlers.py`) and add it here."""

from collections.abc import Mapping

from ..sales import handlers as sales
from .services import Handler

HANDLERS: Mapping[str, Handler] = {
    "order.placed": sales.count_sold,
    "order.cancelled": sales.uncount_sold,
}
