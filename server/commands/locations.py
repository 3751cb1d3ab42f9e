"""``buybutton locations list|add|stock|import``: warehouses and stores from a terminal.

``add`` takes the API's fields as options (``--lat 38.7223 --lng -9.1393``); ``import``
reads a CSV whose header names at least code, name, kind, lat, lng and pickup_enabled, all
or nothing, each bad line reported by number; ``stock`` sets a product's units at one
location (never below what checkouts hold there)."""

from __future__ import annotations

import argparse
from pathlib import Path

from buybutton_server.commands.base import note, server_command
from buybutton_server.db import open_sessions
from buybutton_server.errors import InvalidInput
from buybutton_server.services import locations
from buybutton_server.services.locations import Location
from buybutton_server.settings import Settings

_OPTIONS = (
    ("--country", "ISO code, e.g. PT"),
    ("--region", "state or region"),
    ("--city", "city"),
    ("--postal-code", "postal code"),
    ("--line1", "street and number"),
    ("--time-zone", "IANA zone, e.g. Europe/Lisbon (default UTC)"),
    ("--pickup-ready-minutes", "how soon a pickup order is ready (default 120)"),
    ("--pickup-instructions", "what the shopper reads when collecting"),
    ("--ships", "true/false: sends parcels (default: warehouses do)"),
    ("--accepts-returns", "true/false"),
    ("--reservation-hold-minutes", "how long a reservation is held (default 2880)"),
    ("--priority", "routing order, low first (default 100)"),
)


def _define(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="locations in routing order")
    add = actions.add_parser("add", help="add a location")
    add.add_argument("code", help="capital letters, digits, '_' and '-' (1-32), e.g. LIS-1")
    add.add_argument("--name", required=True)
    add.add_argument("--kind", required=True, choices=("warehouse", "store"))
    add.add_argument("--lat", required=True, help="degrees, e.g. 38.7223")
    add.add_argument("--lng", required=True, help="degrees, e.g. -9.1393")
    add.add_argument("--pickup", action="store_true", help="shoppers may collect orders here")
    for option, meaning in _OPTIONS:
        add.add_argument(option, default="", help=meaning)
    stock = actions.add_parser("stock", help="set a product's units on hand at a location")
    stock.add_argument("code", help="the location's code")
    stock.add_argument("sku")
    stock.add_argument("on_hand", help="units on hand there")
    load = actions.add_parser("import", help="add the locations of a CSV file, all or nothing")
    load.add_argument("file", type=Path, help="CSV with a header line")


def _line(row: Location) -> str:
    where = ", ".join(part for part in (row.address.city, row.address.country) if part)
    does = "/".join(
        word for word, yes in (("ships", row.ships), ("pickup", row.pickup_enabled)) if yes
    )
    state = "" if row.active else "  (inactive)"
    return (
        f"{row.code:12}  {row.kind:9}  {row.priority:>8}  {does or '-':12}  {row.name}"
        + (f" ({where})" if where else "")
        + state
    )


def _added(args: argparse.Namespace) -> dict[str, str]:
    raw = {
        "code": args.code,
        "name": args.name,
        "kind": args.kind,
        "lat": args.lat,
        "lng": args.lng,
        "pickup_enabled": "true" if args.pickup else "false",
    }
    for option, _ in _OPTIONS:
        name = option.removeprefix("--").replace("-", "_")
        raw[name] = getattr(args, name)
    return raw


def _run(args: argparse.Namespace) -> int:
    with open_sessions(Settings.from_env().database_url) as sessions:
        if args.action == "list":
            rows = locations.list_locations(sessions).data
            print(f"{'code':12}  {'kind':9}  {'priority':>8}  {'does':12}  name")
            for row in rows:
                print(_line(row))
            return 0
        if args.action == "add":
            made = locations.add_location(sessions, _added(args))
            print(f"added {made.code}: {made.name}")
            return 0
        if args.action == "stock":
            level = locations.set_stock_from_text(sessions, args.code, args.sku, args.on_hand)
            on_hand, available = level.on_hand, level.available
            print(f"{args.sku} at {level.location}: {on_hand} on hand, {available} available")
            return 0
        try:
            text = args.file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as problem:
            raise InvalidInput(f"cannot read {args.file}: {problem}") from None
        made_rows = locations.import_locations(sessions, text)
        note(f"imported {len(made_rows)} location{'s' if len(made_rows) != 1 else ''}")
        return 0


LOCATIONS = server_command("locations and their stock", _define, _run)
