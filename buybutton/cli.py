"""The ``buybutton`` command.

::

    buybutton link SKU [options]        print a signed checkout link (--short: a /l/ short link)
    buybutton snippet SKU [options]     print paste-ready HTML for a surface (--surface)
    buybutton demo                      seed a demo shop and serve it with a demo blog
    buybutton serve                     run the server (migrates the database first)
    buybutton db upgrade                bring the database schema up to date
    buybutton admin create EMAIL        create a merchant login for the snippet builder
    buybutton keys create --scope S     create an API key (read or write); list; revoke
    buybutton worker                    deliver order webhooks (serve does this too)
    buybutton catalog import FILE       create or update products from CSV or JSON
    buybutton orders list|refund|sweep  look at orders, refund them, release expired holds
    buybutton stats                     the funnel: which post, video or email sold what

Two installs, one command. ``pip install buybutton`` (the SDK alone) runs ``link`` and
``snippet`` offline: it signs with ``BUYBUTTON_SECRET_KEYS`` for ``BUYBUTTON_BASE_URL``, as the
server does. Every other command, and the options that need the shop's database (``link
--short``, ``--qr``, snippets filled in from the catalog), come with ``pip install
'buybutton[server]'``; without it they say so in one line and exit with status 2.

The SDK never imports the server. The server declares its commands as entry points in the
``buybutton.commands`` group (name: a :class:`Command`); a command the server also declares
(``link``, ``snippet``) replaces the offline one. The server's command modules import what
they need when loaded, so an entry point that cannot be loaded because the server or one of
its dependencies is missing marks that command as needing the server.

Settings come from ``BUYBUTTON_*`` environment variables (see docs/configuration.md), and
from a ``.env`` file in the current folder (``KEY=VALUE`` lines, as ``buybutton init`` writes
them); a variable set in the environment wins over the file.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import EntryPoint, distributions
from pathlib import Path
from typing import Any

from buybutton.client import DEV_SECRET_KEY, BuyButton, base_url_from_env, secret_keys_from_env
from buybutton.errors import BuyButtonError, ConfigurationError

ENTRY_POINT_GROUP = "buybutton.commands"
SERVER_INSTALL = "pip install 'buybutton[server]'"
# Packages of this repository: a module of theirs that is missing is a bug, not a missing
# install (except the server package itself).
_OWN_PACKAGES = ("buybutton", "buybutton_server")
SURFACES = ("button", "card", "email", "video", "social", "qr")
# ``buybutton link --short`` pre-fills a shipping address from these (``--postal-code``).
ADDRESS_OPTIONS = ("country", "region", "city", "postal_code", "line1", "line2")
OFFLINE_SURFACES = ("button", "card")  # the others need the product's data or a short link


@dataclass(frozen=True, slots=True)
class Command:
    """One sub-command. ``help`` is its line in ``buybutton --help``; ``define`` adds its
    arguments to its parser; ``run`` does the work and returns the exit status (0 done, 1
    refused or failed, 2 a usage or configuration problem)."""

    help: str
    define: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


class NeedsServer(ConfigurationError):
    """A command or option that only the server can run; the message says how to install it."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} needs the server: {SERVER_INSTALL}")


def server_missing(error: ImportError) -> bool:
    """Whether ``error`` means the server, or a dependency of it, is not installed (rather
    than a bug in this repository's own modules)."""
    name = error.name or ""
    return name == "buybutton_server" or name.split(".", 1)[0] not in _OWN_PACKAGES


# -- link and snippet, offline ----------------------------------------------------------------


def define_link(parser: argparse.ArgumentParser) -> None:
    _define_attribution(parser, several=True)
    parser.add_argument("--quantity", type=int, default=1)
    parser.add_argument("--email", help="pre-fill (only in links sent to that person)")
    parser.add_argument("--name", help="pre-fill (only in links sent to that person)")
    parser.add_argument("--expires-in", type=int, metavar="SECONDS")
    parser.add_argument(
        "--code", action="append", dest="codes", metavar="CODE", help="discount code (repeat)"
    )
    parser.add_argument("--creator", help="the creator payee whose post carries it, e.g. anna")
    parser.add_argument("--locale", help="the checkout's language, e.g. de or de-AT")
    parser.add_argument("--currency", help="charge the price-list price in it, e.g. CHF")
    parser.add_argument(
        "--short", action="store_true", help="mint /l/CODE; pre-fill stays on the server"
    )
    for field in ADDRESS_OPTIONS:
        parser.add_argument(
            f"--{field.replace('_', '-')}", help="shipping address pre-fill (--short only)"
        )
    parser.add_argument("--qr", type=Path, metavar="FILE", help="also write a QR code (.svg/.png)")
    parser.add_argument(
        "--offline",
        action="store_true",
        help="don't check the sku against the shop's catalog (with the server installed, "
        "link refuses an unknown or archived sku)",
    )
    parser.add_argument(
        "--recipients",
        type=Path,
        metavar="CSV",
        help="CSV with an email (and optional name) column: print email,link per "
        "recipient (CSV; a cell starting with = + - @ gets a leading ') for a newsletter "
        "tool's merge field",
    )


def define_snippet(parser: argparse.ArgumentParser) -> None:
    _define_attribution(parser)
    parser.add_argument("--surface", default="button", choices=SURFACES)
    parser.add_argument("--label", default="Buy now")
    parser.add_argument("--color", help="button color, e.g. #0a7d4f")
    parser.add_argument(
        "--video-src", default="", help="video file URL (required with --surface video)"
    )
    parser.add_argument("--at", type=float, default=0, help="moment start, seconds")
    parser.add_argument("--until", type=float, default=15, help="moment end, seconds")


def _define_attribution(parser: argparse.ArgumentParser, *, several: bool = False) -> None:
    if several:
        parser.add_argument(
            "sku",
            nargs="+",
            metavar="SKU[:QTY]",
            help="a product, or several as SKU:QTY (MUG-01:2 TEE-M:1) for one checkout",
        )
    else:
        parser.add_argument("sku")
    parser.add_argument("--source", help="where the link is published, e.g. instagram")
    parser.add_argument("--campaign")
    parser.add_argument("--content", help="the post, video or email it appears in")


def offline_client(environ: Mapping[str, str] | None = None) -> BuyButton:
    """The client a server with the same environment signs with: ``BUYBUTTON_SECRET_KEYS``
    (the development key when unset, which production refuses) and ``BUYBUTTON_BASE_URL``."""
    env = os.environ if environ is None else environ
    keys = secret_keys_from_env(env) or [DEV_SECRET_KEY]
    if env.get("BUYBUTTON_ENV", "").strip().lower() == "production" and DEV_SECRET_KEY in keys:
        raise ConfigurationError(
            "BUYBUTTON_SECRET_KEYS holds the development key; production needs its own"
        )
    return BuyButton(secret_keys=keys, base_url=base_url_from_env(env))


def read_recipients(path: Path) -> list[tuple[str, str]]:
    """``(email, name)`` per row of a CSV with an ``email`` and an optional ``name`` column."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "email" not in reader.fieldnames:
            raise ValueError(f"{path}: needs an 'email' column")
        return [(row["email"].strip(), (row.get("name") or "").strip()) for row in reader]


# A spreadsheet reads a cell starting with one of these as a formula (OWASP, CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str) -> str:
    """``value`` as a spreadsheet shows it as text: a leading ``= + - @`` (or tab, CR) gets
    an apostrophe first, so ``=HYPERLINK(...)@a.co`` stays a string."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def recipients_csv(links: Mapping[str, str]) -> str:
    """``email,link`` rows, quoted by the csv module (a comma or quote in an address cannot
    shift the columns) and neutralised against formulas."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["email", "link"])
    writer.writerows([csv_cell(email), csv_cell(url)] for email, url in links.items())
    return buffer.getvalue()


def link_address(args: argparse.Namespace) -> dict[str, str] | None:
    """The shipping address of ``--country DE --postal-code 10115 ...``, or None."""
    found = {f: v for f in ADDRESS_OPTIONS if (v := getattr(args, f, None))}
    return found or None


def link_items(args: argparse.Namespace) -> list[tuple[str, int]] | None:
    """The ``(sku, quantity)`` lines of ``buybutton link A:2 B:1``, or None for the plain
    ``buybutton link SKU`` (one SKU without ``:QTY``; ``args.sku`` becomes that string)."""
    words: list[str] = args.sku if isinstance(args.sku, list) else [args.sku]
    if len(words) == 1 and ":" not in words[0]:
        args.sku = words[0]
        return None
    if args.quantity != 1:
        raise ValueError("with SKU:QTY lines, give each quantity after its sku, not --quantity")
    if args.recipients:
        raise ValueError("--recipients takes one product, not SKU:QTY lines")
    items = []
    for word in words:
        sku, _, quantity = word.partition(":")
        if not quantity.isascii() or not quantity.isdigit():
            raise ValueError(f"{word}: write a line as SKU:QTY, e.g. MUG-01:2")
        items.append((sku, int(quantity)))
    return items


def print_link(bb: BuyButton, args: argparse.Namespace, out: Callable[[str], None]) -> int:
    """``buybutton link`` without ``--short`` or ``--qr``: a signed link, or one per recipient
    of ``--recipients``; ``SKU:QTY`` lines sign one checkout for several products."""
    items = link_items(args)
    if link_address(args) and not args.short:
        raise ValueError("an address pre-fill never goes in a URL: add --short")
    if args.short or args.qr:
        raise NeedsServer("link --short or --qr")
    attribution = {"source": args.source, "campaign": args.campaign, "content": args.content}
    codes = getattr(args, "codes", None)
    if getattr(args, "creator", None):
        attribution["creator"] = args.creator
    for option in ("locale", "currency"):  # the checkout's language and price list
        if getattr(args, option, None):
            attribution[option] = getattr(args, option)
    if items is not None:
        extra = {"email": args.email, "name": args.name, "expires_in": args.expires_in}
        out(bb.checkout_link(items=items, codes=codes, **extra, **attribution))
        return 0
    if args.recipients:
        links = bb.email_links(
            args.sku,
            read_recipients(args.recipients),
            source=args.source or "email",
            campaign=args.campaign,
            content=args.content,
        )
        out(recipients_csv(links).removesuffix("\n"))
        return 0
    out(
        bb.checkout_link(
            args.sku,
            codes=codes,
            quantity=args.quantity,
            email=args.email,
            name=args.name,
            expires_in=args.expires_in,
            **attribution,
        )
    )
    return 0


def _offline_link(args: argparse.Namespace) -> int:
    return print_link(offline_client(), args, print)


def _offline_snippet(args: argparse.Namespace) -> int:
    if args.surface not in OFFLINE_SURFACES:
        raise NeedsServer(f"snippet --surface {args.surface}")
    if not 0 < len(args.label) <= 80:
        raise ValueError("label must be 1-80 characters")
    print(
        offline_client().embed_snippet(
            args.sku,
            label=args.label,
            layout="card" if args.surface == "card" else None,
            theme={"color": args.color} if args.color else None,
            source=args.source or "blog",
            campaign=args.campaign,
            content=args.content,
        )
    )
    return 0


LINK = Command(
    help="print a signed checkout link, or mint a short link",
    define=define_link,
    run=_offline_link,
)
SNIPPET = Command(
    help="print paste-ready embed code for a surface", define=define_snippet, run=_offline_snippet
)


# -- .env ---------------------------------------------------------------------------------------

DOTENV = ".env"


def read_dotenv(text: str) -> dict[str, str]:
    """``KEY=VALUE`` lines: blank lines and ``#`` comments skipped, an ``export `` prefix and
    one pair of surrounding quotes dropped. Nothing is expanded."""
    found: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key.replace("_", "").isalnum():
            raise ConfigurationError(f"{DOTENV} line {number}: expected KEY=VALUE")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        found[key] = value
    return found


def load_dotenv(folder: Path | None = None, environ: dict[str, str] | None = None) -> None:
    """Set the variables of ``folder``'s ``.env`` (the current folder's) that the environment
    does not set already."""
    path = (folder or Path.cwd()) / DOTENV
    env: Any = os.environ if environ is None else environ
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"cannot read {path}: {error}") from None
    for key, value in read_dotenv(text).items():
        env.setdefault(key, value)


# -- the command ------------------------------------------------------------------------------


def find_commands() -> tuple[dict[str, Command], list[str]]:
    """The commands this install can run, and the names of the server's commands it cannot
    (their entry points need modules that are not installed)."""
    found = {"link": LINK, "snippet": SNIPPET}
    missing: list[str] = []
    for point in _entry_points():
        try:
            command = point.load()
        except ImportError as error:
            if not server_missing(error):
                raise
            if point.name not in found:
                missing.append(point.name)
            continue
        if not isinstance(command, Command):
            raise TypeError(f"entry point {point.value} is not a buybutton.cli.Command")
        found[point.name] = command
    return found, missing


def _entry_points() -> list[EntryPoint]:
    """The ``buybutton.commands`` entry points of every installed distribution, the first of
    each name. Unlike ``entry_points()``, this does not read only the first distribution of a
    name, so a stale ``buybutton.egg-info`` in the working directory cannot hide the
    installed package's commands."""
    points: dict[str, EntryPoint] = {}
    for distribution in distributions():
        for point in distribution.entry_points:
            if point.group == ENTRY_POINT_GROUP:
                points.setdefault(point.name, point)
    return list(points.values())


def _parser(commands: Mapping[str, Command], missing: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="buybutton",
        description="Buy buttons and one-step checkout links.",
        epilog=f"Commands marked (server) need {SERVER_INSTALL}." if missing else None,
    )
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in sorted([*commands, *missing]):
        command = commands.get(name)
        if command is None:
            subcommands.add_parser(name, help="(server)")
            continue
        sub = subcommands.add_parser(name, help=command.help)
        command.define(sub)
        sub.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in arguments if not a.startswith("-")), "")
    try:
        load_dotenv()
        commands, missing = find_commands()
        if chosen in missing:
            raise NeedsServer(chosen)
        args = _parser(commands, missing).parse_args(arguments)
        return int(args.run(args))
    except (ConfigurationError, ValueError) as error:
        print(f"buybutton: {error}", file=sys.stderr)
        return 2
    except BuyButtonError as error:  # e.g. the REST API unreachable or refusing: one line
        print(f"buybutton: {getattr(error, 'message', None) or error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # ``buybutton ... | head``: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    # ``python -m buybutton.cli``: run the imported module, whose Command the server's entry
    # points share, not this copy named __main__.
    from buybutton.cli import main as run_main

    raise SystemExit(run_main())
