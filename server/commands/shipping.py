"""``buybutton shipping list``: the shop's shipping zones, what each covers and its rates."""

from __future__ import annotations

import argparse

from buybutton_server.commands.base import server_command
from buybutton_server.db import open_sessions
from buybutton_server.services import shipping
from buybutton_server.settings import Settings


def _define(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="zones with their countries, regions, prefixes and rates")


def _run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    with open_sessions(settings.database_url) as sessions:
        zones = shipping.list_zones(sessions)
    if not zones:
        print("No shipping zones: set them up on /admin/shipping (nothing can be shipped yet).")
        return 0
    for zone in zones:
        covers = ", ".join(area.describe() for area in zone.areas)
        print(f"{zone.name} (zone {zone.id}): {covers}")
        for rate in zone.rates:
            state = "" if rate.active else "  [not offered]"
            estimate = f" ({rate.delivery_estimate})" if rate.delivery_estimate else ""
            print(f"  rate-{rate.id}  {rate.name}: {rate.price}{estimate}{state}")
        if not zone.rates:
            print("  no rates: nothing ships here")
    return 0


SHIPPING = server_command("shipping zones and rates", _define, _run)
