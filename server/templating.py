"""Jinja2 templates, loaded from the installed package, with autoescaping on."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.templating import Jinja2Templates

from buybutton import __version__
from buybutton.money import format_amount


def make_templates() -> Jinja2Templates:
    env = Environment(
        loader=PackageLoader("buybutton_server", "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = format_amount
    env.globals["asset_version"] = __version__
    return Jinja2Templates(env=env)
