"""What a shopper reads when a payment does not go through, by decline code.

Stripe's codes are the common vocabulary; the test provider uses the same ones. The
messages stay English here (payments know nothing of the request); each is marked with
:func:`N_` so ``pybabel extract`` (babel.cfg) puts it in the catalogs, and the page that
shows it translates it (``{{ _(alert) }}``, ``locales.localize``; docs/languages.md).
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Marks ``message`` for the catalogs; translated where it is shown."""
    return message


DECLINE_MESSAGES = {
    "card_declined": N_("Your card was declined. Try another card."),
    "generic_decline": N_("Your card was declined. Try another card."),
    "insufficient_funds": N_("Your card has insufficient funds. Try another card."),
    "expired_card": N_("Your card has expired. Try another card."),
    "incorrect_cvc": N_("The security code is not right. Check it and try again."),
    "invalid_cvc": N_("Enter the 3 or 4 digit security code."),
    "incorrect_number": N_("That card number is not valid. Check it and try again."),
    "invalid_number": N_("That card number is not valid. Check it and try again."),
    "invalid_expiry": N_("Enter the expiry date as MM / YY."),
    "invalid_expiry_month": N_("The expiry date is not valid. Check it and try again."),
    "invalid_expiry_year": N_("The expiry date is not valid. Check it and try again."),
    "processing_error": N_("We could not process your card. Please try again."),
    "authentication_required": N_("Your bank needs to confirm this payment. Please try again."),
    "payment_intent_authentication_failure": N_(
        "Your bank could not confirm the payment. Try again or use another card."
    ),
    "fraudulent": N_("Your card was declined. Try another card."),
    "lost_card": N_("Your card was declined. Try another card."),
    "stolen_card": N_("Your card was declined. Try another card."),
}
FALLBACK = N_("Your payment did not go through. Try another card.")
# The card field a code is about: the page shows the message next to that field.
CARD_FIELD_BY_CODE = {
    "invalid_number": "card_number",
    "incorrect_number": "card_number",
    "invalid_expiry": "card_expiry",
    "invalid_expiry_month": "card_expiry",
    "invalid_expiry_year": "card_expiry",
    "expired_card": "card_expiry",
    "invalid_cvc": "card_cvc",
    "incorrect_cvc": "card_cvc",
}


def decline_message(*codes: str | None) -> str:
    """The most specific message for the first code we know (decline code before code)."""
    for code in codes:
        if code and code in DECLINE_MESSAGES:
            return DECLINE_MESSAGES[code]
    return FALLBACK
