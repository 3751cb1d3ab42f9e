"""``buybutton feeds url|check|rotate``: product feeds for shopping channels from a terminal."""

from __future__ import annotations

import argparse

from buybutton_server.commands.base import note, server_command
from buybutton_server.db import open_sessions
from buybutton_server.services import feeds, local_feed
from buybutton_server.settings import Settings


def _define(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    url = actions.add_parser("url", help="print a feed's full URL, with its key")
    url.add_argument("channel", choices=(*feeds.CHANNEL_NAMES, local_feed.CHANNEL))
    url.add_argument("--currency", help="prices in this currency (products with a list price)")
    check = actions.add_parser("check", help="list the products each feed leaves out, and why")
    check.add_argument("channel", nargs="?", choices=feeds.CHANNEL_NAMES)
    rotate = actions.add_parser("rotate", help="give a feed a new key (the old URL stops)")
    rotate.add_argument("channel", choices=(*feeds.CHANNEL_NAMES, local_feed.CHANNEL))


def _run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    with open_sessions(settings.database_url) as sessions:
        if args.channel == local_feed.CHANNEL:  # the local inventory feed: url and rotate
            url, rotate = local_feed.feed_url, local_feed.rotate_key
            print((url if args.action == "url" else rotate)(sessions, settings.secret_keys,
                                                            settings.base_url))  # fmt: skip
            return 0
        if args.action == "url":
            print(
                feeds.feed_url(
                    sessions,
                    settings.secret_keys,
                    settings.base_url,
                    args.channel,
                    currency=args.currency,
                )
            )
            return 0
        if args.action == "rotate":
            print(feeds.rotate_key(sessions, settings.secret_keys, settings.base_url, args.channel))
            note(f"the {args.channel} feed has a new key: give the channel this URL")
            return 0
        names = (args.channel,) if args.channel else feeds.CHANNEL_NAMES
        left_out = feeds.check(sessions, settings.base_url, names)
    for each in left_out:
        print(each.describe())
    if left_out:
        note(f"{len(left_out)} item(s) left out of the feeds: fill in what they lack")
        return 1
    note("every active product is in every feed checked")
    return 0


FEEDS = server_command("product feeds for shopping channels", _define, _run)
