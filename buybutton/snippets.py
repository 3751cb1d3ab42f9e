"""Paste-ready HTML for publishers.

Every merchant-supplied string goes through :func:`html.escape` with ``quote=True`` before it
lands in markup, whether as text or inside an attribute.
"""

from __future__ import annotations

from html import escape


def button_snippet(*, href: str, sku: str, label: str, api_base: str, script_src: str) -> str:
    """A link that works with no JavaScript, enhanced by the widget script when it loads.

    The link carries the full checkout URL; the script only adds live price and stock.
    """
    return (
        f'<a class="buybutton" href="{escape(href)}" data-buybutton-sku="{escape(sku)}" '
        f'data-buybutton-api="{escape(api_base)}">{escape(label)}</a>\n'
        f'<script async src="{escape(script_src)}"></script>'
    )
