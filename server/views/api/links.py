"""``/api/v1/links``: checkout links minted by the server."""

from __future__ import annotations

from buybutton_server.services import links
from buybutton_server.services.links import Link, LinkInput
from buybutton_server.views.api.routing import ApiContext, Router

router = Router()


@router.post("/links", "Mint a signed checkout link or a short link", status=201, errors=[404])
def create_link(api: ApiContext, body: LinkInput) -> Link:
    return links.create_link(api.sessions, api.link_signer, api.settings.base_url, body)
