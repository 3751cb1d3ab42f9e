"""Returns at a store's counter (issue 15, item 5): an order bought online, brought back to
any active store that accepts returns.

The clerk picks the lines and units; the return is written by the same rules as a return
asked for online (:func:`buybutton_server.domain.returns.request_return`: the window, never
more units than were bought, the order row locked), then approved and received at that store
in the same transaction (``return.received`` names the store). The refund follows through
the original payment (services/counter.py); the units go back on THAT store's shelf, or
nowhere when the clerk marks them damaged.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from buybutton_server.db.models import Location, Return
from buybutton_server.domain import order_search
from buybutton_server.domain import returns as rules
from buybutton_server.domain.counter import location_json
from buybutton_server.errors import Conflict


def check_accepts(location: Location) -> None:
    if not location.accepts_returns:
        raise Conflict(
            f"{location.name} does not take returns. The owner can turn returns on for this "
            "store, or the shopper can return it at another store or by post.",
            code="no_returns_here",
        )


def take_return(
    session: Session,
    location: Location,
    number: str,
    wanted: Mapping[int, int],
    *,
    reason: str,
    note: str | None,
    key: str,
    now: datetime,
    window_days: int,
) -> Return:
    """Write the return received at ``location``; raises as ``request_return`` does."""
    check_accepts(location)
    order = order_search.order_by_number(session, number)
    ret = rules.request_return(
        session,
        order.id,
        wanted,
        reason=reason,
        note=note,
        key=key,
        now=now,
        window_days=window_days,
    )
    if ret.status != rules.ReturnStatus.REQUESTED:  # the same form again: already taken
        return ret
    return rules.receive_at_counter(session, ret.id, location_json(location), location.id, now)
