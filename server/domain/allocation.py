"""Split an amount over weights in whole minor units, summing exactly."""

from __future__ import annotations

from collections.abc import Sequence


def allocate(amount: int, weights: Sequence[int]) -> tuple[int, ...]:
    """Split ``amount`` in proportion to ``weights`` by largest remainder: each share is
    ``amount * w / sum(weights)`` rounded down, and the units left over go one each to the
    largest remainders (ties: the earlier weight). The shares sum to ``amount`` exactly.

    When ``amount <= sum(weights)`` no share exceeds its weight, so a fixed-amount discount
    split by line subtotals never takes more than a line costs. Zero weights get nothing.
    Raises ``ValueError`` for negative numbers, or a positive amount over zero weights."""
    if amount < 0 or any(weight < 0 for weight in weights):
        raise ValueError("allocate() takes no negative amount or weight")
    total = sum(weights)
    if total == 0:
        if amount:
            raise ValueError("allocate() cannot split a positive amount over zero weights")
        return tuple(0 for _ in weights)
    shares = [amount * weight // total for weight in weights]
    left = amount - sum(shares)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % total), i))
    for i in by_remainder[:left]:
        shares[i] += 1
    return tuple(shares)
