"""``account.updated`` in any order (issue 17): Stripe does not keep events in order, so
each payee keeps the ``created`` time of the newest account state applied, and an older
event changes nothing. Events are real signed payloads read by the Stripe provider (the
recording client of tests/test_connect_stripe.py: no network)."""

from __future__ import annotations

import itertools
import json
import random

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import write_session
from buybutton_server.db.models import Payee, ProcessedEvent, WebhookEvent
from buybutton_server.domain import payees
from buybutton_server.payments.base import AccountEvent, ConnectedAccount
from buybutton_server.payments.stripe_provider import StripePaymentProvider
from buybutton_server.payments.test_provider import TestPaymentProvider
from buybutton_server.services import payees as payee_services
from buybutton_server.services.payment_events import receive_payment_event
from tests.test_connect_stripe import StripeRecorder, _signed, connect_provider

SECRET = "whsec_connect"
ONBOARDING = {"charges_enabled": False, "payouts_enabled": False, "details_submitted": False}
RESTRICTED = {"charges_enabled": True, "payouts_enabled": False, "details_submitted": True}
ACTIVE = {"charges_enabled": True, "payouts_enabled": True, "details_submitted": True}


def provider() -> StripePaymentProvider:
    return connect_provider(StripeRecorder(), connect_webhook_secret=SECRET)


def event(number: int, created: int, state: dict[str, bool]) -> AccountEvent:
    """An ``account.updated`` as Stripe sends it, verified by the provider."""
    body = json.dumps(
        {
            "id": f"evt_acct_{number}",
            "object": "event",
            "type": "account.updated",
            "created": created,
            "account": "acct_b",
            "data": {"object": {"id": "acct_b", "object": "account", **state}},
        }
    ).encode()
    found = provider().verify_webhook(body, _signed(body, SECRET))
    assert isinstance(found, AccountEvent)
    return found


# In the order Stripe made them: onboarding, then restricted, active, and restricted again
# (Stripe asked for more), then active for good.
HISTORY = [
    (1_790_000_000, ONBOARDING),
    (1_790_000_060, RESTRICTED),
    (1_790_000_120, ACTIVE),
    (1_790_000_180, RESTRICTED),
    (1_790_000_240, ACTIVE),
]


def a_payee(sessions: sessionmaker[Session]) -> int:
    with write_session(sessions) as session:
        payee = payees.create_payee(session, code="store-b", name="Store B", kind="seller")
        payees.attach_account(session, payee.id, "acct_b")
        return payee.id


def state_of(sessions: sessionmaker[Session], payee_id: int) -> tuple[str, bool, int | None]:
    with sessions() as session:
        payee = session.get(Payee, payee_id)
        assert payee is not None
        return payee.status, payee.payouts_enabled, payee.account_event_created


def test_the_provider_reads_the_events_time() -> None:
    assert event(1, 1_790_000_000, ACTIVE).created == 1_790_000_000


def test_a_stale_restricted_after_a_newer_active_leaves_it_active(
    sessions: sessionmaker[Session],
) -> None:
    payee_id = a_payee(sessions)
    stripe = provider()
    newer = event(2, 1_790_000_120, ACTIVE)
    older = event(1, 1_790_000_060, RESTRICTED)
    assert not receive_payment_event(sessions, stripe, newer).duplicate
    assert state_of(sessions, payee_id) == ("active", True, 1_790_000_120)
    with sessions() as session:
        announced = session.scalar(select(func.count(WebhookEvent.id)))
    assert not receive_payment_event(sessions, stripe, older).duplicate  # recorded, ignored
    assert state_of(sessions, payee_id) == ("active", True, 1_790_000_120)
    # A duplicate delivery changes nothing either; nothing more is announced.
    assert receive_payment_event(sessions, stripe, newer).duplicate
    assert receive_payment_event(sessions, stripe, older).duplicate
    with sessions() as session:
        assert session.scalar(select(func.count(WebhookEvent.id))) == announced
        assert session.scalar(select(func.count(ProcessedEvent.id))) == 2


def test_shuffled_deliveries_converge_to_the_newest_event(
    sessions: sessionmaker[Session],
) -> None:
    payee_id = a_payee(sessions)
    stripe = provider()
    events = [event(n, created, state) for n, (created, state) in enumerate(HISTORY)]
    shuffle = random.Random(17)
    # Every order of the last three (the ones that disagree), and random orders of all five,
    # with some events delivered twice.
    orders = [list(events[:2]) + list(p) for p in itertools.permutations(events[2:])]
    for _ in range(20):
        order = events + shuffle.sample(events, 2)
        shuffle.shuffle(order)
        orders.append(order)
    for number, delivery in enumerate(orders):
        with write_session(sessions) as session:  # start over: no state, no events seen
            session.query(ProcessedEvent).delete()
            payee = session.get(Payee, payee_id)
            assert payee is not None
            payee.status, payee.payouts_enabled, payee.account_event_created = (
                "onboarding",
                False,
                None,
            )
        for one in delivery:
            receive_payment_event(sessions, stripe, one)
        assert state_of(sessions, payee_id) == ("active", True, HISTORY[-1][0]), number


def test_the_newest_restricted_wins_over_an_older_active(
    sessions: sessionmaker[Session],
) -> None:
    payee_id = a_payee(sessions)
    stripe = provider()
    for one in (event(4, 1_790_000_180, RESTRICTED), event(3, 1_790_000_120, ACTIVE)):
        receive_payment_event(sessions, stripe, one)
    assert state_of(sessions, payee_id) == ("restricted", False, 1_790_000_180)


def test_a_live_read_outranks_events_made_before_it(sessions: sessionmaker[Session]) -> None:
    """On return from onboarding the account is read from the provider (the test provider:
    active at once); an ``account.updated`` made before that read, delivered after it,
    changes nothing. An event without a time (none of Stripe's) still applies."""
    with write_session(sessions) as session:
        payee = payees.create_payee(session, code="store-c", name="Store C", kind="seller")
        payees.attach_account(session, payee.id, "acct_c")
        payee_id = payee.id
    payee_services.refresh_account(sessions, TestPaymentProvider(), payee_id)
    status, _, mark = state_of(sessions, payee_id)
    assert status == "active" and mark is not None
    stale = AccountEvent(
        id="evt_stale",
        type="account.updated",
        account=ConnectedAccount(id="acct_c", details_submitted=True),
        created=mark - 30,
    )
    assert payee_services.apply_account_event(sessions, "stripe", stale)
    assert state_of(sessions, payee_id)[0] == "active"
    untimed = AccountEvent(
        id="evt_untimed",
        type="account.updated",
        account=ConnectedAccount(id="acct_c", details_submitted=True),
    )
    assert payee_services.apply_account_event(sessions, "stripe", untimed)
    assert state_of(sessions, payee_id) == ("restricted", False, mark)
