"""buybutton: signed, pre-filled checkout links and embed snippets for shoppable content."""

from buybutton.client import BuyButton
from buybutton.errors import (
    BuyButtonError,
    ConfigurationError,
    ExpiredLink,
    InvalidLink,
    LinkError,
)
from buybutton.tokens import CheckoutLink

__all__ = [
    "BuyButton",
    "BuyButtonError",
    "CheckoutLink",
    "ConfigurationError",
    "ExpiredLink",
    "InvalidLink",
    "LinkError",
]
__version__ = "0.1.0"
