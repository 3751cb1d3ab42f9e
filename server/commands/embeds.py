"""``buybutton link`` and ``buybutton snippet`` with the shop's database: short links, QR
codes and snippets filled in from the catalog. They take the SDK's arguments and replace its
offline versions (:mod:`buybutton.cli`), signing with the server's settings."""

from __future__ import annotations

import argparse

from buybutton import BuyButton, cli
from buybutton.tokens import CheckoutLink
from buybutton.urls import absolute, short_path
from buybutton_server.commands.base import with_server_run
from buybutton_server.db import open_sessions
from buybutton_server.domain import short_links
from buybutton_server.domain.embeds import SnippetOptions, make_snippet, mint_short_link
from buybutton_server.errors import ShopError
from buybutton_server.settings import Settings


def _client(settings: Settings) -> BuyButton:
    return BuyButton(secret_keys=list(settings.secret_keys), base_url=settings.base_url)


def _link(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    bb = _client(settings)
    if args.recipients or not (args.short or args.qr):
        return cli.print_link(bb, args, print)
    if args.expires_in:
        raise ValueError("short links do not expire; leave out --expires-in")
    kind = args.qr.suffix.lower().lstrip(".") if args.qr else ""
    if args.qr and kind not in ("svg", "png"):
        raise ValueError("--qr writes .svg or .png files")
    link = CheckoutLink(
        sku=args.sku,
        quantity=args.quantity,
        email=args.email,
        name=args.name,
        source=args.source,
        campaign=args.campaign,
        content=args.content,
    )
    with open_sessions(settings.database_url) as sessions:
        url = absolute(bb.base_url, short_path(mint_short_link(sessions, link)))
    if args.qr:
        args.qr.write_bytes(short_links.qr_code(url, kind))
    print(url)
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


LINK = with_server_run(cli.LINK, _link)
SNIPPET = with_server_run(cli.SNIPPET, _snippet)
