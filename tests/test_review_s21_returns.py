"""Security review (s21) of returns: a return rejected while its refund is at the provider.

One clerk refunds a received return; while the provider is refunding, another rejects it.
Before the fix the rejection won: the money went out, the refund's clerk was told the return
"cannot be refunded now", and the rejected return no longer counted, so the shopper could ask
for the same units again and be refunded twice.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton_server.db.models import Refund, Return
from buybutton_server.errors import Conflict
from buybutton_server.services import returns as service
from tests.test_returns import ask, buy, cheap_scrypt, shop, the_returns  # noqa: F401


def test_a_return_cannot_be_rejected_while_its_refund_is_under_way(
    shop: TestClient,  # noqa: F811
    bb: BuyButton,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order = buy(shop, bb)
    ask(shop, order, {"MUG-01": 2})
    [ret] = the_returns(sessions)
    service.approve(sessions, ret.id)
    service.receive(sessions, ret.id)
    payments = shop.app.state.payments  # type: ignore[attr-defined]
    real_refund = payments.refund
    rejections: list[str] = []

    def refund_while_another_clerk_rejects(*args: Any, **kwargs: Any) -> Any:
        try:
            service.reject(sessions, ret.id, "Not what we sent")
            rejections.append("rejected")
        except Conflict as refused:
            rejections.append(refused.message)
        return real_refund(*args, **kwargs)

    monkeypatch.setattr(payments, "refund", refund_while_another_clerk_rejects)
    service.refund(sessions, payments, ret.id)

    assert rejections == [f"Return {ret.id} is being refunded, so it cannot be rejected now."]
    with sessions() as session:
        assert session.scalar(select(Return.status).where(Return.id == ret.id)) == "refunded"
        assert [r.amount for r in session.scalars(select(Refund))] == [4800]
    # The units stay counted: asking for them again is refused.
    again = ask(shop, order, {"MUG-01": 1})
    assert getattr(again, "status_code", None) == 409
    assert len(the_returns(sessions)) == 1


def test_a_refunded_return_cannot_be_rejected(
    shop: TestClient,  # noqa: F811
    bb: BuyButton,
    sessions: sessionmaker[Session],
) -> None:
    order = buy(shop, bb)
    ask(shop, order, {"TEE-M": 1})
    [ret] = the_returns(sessions)
    service.approve(sessions, ret.id)
    service.receive(sessions, ret.id)
    service.refund(sessions, shop.app.state.payments, ret.id)  # type: ignore[attr-defined]
    with pytest.raises(Conflict):
        service.reject(sessions, ret.id)
