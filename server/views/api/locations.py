"""(stub: filled in by issue 15 work)"""

from __future__ import annotations

from buybutton_server.views.api.routing import Router

router = Router()
