"""The feeds' formats: Google Merchant Center's RSS 2.0 with the ``g:`` namespace, and the
CSV files Meta, TikTok and Pinterest read (a header of their column names, one product a
line). Text is made safe for each: XML 1.0 cannot carry control characters, so they are
dropped; CSV cells are quoted by the csv module.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from xml.sax.saxutils import escape

from buybutton_server.domain.feeds import Channel, FeedItem

# Characters XML 1.0 does not allow (C0 controls but tab, newline and return; surrogates;
# U+FFFE and U+FFFF).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_G = "http://base.google.com/ns/1.0"

# (feed attribute, FeedItem field); a blank optional field is left out of an XML item.
_GOOGLE = (
    ("g:id", "id"),
    ("g:title", "title"),
    ("g:description", "description"),
    ("g:link", "link"),
    ("g:image_link", "image_link"),
    ("g:availability", "availability"),
    ("g:price", "price"),
    ("g:brand", "brand"),
    ("g:gtin", "gtin"),
    ("g:mpn", "mpn"),
    ("g:condition", "condition"),
    ("g:google_product_category", "google_category"),
    ("g:item_group_id", "item_group_id"),
)
_CSV_FIELDS = (
    ("title", "title"),
    ("description", "description"),
    ("availability", "availability"),
    ("condition", "condition"),
    ("price", "price"),
    ("link", "link"),
    ("image_link", "image_link"),
    ("brand", "brand"),
    ("gtin", "gtin"),
    ("mpn", "mpn"),
    ("item_group_id", "item_group_id"),
    ("google_product_category", "google_category"),
)
# TikTok names its identifier sku_id; Meta and Pinterest say id.
CSV_COLUMNS = {
    "meta": (("id", "id"), *_CSV_FIELDS),
    "tiktok": (("sku_id", "id"), *_CSV_FIELDS),
    "pinterest": (("id", "id"), *_CSV_FIELDS),
}


def _xml(text: str) -> str:
    return escape(_NOT_XML.sub("", text))


def rss_head(title: str, link: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<rss version="2.0" xmlns:g="{_G}">\n<channel>\n'
        f"<title>{_xml(title)}</title>\n<link>{_xml(link)}</link>\n"
        f"<description>{_xml(title)} products</description>\n"
    )


def rss_items(items: Iterable[FeedItem]) -> str:
    parts: list[str] = []
    for item in items:
        parts.append("<item>")
        for tag, field in _GOOGLE:
            value = getattr(item, field)
            if value:
                parts.append(f"<{tag}>{_xml(value)}</{tag}>")
        parts.append("</item>\n")
    return "".join(parts)


RSS_TAIL = "</channel>\n</rss>\n"


def csv_head(chosen: Channel) -> str:
    return _csv_lines([[name for name, _ in CSV_COLUMNS[chosen.name]]])


def csv_items(chosen: Channel, items: Iterable[FeedItem]) -> str:
    columns = CSV_COLUMNS[chosen.name]
    return _csv_lines([getattr(item, field) for _, field in columns] for item in items)


def _csv_lines(rows: Iterable[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def render(
    chosen: Channel, batches: Iterable[list[FeedItem]], *, shop: str, home: str
) -> Iterator[bytes]:
    """The feed's bytes, one chunk per batch: nothing holds the whole catalog."""
    if chosen.kind == "xml":
        yield rss_head(shop, home).encode()
        for batch in batches:
            yield rss_items(batch).encode()
        yield RSS_TAIL.encode()
        return
    yield csv_head(chosen).encode()
    for batch in batches:
        yield csv_items(chosen, batch).encode()
