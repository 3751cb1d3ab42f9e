"""The checkout-link token: round trip, tampering, expiry, rotation, purpose separation."""

from __future__ import annotations

import hashlib
import re
import string

import pytest
from itsdangerous import BadSignature, URLSafeSerializer

from buybutton import BuyButton, CheckoutLink, ExpiredLink, InvalidLink
from buybutton.tokens import CHECKOUT_LINK_SALT, LinkSigner

KEY = "k" * 40


def test_round_trip_carries_every_field() -> None:
    link = CheckoutLink(
        sku="MUG-01",
        quantity=2,
        email="ana@example.com",
        name="Ana Lima",
        source="instagram",
        campaign="spring",
        content="reel-42",
    )
    signer = LinkSigner([KEY])
    assert signer.verify(signer.sign(link)) == link


def test_link_has_no_price_field() -> None:
    with pytest.raises(TypeError):
        CheckoutLink(sku="MUG-01", price_amount=1)  # type: ignore[call-arg]


def test_every_single_character_change_is_rejected() -> None:
    signer = LinkSigner([KEY])
    token = signer.sign(CheckoutLink(sku="MUG-01", source="blog"))
    alphabet = string.ascii_letters + string.digits + "-_."
    for i, char in enumerate(token):
        replacement = alphabet[(alphabet.index(char) + 1) % len(alphabet)]
        tampered = token[:i] + replacement + token[i + 1 :]
        with pytest.raises(InvalidLink):
            signer.verify(tampered)


def test_truncated_and_extended_tokens_are_rejected() -> None:
    signer = LinkSigner([KEY])
    token = signer.sign(CheckoutLink(sku="MUG-01"))
    for bad in (token[:-1], token[: len(token) // 2], token + "A", "", "." * 10, "x" * 3000):
        with pytest.raises(InvalidLink):
            signer.verify(bad)


def test_a_forged_quantity_is_rejected() -> None:
    """Re-encoding the payload with another quantity but the old signature must fail."""
    signer = LinkSigner([KEY])
    token = signer.sign(CheckoutLink(sku="MUG-01", quantity=1))
    forged_payload = LinkSigner(["attacker-key"]).sign(CheckoutLink(sku="MUG-01", quantity=99))
    forged = forged_payload.split(".")[0] + "." + token.split(".")[1]
    with pytest.raises(InvalidLink):
        signer.verify(forged)


def test_expired_link_is_reported_with_its_verified_payload() -> None:
    signer = LinkSigner([KEY])
    link = CheckoutLink(sku="MUG-01", source="email", expires_at=1_000)
    token = signer.sign(link)
    assert signer.verify(token, now=999) == link
    with pytest.raises(ExpiredLink) as caught:
        signer.verify(token, now=1_000)
    assert caught.value.link.sku == "MUG-01"


def test_sdk_expiry_is_relative_to_now() -> None:
    bb = BuyButton(secret_keys=[KEY], base_url="https://shop.example")
    url = bb.checkout_link("MUG-01", expires_in=60)
    link = LinkSigner([KEY]).verify(url.rsplit("/", 1)[1])
    assert link.expires_at is not None
    with pytest.raises(ExpiredLink):
        LinkSigner([KEY]).verify(url.rsplit("/", 1)[1], now=link.expires_at + 1)


def test_key_rotation_newest_signs_all_verify() -> None:
    old, new = "old-key-" + "o" * 32, "new-key-" + "n" * 32
    minted_before = LinkSigner([old]).sign(CheckoutLink(sku="MUG-01"))
    rotated = LinkSigner([old, new])
    assert rotated.verify(minted_before).sku == "MUG-01"
    minted_after = rotated.sign(CheckoutLink(sku="MUG-01"))
    assert LinkSigner([new]).verify(minted_after).sku == "MUG-01"
    with pytest.raises(InvalidLink):
        LinkSigner([old]).verify(minted_after)
    with pytest.raises(InvalidLink):  # once the old key is retired, its links stop working
        LinkSigner([new]).verify(minted_before)


def test_a_token_signed_for_another_purpose_is_not_a_checkout_link() -> None:
    other = URLSafeSerializer(
        KEY, salt="buybutton.csrf", signer_kwargs={"digest_method": hashlib.sha256}
    )
    with pytest.raises(InvalidLink):
        LinkSigner([KEY]).verify(other.dumps({"s": "MUG-01"}))


def test_signature_is_sha256() -> None:
    token = LinkSigner([KEY]).sign(CheckoutLink(sku="MUG-01"))
    sha256 = URLSafeSerializer(
        KEY, salt=CHECKOUT_LINK_SALT, signer_kwargs={"digest_method": hashlib.sha256}
    )
    sha1 = URLSafeSerializer(KEY, salt=CHECKOUT_LINK_SALT)
    assert sha256.loads(token) == {"s": "MUG-01", "q": 1}
    with pytest.raises(BadSignature):
        sha1.loads(token)


def test_well_signed_nonsense_is_rejected() -> None:
    serializer = URLSafeSerializer(
        [KEY], salt=CHECKOUT_LINK_SALT, signer_kwargs={"digest_method": hashlib.sha256}
    )
    for payload in (
        [1, 2],
        {"s": "MUG-01", "q": 0},
        {"s": "MUG-01", "zz": 1},
        {"s": "<script>"},
        {"s": "MUG-01", "q": "2"},
        "MUG-01",
    ):
        with pytest.raises(InvalidLink):
            LinkSigner([KEY]).verify(serializer.dumps(payload))


@pytest.mark.parametrize(
    "fields",
    [
        {"sku": ""},
        {"sku": "a b"},
        {"sku": "M", "quantity": 0},
        {"sku": "M", "quantity": 100},
        {"sku": "M", "email": "not-an-email"},
        {"sku": "M", "source": "has space"},
    ],
)
def test_invalid_links_cannot_be_signed(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        CheckoutLink(**fields)  # type: ignore[arg-type]


def test_verified_links_are_remembered_but_expiry_still_applies() -> None:
    signer = LinkSigner([KEY], cache_size=2)
    token = signer.sign(CheckoutLink(sku="MUG-01", expires_at=1_000))
    assert signer.verify(token, now=10).sku == "MUG-01"
    with pytest.raises(ExpiredLink):
        signer.verify(token, now=1_000)  # served from the cache, still expired
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(InvalidLink):
        signer.verify(tampered)
    others = [signer.sign(CheckoutLink(sku=f"S-{n}")) for n in range(3)]
    for other in others:
        signer.verify(other)
    assert len(signer._verified) == 2  # bounded


def test_a_quantity_range_round_trips_and_old_tokens_stay_binding() -> None:
    signer = LinkSigner([KEY])
    ranged = CheckoutLink(sku="MUG-01", quantity=2, min_quantity=2, max_quantity=6)
    assert signer.verify(signer.sign(ranged)) == ranged
    assert ranged.adjustable and ranged.quantity_range == (2, 6)
    assert ranged.allows(6) and not ranged.allows(1) and not ranged.allows(7)
    assert CheckoutLink(sku="A", max_quantity=10).quantity_range == (1, 10)
    # A token minted before ranges existed (no qn/qx on the wire) still verifies: binding.
    old = URLSafeSerializer(
        [KEY], salt=CHECKOUT_LINK_SALT, signer_kwargs={"digest_method": hashlib.sha256}
    ).dumps({"s": "MUG-01", "q": 3})
    link = signer.verify(old if isinstance(old, str) else old.decode())
    assert not link.adjustable and link.quantity_range == (3, 3) and not link.allows(4)
    assert ranged.without_personal_data().quantity_range == (2, 6)


@pytest.mark.parametrize(
    "fields",
    [
        {"quantity": 5, "max_quantity": 4},
        {"quantity": 1, "min_quantity": 2},
        {"max_quantity": 100},
        {"min_quantity": 0},
        {"max_quantity": True},
    ],
)
def test_impossible_ranges_cannot_be_signed(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        CheckoutLink(sku="MUG-01", **fields)  # type: ignore[arg-type]


def test_snippets_let_the_shopper_pick_and_plain_links_do_not() -> None:
    bb = BuyButton(secret_keys=[KEY], base_url="https://shop.example")
    signer = LinkSigner([KEY])

    def link_of(html: str) -> CheckoutLink:
        [token] = re.findall(r"https://shop\.example/c/([A-Za-z0-9._-]+)", html)
        return signer.verify(token)

    assert link_of(bb.checkout_link("MUG-01")).quantity_range == (1, 1)
    assert link_of(bb.embed_snippet("MUG-01")).quantity_range == (1, 10)
    assert link_of(bb.card_snippet("MUG-01")).quantity_range == (1, 10)
    fixed = bb.embed_snippet("MUG-01", quantity=2, adjustable=False)
    assert link_of(fixed).quantity_range == (2, 2)
