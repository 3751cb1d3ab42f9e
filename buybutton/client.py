"""The ``BuyButton`` object: one place that holds keys and the shop's base URL."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from buybutton import snippets
from buybutton.api import ApiClient, verify_webhook
from buybutton.errors import ConfigurationError
from buybutton.resources import WebhookEvent
from buybutton.tokens import CHOOSABLE_QUANTITY, CheckoutLink, LinkSigner

# The key a development server signs with when BUYBUTTON_SECRET_KEYS is unset, so the demo and
# ``buybutton link`` work with no setup. A production server refuses to start with it.
DEV_SECRET_KEY = "dev-only-insecure-key-change-me"  # noqa: S105
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
MIN_KEY_BYTES = 32  # a signing key is a secret: at least 256 bits


def checked_secret_keys(secret_keys: Sequence[str]) -> list[str]:
    """``secret_keys`` as a list, refusing a plain string (a ``Sequence[str]`` too, whose
    last character would become the key) and keys shorter than :data:`MIN_KEY_BYTES`
    (except the public development key, which only a development server accepts)."""
    if isinstance(secret_keys, (str, bytes)):
        raise TypeError(
            "secret_keys takes a list of keys, newest last, not a single string: "
            "write secret_keys=[key] (or BuyButton.from_env() to read BUYBUTTON_SECRET_KEYS)"
        )
    keys = list(secret_keys)
    for key in keys:
        if not isinstance(key, str):
            raise TypeError(f"secret_keys holds a {type(key).__name__}, not a str key")
        if key != DEV_SECRET_KEY and len(key.encode()) < MIN_KEY_BYTES:
            raise ConfigurationError(
                f"a secret key must be at least {MIN_KEY_BYTES} bytes (got {len(key.encode())}); "
                "make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
    return keys


def secret_keys_from_env(environ: Mapping[str, str]) -> list[str]:
    """``BUYBUTTON_SECRET_KEYS``: comma-separated, newest last, blanks dropped."""
    return [k.strip() for k in environ.get("BUYBUTTON_SECRET_KEYS", "").split(",") if k.strip()]


def base_url_from_env(environ: Mapping[str, str]) -> str:
    """``BUYBUTTON_BASE_URL`` without a trailing slash, or the development server's."""
    return environ.get("BUYBUTTON_BASE_URL", "").strip().rstrip("/") or DEFAULT_BASE_URL


class BuyButton(ApiClient):
    """Signs pre-filled checkout links and builds embed snippets, offline; with an
    ``api_key``, also calls the shop's REST API (see :class:`buybutton.api.ApiClient`).

    >>> bb = BuyButton(secret_keys=["…"], base_url="https://shop.example")
    >>> bb.checkout_link("MUG-01", source="instagram")   # doctest: +SKIP
    'https://shop.example/c/eyJzIjoiTVVHLTAxIi...'

    ``secret_keys`` must be the server's ``BUYBUTTON_SECRET_KEYS``, newest last (only
    needed to sign links offline). ``webhook_secrets`` are the ``whsec_…`` secrets of your
    webhook endpoint, for :meth:`verify_webhook`.
    """

    def __init__(
        self,
        *,
        base_url: str,
        secret_keys: Sequence[str] = (),
        api_key: str | None = None,
        webhook_secrets: Sequence[str] = (),
        http_client: httpx.Client | None = None,
        retries: int = 3,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigurationError(f"base_url must be an http(s) URL, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        keys = checked_secret_keys(secret_keys)
        self._signer = LinkSigner(keys) if keys else None
        self.webhook_secrets = list(webhook_secrets)
        super().__init__(self.base_url, api_key, http_client=http_client, retries=retries)

    def verify_webhook(self, body: bytes | str, headers: Mapping[str, str]) -> WebhookEvent:
        """Check a delivery's Standard Webhooks signature and return its typed event."""
        if not self.webhook_secrets:
            raise ConfigurationError("webhook_secrets is not set")
        return verify_webhook(body, headers, self.webhook_secrets)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BuyButton:
        """Build from ``BUYBUTTON_SECRET_KEYS`` (comma-separated, newest last) and
        ``BUYBUTTON_BASE_URL``, the same variables the server reads."""
        env = os.environ if environ is None else environ
        keys = secret_keys_from_env(env)
        api_key = env.get("BUYBUTTON_API_KEY") or None
        if not keys and not api_key:
            raise ConfigurationError("BUYBUTTON_SECRET_KEYS is not set")
        return cls(secret_keys=keys, base_url=base_url_from_env(env), api_key=api_key)

    def checkout_link(
        self,
        sku: str | None = None,
        *,
        items: Sequence[tuple[str, int]] | None = None,
        codes: Sequence[str] | None = None,
        quantity: int = 1,
        email: str | None = None,
        name: str | None = None,
        source: str | None = None,
        campaign: str | None = None,
        content: str | None = None,
        expires_in: timedelta | int | None = None,
        min_quantity: int | None = None,
        max_quantity: int | None = None,
        creator: str | None = None,
        locale: str | None = None,
        currency: str | None = None,
    ) -> str:
        """A signed URL that opens a pre-filled one-step checkout for ``sku``.

        The price is not in the link: the server charges its current price. Pre-filled
        ``email`` and ``name`` are readable by anyone holding the link, so only pre-fill them
        in links sent to that person. ``expires_in`` (seconds or a timedelta) makes the link
        expire; an expired link offers the same product at today's price. The shopper buys
        exactly ``quantity`` unless ``min_quantity``/``max_quantity`` let them pick within
        that range (the product's own per-order maximum applies either way).

        ``items=[("MUG-01", 2), ("TEE-M", 1)]`` instead of ``sku`` signs one checkout for
        several products (at most ``MAX_LINES``, each SKU once, each quantity binding).
        ``codes`` carries discount codes the checkout applies. ``creator`` (a creator
        payee's code, ``"anna"``) signs who published the link: their commission is frozen
        on the order. ``locale`` (``"de"``, ``"de-AT"``) opens the checkout in that language;
        ``currency`` (``"CHF"``) charges the product's price-list price in that currency
        when it has one (else its own price).
        """
        if (sku is None) == (items is None):
            raise ValueError("give sku or items, exactly one")
        fields: dict[str, Any] = {
            "email": email,
            "name": name,
            "source": source,
            "campaign": campaign,
            "content": content,
            "expires_at": _expiry(expires_in),
            "codes": tuple(codes) if codes else None,
            "creator": creator,
            "locale": locale,
            "currency": currency,
        }
        if items is not None:
            if quantity != 1 or min_quantity is not None or max_quantity is not None:
                raise ValueError("with items, each line's quantity is in items")
            return self.url_for(CheckoutLink.for_items(items, **fields))
        link = CheckoutLink(
            sku=str(sku),
            quantity=quantity,
            min_quantity=min_quantity,
            max_quantity=max_quantity,
            **fields,
        )
        return self.url_for(link)

    def url_for(self, link: CheckoutLink) -> str:
        if self._signer is None:
            raise ConfigurationError(
                "secret_keys is not set: signing links offline needs BUYBUTTON_SECRET_KEYS "
                "(or mint them on the server with create_link)"
            )
        return f"{self.base_url}/c/{self._signer.sign(link)}"

    def embed_snippet(
        self,
        sku: str,
        *,
        label: str = "Buy now",
        quantity: int = 1,
        source: str | None = None,
        campaign: str | None = None,
        content: str | None = None,
        creator: str | None = None,
        layout: str | None = None,
        theme: Mapping[str, str] | None = None,
        facts: snippets.CardFacts | None = None,
        heading: int | None = None,
        adjustable: bool = True,
        currency: str | None = None,
    ) -> str:
        """Paste-ready HTML: a plain link to checkout that the widget script enhances with
        live price and stock (``layout="card"``: a product card with options and quantity).
        It carries no personal data, so it is safe to publish. ``theme`` sets ``color``,
        ``text-color``, ``radius`` and ``font-size`` (CSS values). A card given ``facts``
        (title, price, image) paints with the page; ``heading`` makes its title a heading of
        that level (1-6). The shopper may pick a quantity from 1 to ``CHOOSABLE_QUANTITY``
        (the card's menu, the checkout's picker) unless ``adjustable`` is False.
        ``currency`` (``"USD"``) signs the currency into the link and tells the widget, so
        the button shows the price the checkout will charge (the product's price-list price
        in that currency, else its own)."""
        href = self.checkout_link(
            sku,
            quantity=quantity,
            source=source,
            campaign=campaign,
            content=content,
            creator=creator,
            max_quantity=max(quantity, CHOOSABLE_QUANTITY) if adjustable else None,
            currency=currency,
        )
        return snippets.button_snippet(
            href=href,
            sku=sku,
            label=label,
            api_base=self.base_url,
            theme=theme,
            layout=layout,
            facts=facts,
            heading=heading,
            currency=currency,
        )

    def card_snippet(self, sku: str, **options: Any) -> str:
        """The product card: :meth:`embed_snippet` with ``layout="card"``."""
        return self.embed_snippet(sku, layout="card", **options)

    def email_snippet(
        self,
        sku: str,
        *,
        title: str,
        price: str,
        image_url: str | None = None,
        label: str = "Buy now",
        email: str | None = None,
        name: str | None = None,
        source: str = "email",
        campaign: str | None = None,
        content: str | None = None,
        creator: str | None = None,
    ) -> str:
        """Email-safe HTML (tables, inline CSS, no script). Give ``email``/``name`` to
        pre-fill the checkout for one recipient: render once per recipient, or use
        :meth:`email_links` to feed a newsletter tool's merge field."""
        href = self.checkout_link(
            sku,
            email=email,
            name=name,
            source=source,
            campaign=campaign,
            content=content,
            creator=creator,
        )
        return snippets.email_snippet(
            href=href, title=title, price=price, image_url=image_url, label=label
        )

    def email_links(
        self,
        sku: str,
        recipients: Iterable[str | tuple[str, str]],
        *,
        source: str = "email",
        campaign: str | None = None,
        content: str | None = None,
        expires_in: timedelta | int | None = timedelta(days=30),
    ) -> dict[str, str]:
        """One pre-filled checkout link per recipient (an email, or ``(email, name)``), for
        newsletter tools that merge a per-subscriber field into the button's ``href``."""
        links: dict[str, str] = {}
        for recipient in recipients:
            email, name = (recipient, None) if isinstance(recipient, str) else recipient
            links[email] = self.checkout_link(
                sku,
                email=email,
                name=name or None,
                source=source,
                campaign=campaign,
                content=content,
                expires_in=expires_in,
            )
        return links

    def moment(
        self,
        sku: str,
        *,
        title: str,
        at: float,
        until: float,
        source: str = "video",
        campaign: str | None = None,
        content: str | None = None,
        creator: str | None = None,
    ) -> snippets.Moment:
        """A product shown over a video from ``at`` to ``until`` seconds."""
        href = self.checkout_link(
            sku, source=source, campaign=campaign, content=content, creator=creator
        )
        return snippets.Moment(sku=sku, href=href, title=title, at=at, until=until)

    def video_snippet(
        self,
        video_src: str,
        moments: Iterable[snippets.Moment],
        *,
        poster: str | None = None,
        caption: str | None = None,
    ) -> str:
        """An HTML5 video whose products appear at their moments and link to checkout."""
        return snippets.video_snippet(
            video_src=video_src,
            moments=moments,
            api_base=self.base_url,
            poster=poster,
            caption=caption,
        )


def _expiry(expires_in: timedelta | int | None) -> int | None:
    if expires_in is None:
        return None
    seconds = expires_in.total_seconds() if isinstance(expires_in, timedelta) else expires_in
    if seconds <= 0:
        raise ValueError("expires_in must be positive")
    return int(time.time() + seconds)
