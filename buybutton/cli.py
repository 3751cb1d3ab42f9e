"""The ``buybutton`` command.

::

    buybutton demo                      seed a demo shop and serve it with a demo blog
    buybutton serve                     run the server (migrates the database first)
    buybutton db upgrade                bring the database schema up to date
    buybutton link SKU [options]        print a signed checkout link (--short: a /l/ short link)
    buybutton snippet SKU [options]     print paste-ready HTML for a surface (--surface)
    buybutton admin create EMAIL        create a merchant login for the snippet builder
    buybutton keys create --scope S     create an API key (read or write); list; revoke
    buybutton worker                    deliver order webhooks (serve does this too)
    buybutton catalog import FILE       create or update products from CSV or JSON
    buybutton orders list|refund|sweep  look at orders, refund them, release expired holds

Settings come from ``BUYBUTTON_*`` environment variables (see docs/configuration.md).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from buybutton.client import BuyButton
from buybutton.errors import ConfigurationError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="buybutton", description="Buy buttons and one-step checkout links."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")

    demo = commands.add_parser("demo", help="seed a demo shop and serve it with a demo blog")
    demo.add_argument("--port", type=int, default=8000, help="shop port (default 8000)")
    demo.add_argument("--blog-port", type=int, default=8001, help="blog port (default 8001)")
    demo.add_argument("--database", default="buybutton-demo.sqlite3", help="SQLite file")

    db = commands.add_parser("db", help="database schema")
    db.add_argument("action", choices=["upgrade"])

    for name, help_text in (
        ("link", "print a signed checkout link, or mint a short link"),
        ("snippet", "print paste-ready embed code for a surface"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("sku")
        sub.add_argument("--source", help="where the link is published, e.g. instagram")
        sub.add_argument("--campaign")
        sub.add_argument("--content", help="the post, video or email it appears in")
        if name == "link":
            sub.add_argument("--quantity", type=int, default=1)
            sub.add_argument("--email", help="pre-fill (only in links sent to that person)")
            sub.add_argument("--name", help="pre-fill (only in links sent to that person)")
            sub.add_argument("--expires-in", type=int, metavar="SECONDS")
            sub.add_argument(
                "--short", action="store_true", help="mint /l/CODE; pre-fill stays on the server"
            )
            sub.add_argument(
                "--qr", type=Path, metavar="FILE", help="also write a QR code (.svg/.png)"
            )
            sub.add_argument(
                "--recipients",
                type=Path,
                metavar="CSV",
                help="CSV with an email (and optional name) column: print email,link per "
                "recipient, for a newsletter tool's merge field",
            )
        else:
            sub.add_argument(
                "--surface",
                default="button",
                choices=["button", "card", "email", "video", "social", "qr"],
            )
            sub.add_argument("--label", default="Buy now")
            sub.add_argument("--color", help="button color, e.g. #0a7d4f")
            sub.add_argument("--video-src", default="", help="video file URL (--surface video)")
            sub.add_argument("--at", type=float, default=0, help="moment start, seconds")
            sub.add_argument("--until", type=float, default=15, help="moment end, seconds")

    keys = commands.add_parser("keys", help="API keys")
    key_commands = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    make_key = key_commands.add_parser("create", help="create a key (shown once)")
    make_key.add_argument("--scope", choices=["read", "write"], required=True)
    make_key.add_argument("--name", default="", help="what the key is for")
    key_commands.add_parser("list", help="keys by prefix, scope and state")
    drop_key = key_commands.add_parser("revoke", help="revoke a key by its prefix")
    drop_key.add_argument("prefix")

    stats = commands.add_parser("stats", help="the funnel: which post, video or email sold what")
    stats.add_argument("--since", help="a date, e.g. 2026-11-01 (default: 30 days ago)")
    stats.add_argument("--until", help="a date (default: now)")
    stats.add_argument("--csv", action="store_true", help="print CSV")

    worker = commands.add_parser("worker", help="deliver order webhooks from the outbox")
    worker.add_argument("--once", action="store_true", help="send what is due, then stop")

    admin = commands.add_parser("admin", help="merchant logins")
    admin_commands = admin.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = admin_commands.add_parser("create", help="create a login (asks for a password)")
    create.add_argument("email")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )

    orders = commands.add_parser("orders", help="orders")
    order_commands = orders.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = order_commands.add_parser("list", help="recent orders")
    listing.add_argument("--status", choices=["pending", "paid", "failed", "canceled", "refunded"])
    listing.add_argument("--attention", action="store_true", help="only orders to look at")
    listing.add_argument("--limit", type=int, default=50)
    refund = order_commands.add_parser("refund", help="refund all or part of a paid order")
    refund.add_argument("order", help="order number (BB-...) or id")
    refund.add_argument("--amount", help="in major units, e.g. 12.50 (default: what is left)")
    refund.add_argument(
        "--no-restock",
        action="store_true",
        help="a full refund normally puts the stock back; keep it out",
    )
    order_commands.add_parser("sweep", help="release expired reservations, retry due refunds")

    catalog = commands.add_parser("catalog", help="products")
    catalog_commands = catalog.add_subparsers(dest="action", required=True, metavar="ACTION")
    load = catalog_commands.add_parser("import", help="create or update products by sku")
    load.add_argument("file", type=Path)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from sqlalchemy.exc import OperationalError

    try:
        return _run(args)
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "no answer"
        print(f"buybutton: cannot reach the database: {reason}", file=sys.stderr)
        return 1
    except ConfigurationError as exc:
        print(f"buybutton: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"buybutton: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace) -> int:
    # The server is imported only by the commands that need it.
    from buybutton_server.settings import Settings

    if args.command == "demo":
        from buybutton_server.runner import serve_demo

        env = dict(os.environ)
        env.setdefault("BUYBUTTON_DATABASE_URL", f"sqlite:///{args.database}")
        env.setdefault("BUYBUTTON_BASE_URL", f"http://127.0.0.1:{args.port}")
        settings = Settings.from_env(env, port=args.port)
        serve_demo(settings, blog_port=args.blog_port, say=print)
        return 0

    overrides = {
        k: v
        for k, v in (("host", getattr(args, "host", None)), ("port", getattr(args, "port", None)))
        if v is not None
    }
    settings = Settings.from_env(**overrides) if args.command == "serve" else Settings.from_env()

    if args.command == "serve":
        from buybutton_server.runner import serve

        if args.workers < 1:
            raise ConfigurationError("--workers must be at least 1")
        serve(settings, workers=args.workers)
        return 0
    if args.command == "db":
        from buybutton_server.db import migrate

        migrate(settings.database_url)
        print("database schema is up to date")
        return 0
    if args.command == "orders":
        from buybutton_server.commands.orders import run_orders_command

        return int(run_orders_command(settings, args, out=print))
    if args.command == "catalog":
        from buybutton_server.domain.catalog import CatalogImportError
        from buybutton_server.runner import import_catalog

        try:
            print(import_catalog(settings, args.file))
        except CatalogImportError as exc:
            print(f"buybutton: {args.file}: nothing imported:", file=sys.stderr)
            for problem in exc.problems:
                print(f"  {problem}", file=sys.stderr)
            return 1
        except OSError as exc:
            print(f"buybutton: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
            return 1
        return 0

    if args.command == "keys":
        from buybutton_server.domain.api_keys import run_keys_command

        return int(run_keys_command(settings, args, out=print))
    if args.command == "stats":
        from buybutton_server.runner import print_stats

        return int(
            print_stats(settings, since=args.since, until=args.until, csv=args.csv, say=print)
        )
    if args.command == "worker":
        from buybutton_server.runner import run_worker

        return int(run_worker(settings, once=args.once, say=print))
    if args.command == "admin":
        from buybutton_server.domain.admin_auth import create_admin_command

        return int(create_admin_command(settings, args.email, from_stdin=args.password_stdin))
    from buybutton_server.commands import embeds as embed_commands

    bb = BuyButton(secret_keys=list(settings.secret_keys), base_url=settings.base_url)
    if args.command == "link":
        return int(embed_commands.link_command(settings, bb, args, out=print))
    return int(embed_commands.snippet_command(settings, bb, args, out=print))


if __name__ == "__main__":
    raise SystemExit(main())
