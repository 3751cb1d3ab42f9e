"""Composing an email: what it says (``data``, stored with the message) rendered through the
Jinja2 templates in ``server/templates/mail/`` into plain text and HTML with inline CSS
(tables, no external CSS), then one ``multipart/alternative`` :class:`EmailMessage` with From
(the shop's name and support address), To, Subject, Date and Message-ID.

Bodies are rendered when a message is sent, with the shop's identity and address of that
moment (``BUYBUTTON_BASE_URL`` for links); what was sent is then kept with the message.
Links are signed then too, with the secret keys of that moment, so no signed link is ever
stored in ``data``: the order link ``/o/<token>`` (:mod:`..order_links`) of every email about
an order, and the "try again" checkout link of a failed payment (a fresh, expiring
``/c/<token>`` for the same items and codes, signed like every checkout link, with no
personal data in it).
"""

from __future__ import annotations

import functools
import io
import ipaddress
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from typing import Any
from urllib.parse import urlencode, urlsplit

import segno
from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from buybutton.tokens import EMAIL_PATTERN, CheckoutLink, LinkSigner
from buybutton.urls import checkout_path
from buybutton_server.db.models import utcnow
from buybutton_server.domain import locales, order_links
from buybutton_server.domain.locale_words import N_
from buybutton_server.domain.locales import ENGLISH, Lang
from buybutton_server.domain.shop_profile import ShopIdentity
from buybutton_server.settings import Settings

# The kinds of email, and what each one's subject says (%(number)s: the order's number),
# in the catalogs: an email about an order is written in the order's language.
SUBJECTS = {
    "receipt": N_("Your receipt for order %(number)s"),
    "refund": N_("Refund for order %(number)s"),
    "shipped": N_("Order %(number)s is on its way"),
    "payment_failed": N_("Your payment for order %(number)s did not go through"),
    "order_link": N_("The link to your order %(number)s"),
    "password_reset": "Reset your password",  # the admin's: English
    "invitation": "You have a login for the admin",
    "pickup_ready": N_("Order %(number)s is ready to collect"),
    "pickup_collected": N_("You collected order %(number)s"),
}
KINDS = tuple(SUBJECTS)
# Messages whose body holds a secret (a one-time sign-in link): the admin never shows it.
SECRET_KINDS = frozenset({"password_reset", "invitation", "pickup_ready"})
# The pickup code (domain/counter.py) as the bodies show it; removed from a sent message.
CODE_REMOVED = "(code removed once sent)"
QR_CID = "pickup-qr@buybutton"

_ENV = Environment(
    loader=PackageLoader("buybutton_server", "templates/mail"),
    autoescape=select_autoescape(enabled_extensions=("html",), default=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
    keep_trailing_newline=True,
    # {% trans %} and _(): the message's language comes with each render (render()).
    extensions=["jinja2.ext.i18n"],
)
_ENV.newstyle_gettext = True  # type: ignore[attr-defined]
_ENV.policies["ext.i18n.trimmed"] = True


@pass_context
def _money(context: Context, amount: int, currency: str) -> str:
    """Money as the message's language writes it (``1.234,50 €`` in German)."""
    lang = context.get("lang")
    return locales.format_money(amount, currency, lang if isinstance(lang, Lang) else ENGLISH)


_ENV.filters["money"] = _money


class BadRecipient(ValueError):
    """The recipient's address cannot become a ``To`` header (the message fails at once)."""


# Characters that end a header line for :class:`EmailMessage` (``str.splitlines``) or have
# no place in one: control characters, line and paragraph separators.
_NOT_IN_HEADER = frozenset({"Cc", "Cs", "Zl", "Zp"})


def header_text(value: str) -> str:
    """``value`` on one line, safe as a header: control characters and line breaks (CR,
    LF, NEL, U+2028, U+2029, ...) become spaces, and runs of white space one space."""
    cleaned = "".join(" " if unicodedata.category(c) in _NOT_IN_HEADER else c for c in value)
    return " ".join(cleaned.split())


def recipient(to: str) -> Address:
    """``to`` as a ``To`` address, or :class:`BadRecipient` (the checkout's
    ``EMAIL_PATTERN`` is loose: ``a;b@x.co`` matches it but is no single address)."""
    problem = f"the recipient's address is not a single email address ({to[:80]!r})"
    if not EMAIL_PATTERN.match(to) or header_text(to) != to:
        raise BadRecipient(problem)
    try:
        address = Address(addr_spec=to)
    except Exception:  # ValueError, a header defect or HeaderParseError
        raise BadRecipient(problem) from None
    if address.addr_spec != to:
        raise BadRecipient(problem)
    return address


@dataclass(frozen=True, slots=True)
class Bodies:
    text: str
    html: str
    # Images the HTML shows inline (``cid:`` id, PNG bytes): the pickup QR code.
    images: tuple[tuple[str, bytes], ...] = ()
    # The language the bodies are written in (``Content-Language``).
    language: str = "en"


def code_forms(data: dict[str, Any]) -> list[str]:
    """How a message's pickup code appears in its bodies (removed once it is sent)."""
    code = str(data.get("code") or "")
    return [code, f"{code[:3]} {code[3:]}"] if code else []


def collect_url(base_url: str, number: str, code: str) -> str:
    """What the pickup QR code says: the counter's collect page for that order and code."""
    return f"{base_url}/store/collect?{urlencode({'order': number, 'code': code})}"


def qr_png(text: str) -> bytes:
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="png", scale=6, border=4)
    return out.getvalue()


def subject(kind: str, shop: ShopIdentity, lang: Lang = ENGLISH, **values: Any) -> str:
    """The subject line of a ``kind`` email in ``lang``, with the shop's name in front (on
    one line)."""
    return header_text(f"{shop.name}: {locales.gettext(SUBJECTS[kind], lang) % values}")


def language_of(data: dict[str, Any]) -> Lang:
    """The language an email is written in: the ``locale`` its data was queued with
    (the order's), else English (the admin's emails, messages queued before 0039)."""
    return locales.parse_tag(data.get("locale")) or ENGLISH


def mail_domain(base_url: str) -> str:
    """The domain of Message-IDs and of the fallback sender: the shop's host, or
    ``localhost`` for an IP address or a name without a dot (development)."""
    host = urlsplit(base_url).hostname or "localhost"
    try:
        ipaddress.ip_address(host)
        return "localhost"
    except ValueError:
        return host if "." in host else "localhost"


def sender(settings: Settings, shop: ShopIdentity) -> str:
    """The From header: ``BUYBUTTON_MAIL_FROM``, else the shop's name and support address
    (``no-reply@<the shop's host>`` while the shop has none)."""
    if settings.mail_from:
        return header_text(settings.mail_from)
    address = shop.support_email or f"no-reply@{mail_domain(settings.base_url)}"
    return formataddr((header_text(shop.name), header_text(address)))


# How long the "try again" link of a failed payment works, from the moment it is sent.
RETRY_LINK_LIFETIME = 7 * 24 * 3600  # seconds


@functools.lru_cache(maxsize=4)
def _link_signer(secret_keys: tuple[str, ...]) -> LinkSigner:
    return LinkSigner(secret_keys)


def retry_url(
    data: dict[str, Any], *, base_url: str, secret_keys: Sequence[str], now: float | None = None
) -> str | None:
    """A fresh checkout link for the items (and codes) of a failed order, expiring after
    :data:`RETRY_LINK_LIFETIME`; else the first product's page; None without items."""
    items = [(str(sku), int(quantity)) for sku, quantity in data.get("items") or ()]
    if not items:
        return None
    codes = tuple(data.get("codes") or ()) or None
    expires = int(time.time() if now is None else now) + RETRY_LINK_LIFETIME
    try:
        link = CheckoutLink.for_items(items, codes=codes, expires_at=expires)
    except ValueError:  # a line a link cannot carry: the product page is the way back
        return f"{base_url}/p/{items[0][0]}"
    return base_url + checkout_path(_link_signer(tuple(secret_keys)).sign(link))


def render(
    kind: str,
    data: dict[str, Any],
    *,
    shop: ShopIdentity,
    base_url: str,
    secret_keys: Sequence[str],
    subject_line: str,
) -> Bodies:
    """The text and HTML bodies of a ``kind`` email saying ``data``; an email about an
    order links to it through a signed order link (``secret_keys``: newest last)."""
    public_id = data.get("public_id")
    order_url = (
        base_url + order_links.order_path(secret_keys, str(public_id)) if public_id else None
    )
    lang = language_of(data)
    context = {
        **data,
        **locales.jinja_gettext(lang),
        "lang": lang,
        "kind": kind,
        "shop": shop,
        "base_url": base_url,
        "order_url": order_url,
        "subject": subject_line,
    }
    if kind == "payment_failed":
        context["retry_url"] = retry_url(data, base_url=base_url, secret_keys=secret_keys)
    images: tuple[tuple[str, bytes], ...] = ()
    if kind == "pickup_ready" and data.get("code"):
        images = ((QR_CID, qr_png(collect_url(base_url, str(data["number"]), data["code"]))),)
    context["qr_cid"] = QR_CID if images else None
    return Bodies(
        text=_ENV.get_template(f"{kind}.txt").render(context),
        html=_ENV.get_template(f"{kind}.html").render(context),
        images=images,
        language=lang.tag,
    )


def new_message_id(settings: Settings) -> str:
    return make_msgid(domain=mail_domain(settings.base_url))


def compose(
    *,
    to: str,
    subject_line: str,
    bodies: Bodies,
    from_header: str,
    message_id: str,
    reply_to: str | None = None,
) -> EmailMessage:
    """One multipart/alternative message: the plain text first, the HTML preferred. Header
    values are put on one line (:func:`header_text`); a recipient that is not one address
    raises :class:`BadRecipient`."""
    message = EmailMessage()
    message["From"] = header_text(from_header)
    message["To"] = recipient(to)
    message["Subject"] = header_text(subject_line)
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = header_text(message_id)
    if reply_to and parseaddr(from_header)[1] != reply_to:
        message["Reply-To"] = header_text(reply_to)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(bodies.text)
    message.add_alternative(bodies.html, subtype="html")
    for part in message.iter_parts() if bodies.images else ():
        if part.get_content_type() == "text/html":  # the HTML shows the images inline
            for cid, png in bodies.images:
                part.add_related(png, "image", "png", cid=f"<{cid}>", filename="pickup-qr.png")
    # After the parts: making them moves the top's Content-* headers into the first part.
    message["Content-Language"] = header_text(bodies.language)
    return message
