"""Words that reach a shopper from code rather than from a template (issue 16; docs/languages.md).

Marked with :func:`N_` so ``pybabel extract`` (babel.cfg) puts them in the catalogs, and
translated where they are shown. Messages built with values (``This code (WELCOME10) has
expired.``, ``Email is required.``) stay English in the domain, which knows nothing of the
request: :data:`MESSAGE_PATTERNS` maps each such English sentence to its catalog message and
values, and :func:`message_template` finds them, so the page that shows the message (the
template's ``_()``, the checkout's quote) writes it in the shopper's language. The API's
answers stay English: they are for developers.
"""

from __future__ import annotations

import re


def N_(message: str) -> str:
    """Marks ``message`` for the catalogs (babel.cfg extracts ``N_``); translated where
    shown (``{{ _(error.title) }}``, checkout.js's words)."""
    return message


# Error pages: the titles and stock messages of the errors a shopper meets (server/errors.py).
ERROR_WORDS = (
    N_("Something is not right"),
    N_("We could not handle that request."),
    N_("Please check what you entered"),
    N_("Not allowed"),
    N_("You are not allowed to do that."),
    N_("Page not found"),
    N_("There is nothing at this address."),
    N_("No longer here"),
    N_("This is no longer available."),
    N_("That can't be done now"),
    N_("Too much data"),
    N_("Too many tries"),
    N_("Not available"),
    N_("We can't take orders right now"),
    N_(
        "The shop is having a technical problem. Nothing was charged. Please try again in a "
        "few minutes."
    ),
    N_("Something went wrong"),
    N_("Something went wrong on our side. Nothing was charged; please try again."),
    N_("This link is not valid"),
    N_(
        "This checkout link has been changed or cut short, so we can't trust it. "
        "Go back to where you found it and tap it again."
    ),
    N_("This link has expired"),
    N_("The offer in this link has ended, but the product may still be available."),
    N_("This product is no longer available"),
    N_("The shop has taken this product down. Nothing was charged."),
    N_("Sold out"),
    N_("Sorry, this product just sold out. Nothing was charged."),
    N_("Not enough in stock"),
    N_("The total changed"),
    N_("Payments are not reachable right now"),
    N_("We could not reach the payment service. Nothing was charged; please try again."),
    N_("We could not find that order. Check the link in your confirmation."),
)
# Form labels: the contact fields (services/checkout_details.FIELDS) and the address fields
# of every country (domain/address_rules.py), which checkout.js also shows.
LABEL_WORDS = (
    N_("Email"),
    N_("Full name"),
    N_("Street address"),
    N_("Apartment, suite, unit"),
    N_("City"),
    N_("Town/City"),
    N_("District"),
    N_("Suburb"),
    N_("Neighborhood"),
    N_("Village township"),
    N_("State"),
    N_("Province"),
    N_("County"),
    N_("Area"),
    N_("Department"),
    N_("Prefecture"),
    N_("Island"),
    N_("Parish"),
    N_("Emirate"),
    N_("Oblast"),
    N_("Do/Si"),
    N_("ZIP code"),
    N_("PIN code"),
    N_("Eircode"),
    N_("Postal code"),
    N_("Postcode"),
    N_("Sorting code (CEDEX)"),
)
# What checkout.js writes into the page itself (the page carries them translated).
SCRIPT_WORDS = (
    N_("With your address"),
    N_("Free"),
    N_("No shipping for this address."),
    N_("Shipping options and tax appear once we know your country and postal code."),
    N_("(optional)"),
    N_("Choose…"),
    N_("For example %(example)s"),
    N_("Enter the expiry date as MM / YY."),
    N_("Processing…"),
    *LABEL_WORDS,
)
# The widget's words (the product JSON carries them: widgets/buybutton.js and the card).
WIDGET_WORDS = (N_("Sold out"), N_("only %(num)d left"), N_("sold out"), N_("In stock"))


# Shopper messages without values, raised or returned by the domain and services.
MESSAGE_WORDS = (
    N_(
        "The total changed with your address or the shop's prices. Check the new total "
        "and pay again; nothing was charged."
    ),
    N_("We can't ship these items to that address. Please choose another one."),
    N_(
        "You already have checkouts waiting for payment. Finish or close one, or try "
        "again in a few minutes; nothing was charged."
    ),
    N_(
        "Many checkouts through this link are under way. Please try again in a minute; "
        "nothing was charged."
    ),
    N_("Enter an email address like name@example.com."),
    N_("Remove the characters that cannot be used here."),
    N_("Choose a country."),
    N_("Enter the name of the person receiving the parcel."),
    # /orders/find (views/order_links.py, services/order_links.py)
    N_("Order number"),
    N_("The address your confirmation went to."),
    N_("Like BB-7K2Q9XRM, in your confirmation."),
    N_("This form was open too long or did not come from this page. Please send it again."),
    N_("Please check the fields marked below."),
    N_("Enter the email address you used for the order."),
    N_("Enter the order number from your confirmation."),
    N_("An order number has letters, digits and dashes, like BB-7K2Q9."),
    # the return page (domain/returns.py, services/returns.py)
    N_("I changed my mind"),
    N_("Wrong size or fit"),
    N_("It arrived damaged"),
    N_("Not as described"),
    N_("I received the wrong item"),
    N_("Something else"),
    N_("This order was refunded in full: there is nothing left to return."),
    N_("Returns open once the order is paid."),
    N_("Everything in this order has been returned or asked back already."),
    N_("This form is out of date: reload the page and try again."),
    N_("Quantities to return must be whole numbers, 0 or more."),
    N_("Quantities to return must be 0 or more."),
    N_("That item is not part of this order."),
    N_("Choose a reason for the return."),
    N_("Choose at least one item to return."),
    N_("The note must not contain NUL characters."),
    N_("Returns are closed"),
    N_("Already returned"),
    # taxes (domain/tax_rates.py) and the demo's shipping (domain/shipping.py)
    N_("VAT"),
    N_("Sales tax"),
    N_("Tax"),
    N_("No tax"),
    N_("GST"),
    N_("HST"),
    N_("PST"),
    N_("QST"),
    N_("Free shipping"),
    N_("Standard"),
    N_("Express"),
    N_("International"),
    # payments (services/checkout.py, domain/reservations.py); the card's refusals are
    # payments/messages.py's, marked there.
    N_("Your payment failed."),
    N_("The reservation was not collected in time; the units went back."),
    # pickup (domain/pickup.py ready_text; the others are patterns below)
    N_("ready now"),
)

# English sentences the domain builds with values → (the catalog's message, value names).
# Tried in order; the first whose pattern matches the whole message wins. A value that is
# itself a catalog message (a field's label: "City", "postal code") is translated too.
_A = r"(?:the |an? )?"
MESSAGE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern + r"\Z", re.DOTALL), message)
    for pattern, message in (
        (
            r"Only (?P<num>\d+) left\. Lower the quantity and try again; nothing was charged\.",
            N_("Only %(num)s left. Lower the quantity and try again; nothing was charged."),
        ),
        (
            r"Sorry, the (?P<title>.+) sold out\. Nothing was charged and nothing is held\.",
            N_("Sorry, the %(title)s sold out. Nothing was charged and nothing is held."),
        ),
        (
            r"Sorry, none of the (?P<title>.+) left at (?P<store>.+)\. Nothing was charged "
            r"and nothing is held\.",
            N_(
                "Sorry, none of the %(title)s left at %(store)s. Nothing was charged and "
                "nothing is held."
            ),
        ),
        (
            r"Sorry, none of the (?P<title>.+) left\. Nothing was charged and nothing is held\.",
            N_("Sorry, none of the %(title)s left. Nothing was charged and nothing is held."),
        ),
        (
            r"Sorry, only (?P<num>\d+) of the (?P<title>.+) left at (?P<store>.+)\. Nothing "
            r"was charged and nothing is held\.",
            N_(
                "Sorry, only %(num)s of the %(title)s left at %(store)s. Nothing was charged "
                "and nothing is held."
            ),
        ),
        (
            r"Sorry, only (?P<num>\d+) of the (?P<title>.+) left\. Nothing was charged and "
            r"nothing is held\.",
            N_(
                "Sorry, only %(num)s of the %(title)s left. Nothing was charged and nothing "
                "is held."
            ),
        ),
        (r"Code (?P<code>\S+) is no longer valid\.", N_("Code %(code)s is no longer valid.")),
        (
            r"Code (?P<code>\S+) is valid from (?P<date>.+)\.",
            N_("Code %(code)s is valid from %(date)s."),
        ),
        (r"Code (?P<code>\S+) expired on (?P<date>.+)\.", N_("Code %(code)s expired on %(date)s.")),
        (
            r"Code (?P<code>\S+) works for orders in (?P<currency>[A-Z]{3}) only\.",
            N_("Code %(code)s works for orders in %(currency)s only."),
        ),
        (
            r"Code (?P<code>\S+) does not apply to the items in your cart\.",
            N_("Code %(code)s does not apply to the items in your cart."),
        ),
        (
            r"Code (?P<code>\S+) needs an order of at least (?P<amount>.+) on the items it "
            r"applies to\.",
            N_("Code %(code)s needs an order of at least %(amount)s on the items it applies to."),
        ),
        (
            r"Code (?P<code>\S+) needs an order of at least (?P<amount>.+)\.",
            N_("Code %(code)s needs an order of at least %(amount)s."),
        ),
        (r"Code (?P<code>\S+) has been used up\.", N_("Code %(code)s has been used up.")),
        (r"Code (?P<code>\S+) is already applied\.", N_("Code %(code)s is already applied.")),
        (r"You have already used code (?P<code>\S+)\.", N_("You have already used code %(code)s.")),
        (r"(?P<code>.+) is not a code we know\.", N_("%(code)s is not a code we know.")),
        (
            r"At most (?P<num>\d+) codes can be tried at once\.",
            N_("At most %(num)s codes can be tried at once."),
        ),
        (
            r"This code \((?P<code>.+)\) is no longer valid\.",
            N_("This code (%(code)s) is no longer valid."),
        ),
        (
            r"This code \((?P<code>.+)\) is not valid yet\.",
            N_("This code (%(code)s) is not valid yet."),
        ),
        (r"This code \((?P<code>.+)\) has expired\.", N_("This code (%(code)s) has expired.")),
        (
            r"This code \((?P<code>.+)\) has just been used up\.",
            N_("This code (%(code)s) has just been used up."),
        ),
        (
            r"This code \((?P<code>.+)\) no longer exists\.",
            N_("This code (%(code)s) no longer exists."),
        ),
        (
            r"The shipping you chose is not available for this address; we picked "
            r"(?P<option>.+) instead\.",
            N_(
                "The shipping you chose is not available for this address; we picked "
                "%(option)s instead."
            ),
        ),
        (
            r"(?P<label>.+) contains characters that cannot be used; remove them\.",
            N_("%(label)s contains characters that cannot be used; remove them."),
        ),
        (
            r"(?P<label>.+) is too long \(at most (?P<num>\d+) characters\)\.",
            N_("%(label)s is too long (at most %(num)s characters)."),
        ),
        (r"(?P<label>.+) is required\.", N_("%(label)s is required.")),
        (r"Keep this under (?P<num>\d+) characters\.", N_("Keep this under %(num)s characters.")),
        (
            r"We don't know the country “(?P<country>.+)”\.",
            N_("We don't know the country “%(country)s”."),
        ),
        (
            r"Choose " + _A + r"(?P<label>.+) from the list\.",
            N_("Choose from the list: %(label)s."),
        ),
        (r"Choose " + _A + r"(?P<label>.+)\.", N_("Choose: %(label)s.")),
        (
            r"Enter " + _A + r"(?P<label>.+) like (?P<example>.+)\.",
            N_("Enter the %(label)s, for example %(example)s."),
        ),
        (r"Enter " + _A + r"(?P<label>.+)\.", N_("Enter the %(label)s.")),
        (
            r"(?P<label>.+) (?P<postal>\S+) is not in (?P<region>.+): check it, and the region\.",
            N_("%(label)s %(postal)s is not in %(region)s: check it, and the region."),
        ),
        (
            r"Returns for this order closed on (?P<date>\S+): they are open for (?P<num>\d+) "
            r"days after it was shipped \(or paid, if it was not shipped\)\.",
            N_(
                "Returns for this order closed on %(date)s: they are open for %(num)s days "
                "after it was shipped (or paid, if it was not shipped)."
            ),
        ),
        # Taxes and delivery as the checkout's totals and shipping options show them.
        (r"incl\. (?P<tax>.+)", N_("incl. %(tax)s")),
        (r"(?P<first>.+?) \+ (?P<second>.+)", N_("%(first)s + %(second)s")),
        (r"(?P<tax>[A-Za-z ]+) (?P<percent>\d+(?:\.\d+)?)%", N_("%(tax)s %(percent)s")),
        (
            r"(?P<low>\d+)-(?P<high>\d+) business days",
            N_("%(low)s-%(high)s business days"),
        ),
        # Pickup (domain/pickup.py): ready times and a reservation's hold, in store time.
        (
            r"Held for you until (?P<time>\d{4}-\d\d-\d\d \d\d:\d\d(?: UTC)?)",
            N_("Held for you until %(time)s"),
        ),
        (r"ready in (?P<num>\d+) min", N_("ready in %(num)s min")),
        (r"ready in (?P<num>\d+) h", N_("ready in %(num)s h")),
        (
            r"ready in (?P<hours>\d+) h (?P<minutes>\d+) min",
            N_("ready in %(hours)s h %(minutes)s min"),
        ),
        (r"ready today at (?P<clock>\d\d:\d\d)", N_("ready today at %(clock)s")),
        (r"ready tomorrow at (?P<clock>\d\d:\d\d)", N_("ready tomorrow at %(clock)s")),
        (
            r"ready on (?P<weekday>[A-Z][a-z]+day) at (?P<clock>\d\d:\d\d)",
            N_("ready on %(weekday)s at %(clock)s"),
        ),
        (
            r"There have been too many requests for order links\. Please try again in "
            r"(?P<num>\d+) minutes?\.",
            N_(
                "There have been too many requests for order links. Please try again in "
                "%(num)s minutes."
            ),
        ),
    )
)
# Values that are never words to translate (a code, a product's title, a number).
_LITERAL_VALUES = frozenset(
    {"code", "title", "num", "amount", "currency", "date", "postal", "low", "high", "store"}
    | {"time", "clock", "weekday", "hours", "minutes"}  # dates and times: as the locale writes
)


def message_template(text: str) -> tuple[str, dict[str, str], frozenset[str]] | None:
    """The catalog message ``text`` was made from, its values, and which of them are
    literal (not to translate); None when no pattern matches."""
    for pattern, message in MESSAGE_PATTERNS:
        found = pattern.match(text)
        if found is not None:
            return message, found.groupdict(), _LITERAL_VALUES
    return None
