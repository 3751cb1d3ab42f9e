"""Shoppers' languages (issue 16 item 1): complete catalogs, locale negotiation, the checkout,
order page and widget JSON in the shopper's language, right-to-left Arabic, the switcher, and
no mixing of languages between concurrent requests."""

from __future__ import annotations

import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from importlib.resources import files
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton.errors import InvalidLink
from buybutton.tokens import CheckoutLink, LinkSigner
from buybutton_server.db import write_session
from buybutton_server.db.models import ShopProfile
from buybutton_server.domain import locales
from buybutton_server.domain.locales import LANGUAGES, Lang, negotiate
from tests.conftest import GOOD_CARD, SHOPPER, add_product, attempt_key, path_of

ROOT = Path(__file__).resolve().parent.parent
NBSP = "\xa0"
GERMAN = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _catalog(language: str):  # type: ignore[no-untyped-def]
    source = files("buybutton_server").joinpath(locales.catalog_path(language))
    with source.open("rb") as po:
        return read_po(po, locale=language)


# -- the catalogs ------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_in_every_shipped_language(language: str) -> None:
    catalog = _catalog(language)
    english = {m.id for m in _catalog("en") if m.id}
    ids = {m.id for m in catalog if m.id}
    assert ids == english, f"{language}: catalog differs from English: {ids ^ english}"
    for message in catalog:
        if not message.id:
            continue
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert forms and all(forms), f"{language}: no translation for {message.id!r}"
        assert len(forms) == (catalog.num_plurals if message.pluralizable else 1)
        assert not message.fuzzy, f"{language}: {message.id!r} is fuzzy"
        singular = message.id[0] if message.pluralizable else message.id
        wanted = set(_PLACEHOLDER.findall(singular))
        for form in forms:
            assert set(_PLACEHOLDER.findall(form)) == wanted, (language, message.id, form)


def test_every_marked_string_in_the_templates_and_code_is_in_the_catalogs() -> None:
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    extracted = {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map
        )
    }
    known = {m.id if isinstance(m.id, str) else m.id[0] for m in _catalog("en") if m.id}
    assert extracted - known == set(), "run pybabel extract and translate (docs/languages.md)"


def test_catalogs_compile_and_translate() -> None:
    assert locales.gettext("Pay", Lang("de")) == "Bezahlen"
    assert locales.gettext("Pay", Lang("ar")) == "ادفع"
    assert locales.ngettext("Only %(count)s left", "Only %(count)s left", 3, Lang("fr"))


# -- negotiation -------------------------------------------------------------------------------


def test_negotiation_order_link_cookie_browser_default() -> None:
    assert negotiate(link="fr", cookie="it", accept_language="de", default="nl").language == "fr"
    assert negotiate(cookie="it", accept_language="de", default="nl").language == "it"
    assert negotiate(accept_language="de-AT", default="nl") == Lang("de", "AT")
    assert negotiate(default="nl").language == "nl"
    assert negotiate() == Lang("en")


@pytest.mark.parametrize(
    "header",
    ["", "garbage;;;q=x,,,", "*", "xx-YY", "de;q=abc", "de;q=0", "\x00\x01", "a" * 5000, ";;;"],
)
def test_malformed_accept_language_falls_back_to_the_default(header: str) -> None:
    assert negotiate(accept_language=header, default="es").language == "es"


def test_quality_values_and_regions() -> None:
    assert negotiate(accept_language="pt-BR, fr;q=0.4, de;q=0.8") == Lang("de")
    assert negotiate(accept_language="en-GB").currency == "GBP"
    assert negotiate(accept_language="de").currency == "EUR"
    assert negotiate(link="zz-ZZ", default="it").language == "it"  # unknown link locale


def test_links_carry_a_locale_and_refuse_a_malformed_one() -> None:
    signer = LinkSigner(["k"])
    link = CheckoutLink(sku="MUG-01", locale="de-AT", currency="EUR")
    assert signer.verify(signer.sign(link)) == link
    with pytest.raises(ValueError, match="locale"):
        CheckoutLink(sku="MUG-01", locale="<script>")
    with pytest.raises(ValueError, match="currency"):
        CheckoutLink(sku="MUG-01", currency="EURO")
    with pytest.raises(InvalidLink):
        CheckoutLink.from_wire({"s": "MUG-01", "lc": "de de"})


# -- pages -------------------------------------------------------------------------------------


def _euro_mug(sessions: sessionmaker[Session]) -> None:
    add_product(sessions, price="1234.50", currency="EUR", requires_shipping="no")


def test_german_browser_gets_a_german_checkout_with_german_money(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    _euro_mug(sessions)
    page = client.get(path_of(bb.checkout_link("MUG-01")), headers=GERMAN)
    assert page.status_code == 200
    assert '<html lang="de-DE" dir="ltr">' in page.text
    assert "Bezahlen" in page.text and "Zwischensumme" in page.text
    assert f"1.234,50{NBSP}€" in page.text
    assert page.headers["content-language"] == "de-DE"
    assert "Accept-Language" in page.headers["vary"] and "Cookie" in page.headers["vary"]
    english = client.get(path_of(bb.checkout_link("MUG-01")))
    assert "€1,234.50" in english.text and "Bezahlen" not in english.text  # cache per locale


def test_arabic_checkout_is_right_to_left(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    _euro_mug(sessions)
    page = client.get(path_of(bb.checkout_link("MUG-01", locale="ar")), headers=GERMAN)
    assert '<html lang="ar" dir="rtl">' in page.text  # the link's locale beats the browser
    assert "ادفع" in page.text


def test_unknown_link_locale_and_garbage_header_get_the_shop_default(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    _euro_mug(sessions)
    with write_session(sessions) as session:
        session.add(ShopProfile(id=1, name="Loja", default_locale="es"))
    page = client.get(
        path_of(bb.checkout_link("MUG-01", locale="pt-BR")),
        headers={"Accept-Language": ";;garbage==,,"},
    )
    assert page.status_code == 200
    assert '<html lang="es"' in page.text and "Pagar" in page.text


def test_switcher_sets_a_cookie_that_later_pages_follow(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    _euro_mug(sessions)
    path = path_of(bb.checkout_link("MUG-01"))
    page = client.get(path)
    assert 'id="language-switch"' in page.text and 'name="lang"' in page.text
    switched = client.get(path + "?lang=it", headers=GERMAN)
    assert '<html lang="it"' in switched.text and "Paga" in switched.text
    cookie = switched.headers["set-cookie"]
    assert cookie.startswith(f"{locales.COOKIE}=it;") and "HttpOnly" in cookie
    again = client.get(path, headers=GERMAN)  # the cookie beats Accept-Language
    assert '<html lang="it"' in again.text
    assert client.get(path + "?lang=<b>", headers=GERMAN).status_code == 200


def test_quote_and_receipt_follow_the_language(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    _euro_mug(sessions)
    path = path_of(bb.checkout_link("MUG-01", locale="de"))
    page = client.get(path)
    quote = client.post(path + "/quote", data={"quantity": "1"})
    assert quote.json()["totals"]["total"]["formatted"] == f"1.234,50{NBSP}€"
    assert quote.headers["content-language"] == "de"
    paid = client.post(
        path,
        data={"attempt": attempt_key(page.text), "quantity": "1", **SHOPPER, **GOOD_CARD},
        headers=GERMAN,
        follow_redirects=False,
    )
    assert paid.status_code == 303, paid.text
    receipt = client.get(paid.headers["location"], headers=GERMAN)
    assert "ist bezahlt" in receipt.text and f"1.234,50{NBSP}€" in receipt.text
    assert receipt.headers["content-language"] == "de-DE"


def test_widget_json_speaks_the_browsers_language(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _euro_mug(sessions)
    data = client.get("/api/public/products/MUG-01", headers=GERMAN)
    assert data.json()["price"]["formatted"] == f"1.234,50{NBSP}€"
    assert data.json()["text"]["sold_out"] == "Ausverkauft"
    assert "Accept-Language" in data.headers["vary"]
    plain = client.get("/api/public/products/MUG-01").json()
    assert plain["price"]["formatted"] == "€1,234.50"


def test_concurrent_requests_never_mix_languages(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    _euro_mug(sessions)
    path = path_of(bb.checkout_link("MUG-01"))
    words = {"de": "Bezahlen", "fr": "Payer", "it": "Paga", "nl": "Betalen", "ar": "ادفع"}

    def fetch(language: str) -> tuple[str, str]:
        page = client.get(path, headers={"Accept-Language": language})
        return language, page.text

    with ThreadPoolExecutor(max_workers=8) as pool:
        for language, html in pool.map(fetch, list(words) * 8):
            assert f'<html lang="{language}"' in html
            others = [
                w for lang, w in words.items() if lang != language and w not in words[language]
            ]
            assert words[language] in html and not any(f">{w}<" in html for w in others)


def test_a_message_not_in_the_catalogs_is_escaped_not_trusted() -> None:
    """Error pages pass messages through ``_()``; one that is not ours (it may carry what a
    shopper typed) must come out escaped, never as markup."""
    from jinja2 import Environment

    env = Environment(autoescape=True)
    page = env.from_string("{{ _(message) }}|{{ _('Pay') }}")
    words = locales.jinja_gettext(Lang("de"))
    html = page.render(message="Unknown “<img src=x onerror=alert(1)>”", **words)
    assert "<img" not in html and "&lt;img" in html and html.endswith("|Bezahlen")


def test_the_build_compiles_the_catalogs_and_a_stale_one_is_never_used(tmp_path: Path) -> None:
    """The build backend compiles every catalog (the wheel ships ``.mo`` files); the server
    uses a ``.mo`` only while it matches its ``.po``, so an edited catalog is never shadowed."""
    import sys

    sys.path.insert(0, str(ROOT / "build_hooks"))
    try:
        from buybutton_build import compile_catalogs
    finally:
        sys.path.remove(str(ROOT / "build_hooks"))
    tree = tmp_path / "locale"
    shutil.copytree(ROOT / "server" / "locale", tree, ignore=shutil.ignore_patterns("*.mo*"))
    built = compile_catalogs(tree)
    assert sorted(p.parent.parent.name for p in built) == sorted(locales.LANGUAGES)
    german = tree / "de" / "LC_MESSAGES" / "messages.po"
    assert locales.load_catalog(german.parent, "de").gettext("Pay") == locales.translations(
        "de"
    ).gettext("Pay")
    # The .mo is what is read while current: a changed .mo shows through...
    (tree / "de" / "LC_MESSAGES" / "messages.mo").write_bytes(
        (tree / "fr" / "LC_MESSAGES" / "messages.mo").read_bytes()
    )
    assert locales.load_catalog(german.parent, "de").gettext("Pay") == locales.translations(
        "fr"
    ).gettext("Pay")
    # ...and an edited .po makes it stale: compiled from the .po again, the edit shows.
    german.write_text(
        german.read_text().replace('msgid "Pay"\nmsgstr "Bezahlen"', 'msgid "Pay"\nmsgstr "Zahlen"')
    )
    assert locales.load_catalog(german.parent, "de").gettext("Pay") == "Zahlen"
