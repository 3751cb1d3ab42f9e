"""Addresses by country (issue 13): fields, labels and validation from Google's address
data; the country picker's default; the form partial; the address-format JSON."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from buybutton_server import Settings, create_app
from buybutton_server.domain import addresses
from buybutton_server.domain.addresses import default_country, layout, validate
from buybutton_server.domain.checkout_model import Address, Severity
from buybutton_server.services import addresses as address_service
from buybutton_server.templating import make_templates

DEST = "$.fulfillment.methods[0].destinations[0]"
CALIFORNIA = {
    "country": "US",
    "region": "CA",
    "city": "San Francisco",
    "postal_code": "94103",
    "line1": "1 Market St",
}


def only_error(fields: dict[str, str]) -> tuple[str, str, str]:
    address, messages = validate(fields)
    assert address is None
    assert len(messages) == 1, messages
    (message,) = messages
    assert message.severity is Severity.ERROR
    return message.code, message.content, message.path or ""


# -- validation -----------------------------------------------------------------------------


def test_a_californian_address_passes_and_keeps_what_was_typed() -> None:
    address, messages = validate({**CALIFORNIA, "line2": "  Suite   5 ", "name": "Ada Lovelace"})
    assert messages == ()
    assert address == Address(
        country="US",
        region="CA",
        city="San Francisco",
        postal_code="94103",
        line1="1 Market St",
        line2="Suite 5",
        name="Ada Lovelace",
    )


def test_a_zip_code_of_letters_is_refused_with_an_example() -> None:
    code, content, path = only_error({**CALIFORNIA, "postal_code": "ABCDE"})
    assert code == "invalid_postal_code"
    assert content == "Enter a ZIP code like 95014."
    assert path == f"{DEST}.postal_code"


def test_a_zip_code_of_another_state_is_refused() -> None:
    code, content, _ = only_error({**CALIFORNIA, "postal_code": "10001"})
    assert code == "invalid_postal_code"
    assert "10001" in content and "California" in content


def test_missing_fields_each_get_a_message_at_their_ucp_path() -> None:
    address, messages = validate({"country": "US"})
    assert address is None
    by_path = {m.path: (m.code, m.content) for m in messages}
    assert by_path == {
        f"{DEST}.street_address": ("field_required", "Enter the street address."),
        f"{DEST}.address_locality": ("field_required", "Enter the city."),
        f"{DEST}.address_region": ("field_required", "Choose a state."),
        f"{DEST}.postal_code": ("field_required", "Enter a ZIP code like 95014."),
    }
    assert addresses.field_errors(messages)["region"] == "Choose a state."


@pytest.mark.parametrize(
    ("typed", "code"), [("California", "CA"), ("california", "CA"), ("ca", "CA"), ("US-CA", "CA")]
)
def test_a_region_name_becomes_its_code(typed: str, code: str) -> None:
    address, messages = validate({**CALIFORNIA, "region": typed})
    assert messages == () and address is not None
    assert address.region == code


def test_an_unknown_region_is_refused() -> None:
    code, content, path = only_error({**CALIFORNIA, "region": "Narnia"})
    assert (code, content) == ("invalid_region", "Choose a state from the list.")
    assert path == f"{DEST}.address_region"


@pytest.mark.parametrize("postcode", ["1011", "101155", "1O115", "D-10115"])
def test_a_german_postcode_has_five_digits(postcode: str) -> None:
    fields = {"country": "DE", "city": "Berlin", "line1": "Unter den Linden 1"}
    code, content, _ = only_error({**fields, "postal_code": postcode})
    assert code == "invalid_postal_code"
    assert content == "Enter a postal code like 26133."
    address, messages = validate({**fields, "postal_code": " 10115 "})
    assert messages == () and address is not None and address.postal_code == "10115"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("sw1a1aa", "SW1A 1AA"),
        ("sw1a 1aa", "SW1A 1AA"),
        ("ec1y8sy", "EC1Y 8SY"),
        ("m25bq", "M2 5BQ"),
    ],
)
def test_a_british_postcode_is_upper_case_with_its_space(typed: str, stored: str) -> None:
    fields = {"country": "gb", "city": "London", "line1": "10 Downing Street"}
    address, messages = validate({**fields, "postal_code": typed})
    assert messages == () and address is not None
    assert (address.country, address.postal_code) == ("GB", stored)
    assert layout("GB").field("postal_code").label == "Postcode"  # type: ignore[union-attr]
    assert only_error({**fields, "postal_code": "XYZ"})[1] == "Enter a postcode like EC1Y 8SY."


def test_a_japanese_address_starts_with_the_postal_code() -> None:
    jp = layout("JP")
    assert [f.name for f in jp.fields][:3] == ["postal_code", "region", "line1"]
    region = jp.field("region")
    assert region is not None and region.label == "Prefecture" and len(region.choices) == 47
    fields = {"country": "JP", "region": "Tokyo", "line1": "1-1 Chiyoda"}
    address, messages = validate({**fields, "postal_code": "1000001"})
    assert messages == () and address is not None
    assert (address.postal_code, address.region) == ("100-0001", "13")
    # The prefecture by its Japanese name is the same prefecture.
    assert validate({**fields, "region": "東京都", "postal_code": "100-0001"})[0] == address
    assert only_error({**fields, "postal_code": "12345"})[0] == "invalid_postal_code"


@pytest.mark.parametrize("country", ["HK", "AE"])
def test_a_country_without_postal_codes_needs_none(country: str) -> None:
    form = layout(country)
    assert form.field("postal_code") is None and form.postal_code_pattern == ""
    region = form.field("region")
    assert region is not None and region.required and region.choices
    address, messages = validate(
        {"country": country, "region": region.choices[0].name, "line1": "1 Harbour Road"}
    )
    assert messages == () and address is not None
    assert address.postal_code == "" and address.region == region.choices[0].code


def test_the_swiss_prefix_is_dropped_and_fields_a_country_does_not_use_are_too() -> None:
    fields = {"country": "CH", "city": "Zürich", "line1": "Bahnhofstrasse 1", "region": "ZH"}
    address, messages = validate({**fields, "postal_code": "CH-8001"})
    assert messages == () and address is not None
    assert (address.postal_code, address.region) == ("8001", "")


@pytest.mark.parametrize("country", ["Narnia", "XX", "ZZ", "U"])
def test_unknown_countries_are_refused(country: str) -> None:
    code, content, path = only_error({**CALIFORNIA, "country": country})
    assert code == "invalid_country"
    assert content == f"We don't know the country “{country}”."
    assert path == f"{DEST}.address_country"
    assert not addresses.is_country(country)


def test_a_country_is_known_by_code_or_english_name() -> None:
    assert addresses.is_country("de") and addresses.is_country("DE")
    assert addresses.country_code("Germany") == "DE"
    assert addresses.country_code("united kingdom") == "GB"
    assert validate({**CALIFORNIA, "country": "United States"})[0] is not None
    assert only_error({**CALIFORNIA, "country": ""})[:2] == ("field_required", "Choose a country.")


@pytest.mark.parametrize(
    ("field", "value"), [("line1", "1 Market\x00 St"), ("city", "x" * 101), ("name", "A\x1b")]
)
def test_control_characters_and_overlong_values_are_refused(field: str, value: str) -> None:
    code, _, _ = only_error({**CALIFORNIA, field: value})
    assert code == "invalid_field"


def test_a_name_is_required_only_when_asked() -> None:
    assert validate(CALIFORNIA)[0] is not None
    address, messages = addresses.validate(CALIFORNIA, require_name=True, path="$.buyer")
    assert address is None and [m.path for m in messages] == ["$.buyer.first_name"]


def test_ucp_addresses_go_both_ways() -> None:
    address, _ = validate({**CALIFORNIA, "line2": "Suite 5", "name": "Ada King Lovelace"})
    assert address is not None
    ucp = addresses.to_ucp(address)
    assert ucp == {
        "street_address": "1 Market St",
        "extended_address": "Suite 5",
        "address_locality": "San Francisco",
        "address_region": "CA",
        "postal_code": "94103",
        "address_country": "US",
        "first_name": "Ada",
        "last_name": "King Lovelace",
    }
    assert "name" not in ucp  # a destination with a name would also match retail_location
    again, messages = validate(addresses.from_ucp({**ucp, "id": "dest_1", "phone_number": 5}))
    assert messages == () and again == address
    assert addresses.from_ucp({"address_country": ["US"]})["country"] == ""


# -- the picker's default country ----------------------------------------------------------


@pytest.mark.parametrize(
    ("prefill", "header", "allowed", "expected"),
    [
        ("DE", "en-GB", [], "DE"),
        ("de", None, ["FR", "DE"], "DE"),
        ("Narnia", "fr-FR", [], "FR"),
        ("US", "de-DE", ["DE", "AT"], "DE"),  # the prefill is outside the allowed countries
        (None, "de-DE,de;q=0.9,en;q=0.8", [], "DE"),
        (None, "en-GB", [], "GB"),
        (None, "de, en-GB;q=0.7, fr-FR;q=0.9", [], "FR"),  # by weight, not by position
        (None, "zh-Hant-TW", [], "TW"),
        (None, "es-419, pt-BR", [], "BR"),  # a UN M.49 area is no country
        (None, "en-US, en-GB", ["GB", "IE"], "GB"),
        (None, "de-DE;q=abc,,;", ["AT", "DE"], "AT"),  # malformed: ignored
        (None, "*", ["AT"], "AT"),
        (None, "", ["NL", "BE"], "NL"),
        (None, "en-XX", ["CH"], "CH"),  # no such country
        (None, "de-DE;q=0", ["CH", "DE"], "CH"),  # q=0: not acceptable
        (None, "x" * 5000 + ",de-DE", ["CH"], "CH"),
        (None, None, [], "US"),
        (None, None, ["jp"], "JP"),
    ],
)
def test_the_default_country(
    prefill: str | None, header: str | None, allowed: list[str], expected: str
) -> None:
    assert default_country(prefill, header, allowed) == expected


# -- the list of countries -----------------------------------------------------------------


def test_every_country_has_an_english_name_and_a_form() -> None:
    listed = addresses.countries()
    codes = [c.code for c in listed]
    assert len(listed) > 240 and len(set(codes)) == len(codes)
    assert all(re.fullmatch(r"[A-Z]{2}", code) for code in codes)
    assert "ZZ" not in codes
    names = {c.code: c.name for c in listed}
    assert names["US"] == "United States" and names["DE"] == "Germany"
    assert names["AX"] == "Åland Islands" and names["CI"] == "Côte d'Ivoire"
    assert names["BA"] == "Bosnia and Herzegovina" and names["GW"] == "Guinea-Bissau"
    assert names["CC"] == "Cocos (Keeling) Islands"
    assert all(name == name.strip() and not name.isupper() for name in names.values())
    # Sorted by name, accents aside: Åland Islands comes between Afghanistan and Albania.
    assert codes[:3] == ["AF", "AX", "AL"]
    for code in codes:
        form = layout(code)
        assert form.country == code and form.field("line1") is not None
        if form.postal_code_pattern:
            assert re.fullmatch(form.postal_code_pattern, form.postal_code_example)


def test_the_country_list_is_quick_after_first_use() -> None:
    addresses.countries()
    started = time.perf_counter()
    for _ in range(100):
        listed = addresses.countries()
        assert addresses.is_country("DE")
        layout("US")
    assert (time.perf_counter() - started) / 100 < 0.05
    assert listed is addresses.countries()


def test_unknown_layouts_raise() -> None:
    with pytest.raises(ValueError, match="unknown country"):
        layout("Germany")


# -- the form partial ----------------------------------------------------------------------

RENDER = (
    '{% from "_address_fields.html" import address_fields %}'
    "{{ address_fields(layout, values, errors, countries, **options) }}"
)


def render(country: str, values: dict[str, str], errors: dict[str, str], **options: object) -> str:
    env = make_templates().env
    return env.from_string(RENDER).render(
        layout=layout(country),
        values=values,
        errors=errors,
        countries=addresses.countries(),
        options=options,
    )


def test_the_partial_labels_every_field_with_its_autocomplete_token() -> None:
    html = render("US", {"region": "CA"}, {})
    form = layout("US")
    for field in form.fields:
        label = field.label + ("" if field.required else " (optional)")
        assert f"<span>{label}</span>" in html
    assert "<span>ZIP code</span>" in html and "<span>State</span>" in html
    for token in ("address-line1", "address-line2", "address-level2", "address-level1"):
        assert f'autocomplete="shipping {token}"' in html
    assert 'autocomplete="shipping postal-code"' in html
    assert 'autocomplete="shipping name"' in html
    assert 'autocomplete="shipping country"' in html
    assert '<option value="US" selected>United States</option>' in html
    assert '<option value="CA" selected>California</option>' in html
    assert "For example 95014" in html
    ids = re.findall(r' id="([^"]+)"', html)
    assert len(ids) == len(set(ids))


def test_the_partial_escapes_values_and_marks_errors() -> None:
    nasty = '"><script>alert(1)</script>'
    html = render(
        "GB",
        {"line1": nasty, "city": "London"},
        {"postal_code": "Enter a postcode like EC1Y 8SY.", "line1": "Too <b>long</b>"},
        omit=("name",),
    )
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
    assert "Too &lt;b&gt;long&lt;/b&gt;" in html
    assert 'name="postal_code" id="postal_code"' in html
    assert 'aria-invalid="true" aria-describedby="err-postal_code"' in html
    assert (
        '<small class="error" id="err-postal_code">Enter a postcode like EC1Y 8SY.</small>' in html
    )
    assert 'aria-describedby="err-line1"' in html
    assert 'name="city"' in html and 'aria-describedby="err-city"' not in html
    assert 'name="name"' not in html  # omitted
    assert 'name="region"' not in html  # GB addresses have no region


def test_the_partial_follows_the_country_and_takes_a_prefix() -> None:
    html = render("JP", {}, {}, section="billing", prefix="bill_")
    assert html.index('name="bill_postal_code"') < html.index('name="bill_region"')
    assert 'autocomplete="billing address-level1"' in html
    assert '<option value="13">Tokyo</option>' in html
    assert 'name="bill_address_refresh"' in html and "formnovalidate" in html


def test_the_form_context_starts_on_the_browsers_country() -> None:
    context = address_service.form_context({}, accept_language="de-DE,de;q=0.9")
    assert context["layout"] == layout("DE") and context["errors"] == {}
    _, messages = validate({**CALIFORNIA, "postal_code": "ABCDE"})
    typed = {**CALIFORNIA, "region": "california", "postal_code": "ABCDE"}
    again = address_service.form_context(typed, messages, allowed=["US", "CA"])
    assert again["layout"] == layout("US")
    assert again["values"]["region"] == "CA"  # type: ignore[index]
    assert [c.code for c in again["countries"]] == ["CA", "US"]  # type: ignore[attr-defined]
    assert again["errors"] == {"postal_code": "Enter a ZIP code like 95014."}


# -- the JSON endpoint ---------------------------------------------------------------------

PATH = "/api/public/address-format/{country}"


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    assert any(getattr(route, "path", None) == PATH for route in app.routes), "mounted"
    with TestClient(app) as client:
        yield client


def test_the_address_format_endpoint(api: TestClient) -> None:
    answer = api.get("/api/public/address-format/US")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "public, max-age=86400"
    data = answer.json()
    assert data["country"] == "US" and data["name"] == "United States"
    assert data["postal_code_example"] == "95014"
    fields = {f["name"]: f for f in data["fields"]}
    assert fields["postal_code"]["label"] == "ZIP code" and fields["postal_code"]["required"]
    assert {"code": "CA", "name": "California"} in fields["region"]["choices"]
    assert fields["line1"]["autocomplete"] == "address-line1"
    assert api.get("/api/public/address-format/gb").json()["country"] == "GB"


@pytest.mark.parametrize("country", ["XX", "Narnia", "ZZ", "%3Cb%3E"])
def test_the_address_format_of_an_unknown_country_is_404(api: TestClient, country: str) -> None:
    answer = api.get(f"/api/public/address-format/{country}")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "unknown_country"
    assert "max-age=86400" not in answer.headers.get("cache-control", "")
