"""``/api/v1/privacy``: a shopper's access and erasure requests (docs/privacy.md)."""

from __future__ import annotations

from buybutton_server.services import privacy
from buybutton_server.services.privacy import EraseInput, ErasureResult, ExportQuery, PrivacyExport
from buybutton_server.views.api.routing import ApiContext, Router

router = Router()


@router.get(
    "/privacy/export",
    "Every piece of personal data held about an email, as JSON (an access request)",
)
def privacy_export(api: ApiContext, query: ExportQuery) -> PrivacyExport:
    return privacy.export(api.sessions, query.email)


@router.post(
    "/privacy/erase",
    "Erase everything held about an email: orders keep amounts, lines and dates; names, "
    "addresses and the email become placeholders everywhere (an unknown email: nothing held)",
)
def privacy_erase(api: ApiContext, body: EraseInput) -> ErasureResult:
    return privacy.erase(api.sessions, api.settings, body.email, via="api")
