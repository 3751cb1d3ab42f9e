"""What a shopper reads when a payment does not go through, by decline code.

Stripe's codes are the common vocabulary; the test provider uses the same ones.
"""

from __future__ import annotations

DECLINE_MESSAGES = {
    "card_declined": "Your card was declined. Try another card.",
    "generic_decline": "Your card was declined. Try another card.",
    "insufficient_funds": "Your card has insufficient funds. Try another card.",
    "expired_card": "Your card has expired. Try another card.",
    "incorrect_cvc": "The security code is not right. Check it and try again.",
    "invalid_cvc": "Enter the 3 or 4 digit security code.",
    "incorrect_number": "That card number is not valid. Check it and try again.",
    "invalid_number": "That card number is not valid. Check it and try again.",
    "invalid_expiry": "Enter the expiry date as MM / YY.",
    "invalid_expiry_month": "The expiry date is not valid. Check it and try again.",
    "invalid_expiry_year": "The expiry date is not valid. Check it and try again.",
    "processing_error": "We could not process your card. Please try again.",
    "authentication_required": "Your bank needs to confirm this payment. Please try again.",
    "payment_intent_authentication_failure": (
        "Your bank could not confirm the payment. Try again or use another card."
    ),
    "fraudulent": "Your card was declined. Try another card.",
    "lost_card": "Your card was declined. Try another card.",
    "stolen_card": "Your card was declined. Try another card.",
}
FALLBACK = "Your payment did not go through. Try another card."
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
