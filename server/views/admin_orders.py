"""The admin's orders pages (issue 12). Routes are listed in ``ROUTES``; app.py mounts them."""

from __future__ import annotations

from starlette.routing import BaseRoute

ROUTES: list[BaseRoute] = []
