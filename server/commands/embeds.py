"""``buybutton link`` and ``buybutton snippet``: the command-line face of the embeds."""

from __future__ import annotations

import argparse
import csv
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from buybutton import BuyButton
from buybutton.tokens import CheckoutLink
from buybutton_server.db import make_engine, session_factory
from buybutton_server.domain import short_links
from buybutton_server.domain.embeds import SnippetOptions, make_snippet, mint_short_link
from buybutton_server.errors import ShopError
from buybutton_server.settings import Settings


@contextmanager
def _sessions(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings.database_url)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


def _read_recipients(path: Path) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "email" not in reader.fieldnames:
            raise ValueError(f"{path}: needs an 'email' column")
        return [(row["email"].strip(), (row.get("name") or "").strip()) for row in reader]


def link_command(
    settings: Settings, bb: BuyButton, args: argparse.Namespace, *, out: Callable[[str], None]
) -> int:
    attribution = {"source": args.source, "campaign": args.campaign, "content": args.content}
    if args.recipients:
        links = bb.email_links(
            args.sku,
            _read_recipients(args.recipients),
            source=args.source or "email",
            campaign=args.campaign,
            content=args.content,
        )
        out("email,link")
        for email, url in links.items():
            out(f"{email},{url}")
        return 0
    if not args.short and not args.qr:
        out(
            bb.checkout_link(
                args.sku,
                quantity=args.quantity,
                email=args.email,
                name=args.name,
                expires_in=args.expires_in,
                **attribution,
            )
        )
        return 0
    if args.expires_in:
        raise ValueError("short links do not expire; leave out --expires-in")
    link = CheckoutLink(
        sku=args.sku, quantity=args.quantity, email=args.email, name=args.name, **attribution
    )
    with _sessions(settings) as sessions:
        code = mint_short_link(sessions, link)
    url = f"{bb.base_url}/l/{code}"
    if args.qr:
        kind = args.qr.suffix.lower().lstrip(".")
        if kind not in ("svg", "png"):
            raise ValueError("--qr writes .svg or .png files")
        args.qr.write_bytes(short_links.qr_code(url, kind))
    out(url)
    return 0


def snippet_command(
    settings: Settings, bb: BuyButton, args: argparse.Namespace, *, out: Callable[[str], None]
) -> int:
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
    with _sessions(settings) as sessions:
        try:
            snippet = make_snippet(sessions, bb, options)
        except ShopError as error:
            raise ValueError(f"{args.sku}: {error.message}") from None
    out(snippet.code)
    if snippet.text:
        out("\n# For the video description:\n" + snippet.text)
    return 0
