"""The test provider's card form after a refusal (issue 13, item 8): what the shopper typed
stays, and the reason sits next to the field it is about."""

from __future__ import annotations

from collections.abc import Mapping

from buybutton_server.payments.messages import CARD_FIELD_BY_CODE

CARD_FIELDS = ("card_number", "card_expiry", "card_cvc")


def shown_values(
    provider: str, values: Mapping[str, str], payment_details: Mapping[str, str]
) -> dict[str, str]:
    """The form as typed. Card fields only for the ``test`` provider: a real provider's card
    fields live in its own frames and never pass through this server (docs/security.md)."""
    shown = dict(values)
    if provider == "test":
        shown.update({name: payment_details.get(name, "") for name in CARD_FIELDS})
    return shown


def field_errors(
    code: str | None, alert: str | None, errors: Mapping[str, str]
) -> Mapping[str, str]:
    """``errors`` plus the refusal's message on the card field its code is about."""
    field = CARD_FIELD_BY_CODE.get(code or "")
    if field and alert and field not in errors:
        return {**errors, field: alert}
    return errors
