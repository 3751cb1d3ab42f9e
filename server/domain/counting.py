"""Who counts in the funnel: people, once per link and window.

Link scanners, unfurl bots, mail-security scanners, prefetches and the snippet builder's own
preview are told apart by their request headers (:func:`not_counted`). A person is counted
once per link within :data:`COUNT_WINDOW` (:class:`RecentlySeen`), keyed by a salted hash of
their address (IPv6 by /64) and browser: the key lives in memory only, for the window, and is
never written anywhere. docs/analytics.md lists the rules.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Mapping
from urllib.parse import urlsplit

COUNT_WINDOW = 30 * 60  # seconds: one click (or impression) per client and link
PREVIEW_PATH = "/admin/preview"  # the builder's preview frame
PREVIEW_HEADER = "x-buybutton-preview"

# Bots announce themselves: "Googlebot/2.1", "Slackbot 1.0", "TelegramBot (like TwitterBot)",
# a "+https://" contact address, or a known scanner's or library's name.
_BOTS = re.compile(
    r"[a-z]bot(?:/|-|\s*\d|\s*\(|;)|\bbot\b|crawl|spider|scraper|\+https?://|"
    r"facebookexternalhit|facebot|twitterbot|slackbot|whatsapp|telegrambot|discordbot|"
    r"linkedinbot|googlebot|bingbot|adsbot|mediapartners-google|google-inspectiontool|"
    r"google-pagerenderer|feedfetcher|applebot|baiduspider|duckduckbot|petalbot|"
    r"pinterestbot|redditbot|skypeuripreview|iframely|embedly|vkshare|cardyb|"
    r"proofpoint|mimecast|barracuda|safelinks|messagelabs|symantec|trendmicro|ironport|"
    r"ms-office|msoffice|microsoft office|"
    r"curl/|wget/|python-|httpx|aiohttp|go-http-client|okhttp|java/|libwww|axios/|"
    r"node-fetch|undici|headlesschrome.*lighthouse|chrome-lighthouse",
    re.IGNORECASE,
)
# Speculative loads: Chrome's speculation rules and <link rel=prefetch> (Sec-Purpose,
# Purpose), Firefox (X-Moz), Safari's previews (X-Purpose).
_PURPOSE_HEADERS = ("sec-purpose", "purpose", "x-moz", "x-purpose")


def not_counted(headers: Mapping[str, str]) -> str | None:
    """Why a request is not a person looking (``"bot"``, ``"prefetch"`` or ``"preview"``),
    or None when it counts."""
    agent = headers.get("user-agent", "")
    if not agent.strip() or _BOTS.search(agent):
        return "bot"
    for name in _PURPOSE_HEADERS:
        purpose = headers.get(name, "").lower()
        if "prefetch" in purpose or "prerender" in purpose or "preview" in purpose:
            return "prefetch"
    if headers.get(PREVIEW_HEADER) or _from_preview(headers.get("referer", "")):
        return "preview"
    return None


def _from_preview(referer: str) -> bool:
    try:
        return urlsplit(referer).path.startswith(PREVIEW_PATH)
    except ValueError:
        return False


_SALT = secrets.token_bytes(16)  # per process: keys cannot be linked across restarts


def client_key(host: str | None, agent: str) -> bytes:
    """An opaque key for one client: its address (IPv6 grouped by /64, which one client can
    rotate through) and its browser."""
    text = host or "unknown"
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
            text = str(ipaddress.ip_network(f"{address}/64", strict=False))
        elif isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            text = str(address.ipv4_mapped)
    return hashlib.blake2b(
        f"{text}\x00{agent[:512]}".encode(errors="replace"), key=_SALT, digest_size=16
    ).digest()


class RecentlySeen:
    """Keys seen within the last ``window`` seconds, at most ``limit`` of them (the oldest go
    first). Not thread-safe: the caller holds a lock."""

    def __init__(self, window: float = COUNT_WINDOW, limit: int = 200_000) -> None:
        self.window = window
        self.limit = limit
        self._seen: OrderedDict[bytes, float] = OrderedDict()  # in order of first sight

    def first_time(self, key: bytes, now: float | None = None) -> bool:
        """True (and remembered) when ``key`` was not seen within the window."""
        now = time.monotonic() if now is None else now
        seen = self._seen
        while seen:
            at = next(iter(seen.values()))
            if now - at < self.window and len(seen) < self.limit:
                break
            seen.popitem(last=False)
        if key in seen:
            return False
        seen[key] = now
        return True

    def __len__(self) -> int:
        return len(self._seen)
