"""``buybutton serve`` and ``buybutton demo``: running the shop (``buybutton db`` is in
:mod:`.db`)."""

from __future__ import annotations

import argparse
import os

from buybutton.errors import ConfigurationError
from buybutton_server.commands.base import server_command
from buybutton_server.commands.db import DB as db_command
from buybutton_server.runner import serve, serve_demo
from buybutton_server.settings import Settings


def _define_serve(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument(
        "--unsafe-public-dev",
        action="store_true",
        help="let development mode listen on a non-loopback address (anyone reaching it can "
        "'pay' with the test provider); never on a network you do not control",
    )


def _serve(args: argparse.Namespace) -> int:
    overrides = {"host": args.host, "port": args.port}
    settings = Settings.from_env(**{k: v for k, v in overrides.items() if v is not None})
    if args.workers < 1:
        raise ConfigurationError("--workers must be at least 1")
    serve(settings, workers=args.workers, unsafe_public_dev=args.unsafe_public_dev)
    return 0


def _define_demo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8000, help="shop port (default 8000)")
    parser.add_argument("--blog-port", type=int, default=8001, help="blog port (default 8001)")
    parser.add_argument("--database", default="buybutton-demo.sqlite3", help="SQLite file")


def _demo(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    # An absolute path: the printed ``export`` line works from any folder.
    env.setdefault("BUYBUTTON_DATABASE_URL", f"sqlite:///{os.path.abspath(args.database)}")
    env.setdefault("BUYBUTTON_BASE_URL", f"http://127.0.0.1:{args.port}")
    settings = Settings.from_env(env, port=args.port)
    serve_demo(settings, blog_port=args.blog_port, say=print)
    return 0


# serve and demo migrate themselves, after checking their ports.
SERVE = server_command("run the server", _define_serve, _serve, database=False)
DEMO = server_command(
    "seed a demo shop and serve it with a demo blog", _define_demo, _demo, database=False
)

# ``buybutton db`` lives in commands/db.py; older installs' entry points (an egg-info left in a
# checkout) still name it here.
DB = db_command
