"""``buybutton link`` and ``buybutton snippet`` with the shop's database: short links, QR
codes and snippets filled in from the catalog. They take the SDK's arguments and replace its
offline versions (:mod:`buybutton.cli`), signing with the server's settings."""

from __future__ import annotations

import argparse
from typing import Any

from buybutton import BuyButton, cli
from buybutton.tokens import SKU_PATTERN, CheckoutLink
from buybutton.urls import absolute, short_path
from buybutton_server.commands.base import note, ready_database, with_server_run
from buybutton_server.db import DATABASE_DOWN, open_sessions, write_session
from buybutton_server.db.sessions import describe_url
from buybutton_server.domain import short_links
from buybutton_server.domain.catalog import product_view
from buybutton_server.domain.embeds import SnippetOptions, make_snippet
from buybutton_server.errors import ShopError
from buybutton_server.services import links
from buybutton_server.settings import Settings


def _client(settings: Settings) -> BuyButton:
    return BuyButton(secret_keys=list(settings.secret_keys), base_url=settings.base_url)


def check_product(settings: Settings, sku: str) -> None:
    """Refuse a link to a product the shop does not sell: unknown, or archived."""
    if not SKU_PATTERN.fullmatch(sku):
        return  # not a sku at all: the signer says what one looks like
    try:
        ready_database(settings)
        with open_sessions(settings.database_url) as sessions:
            product = product_view(sessions, sku)
    except DATABASE_DOWN as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines() or ["no answer"]
        raise ValueError(
            f"cannot check {sku} in the catalog, the database cannot be reached "
            f"({reason[0]}); pass --offline to sign the link without checking"
        ) from None
    if product is None:
        raise ValueError(
            f"no product {sku} in the catalog ({describe_url(settings.database_url)}); "
            "import it with buybutton catalog import FILE, or pass --offline to sign anyway"
        )
    if not product.active:
        raise ValueError(f"{sku} is archived: shoppers would see it taken down")


def _link(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    bb = _client(settings)
    if args.offline and (args.short or args.qr):
        raise ValueError("--short and --qr need the shop's database; leave out --offline")
    items = cli.link_items(args)
    if not args.offline:
        for sku, _ in items or [(args.sku, 1)]:
            check_product(settings, sku)
    if args.recipients and not args.offline:
        return _recipient_links(settings, bb, args)
    if args.recipients:
        note("--offline: each link carries its recipient's address, readable in the URL")
    address = cli.link_address(args)
    if args.recipients or not (args.short or args.qr) or (address and not args.short):
        return cli.print_link(bb, args, print)
    if args.expires_in:
        raise ValueError("short links do not expire; leave out --expires-in")
    kind = args.qr.suffix.lower().lstrip(".") if args.qr else ""
    if args.qr and kind not in ("svg", "png"):
        raise ValueError("--qr writes .svg or .png files")
    fields: dict[str, Any] = {
        "email": args.email,
        "name": args.name,
        "source": args.source,
        "campaign": args.campaign,
        "content": args.content,
        "codes": tuple(args.codes) if args.codes else None,
        "creator": getattr(args, "creator", None),
        "locale": getattr(args, "locale", None),
        "currency": getattr(args, "currency", None),
    }
    if items is not None:
        link = CheckoutLink.for_items(items, **fields)
    else:
        link = CheckoutLink(sku=args.sku, quantity=args.quantity, **fields)
    with open_sessions(settings.database_url) as sessions:
        url = absolute(bb.base_url, short_path(links.mint_short(sessions, link, address)))
    if args.qr:
        args.qr.write_bytes(short_links.qr_code(url, kind))
    print(url)
    return 0


def _recipient_links(settings: Settings, bb: BuyButton, args: argparse.Namespace) -> int:
    """``--recipients``: one short link per recipient, its pre-fill (email, name) kept in the
    shop's database, so no address is readable in a newsletter's URLs (docs/privacy.md). All
    minted in one transaction: a bad row mints none. ``--offline`` signs links instead."""
    if args.short or args.qr or args.expires_in:
        raise ValueError(
            "--recipients makes short links already (they do not expire); leave out "
            "--short, --qr and --expires-in"
        )
    rows: dict[str, str] = {}
    with open_sessions(settings.database_url) as sessions, write_session(sessions) as session:
        for email, name in cli.read_recipients(args.recipients):
            link = CheckoutLink(
                sku=args.sku,
                quantity=args.quantity,
                email=email,
                name=name or None,
                source=args.source or "email",
                campaign=args.campaign,
                content=args.content,
            )
            rows[email] = absolute(bb.base_url, short_path(short_links.mint(session, link)))
    print(cli.recipients_csv(rows).removesuffix("\n"))
    return 0


def _snippet(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    options = SnippetOptions(
        sku=args.sku,
        surface=args.surface,
        label=args.label,
        source=args.source,
        campaign=args.campaign,
        content=args.content,
        theme={"color": args.color} if args.color else {},
        video_src=args.video_src,
        at=args.at,
        until=args.until,
    )
    with open_sessions(settings.database_url) as sessions:
        try:
            snippet = make_snippet(sessions, _client(settings), options, mint=True)
        except ShopError as error:
            raise ValueError(f"{args.sku}: {error.message}") from None
    print(snippet.code)
    if snippet.text:
        print("\n# For the video description:\n" + snippet.text)
    return 0


LINK = with_server_run(cli.LINK, _link, database=False)  # not with --offline
SNIPPET = with_server_run(cli.SNIPPET, _snippet)
