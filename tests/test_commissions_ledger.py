"""The ledger's invariant (issue 17): captured - refunds = platform + sum(payees), to the
minor unit, over random orders, splits and partial refunds; the remainder is the platform's."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from buybutton_server.domain.commission_ledger import split_refund


@st.composite
def orders(draw: st.DrawFn) -> tuple[int, dict[int, int], list[int]]:
    captured = draw(st.integers(min_value=1, max_value=10_000_000))
    count = draw(st.integers(min_value=1, max_value=6))
    weights = draw(st.lists(st.integers(0, 1000), min_size=count + 1, max_size=count + 1))
    total = sum(weights) or 1
    payable = draw(st.integers(min_value=0, max_value=captured))
    shares = {i + 1: payable * w // total for i, w in enumerate(weights[:-1])}
    refunds: list[int] = []
    left = captured
    for _ in range(draw(st.integers(min_value=0, max_value=8))):
        if left == 0:
            break
        amount = draw(st.integers(min_value=1, max_value=left))
        refunds.append(amount)
        left -= amount
    if draw(st.booleans()) and left:
        refunds.append(left)  # refunded in full at the end
    return captured, shares, refunds


@settings(max_examples=400, deadline=None)
@given(orders())
def test_every_refund_keeps_the_ledger_exact(order: tuple[int, dict[int, int], list[int]]) -> None:
    captured, shares, refunds = order
    held = dict(shares)
    platform = captured - sum(shares.values())
    refunded = 0
    for amount in refunds:
        taken, platform_taken = split_refund(captured, shares, refunded, amount)
        assert sum(taken.values()) + platform_taken == amount
        refunded += amount
        for payee, part in taken.items():
            assert part >= 0
            held[payee] -= part
            # Each payee gives back its exact proportion, rounded down: never below zero.
            assert shares[payee] - held[payee] == refunded * shares[payee] // captured
            assert held[payee] >= 0
        platform -= platform_taken
        assert captured - refunded == platform + sum(held.values())
        # The rounding remainder is the platform's: at most a unit per payee.
        exact = (captured - refunded) * (captured - sum(shares.values())) / captured
        assert abs(platform - exact) < len(shares) + 1
    if refunded == captured:
        assert platform == 0 and set(held.values()) <= {0}


def test_forty_percent_takes_forty_percent_of_each() -> None:
    taken, platform = split_refund(8000, {1: 4000, 2: 2550, 3: 400}, 0, 3200)
    assert taken == {1: 1600, 2: 1020, 3: 160} and platform == 420
