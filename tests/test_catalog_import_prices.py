"""Price lists in the catalog import (issue 16 item 3): ``price_EUR``, ``price_GBP``, ...
columns, checked by the API's rules, refused by line, all or nothing; the columns given
replace a product's list, columns absent leave it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton.cli import main
from buybutton.money import CURRENCIES
from buybutton_server.db.models import Product, ProductPrice
from buybutton_server.domain.price_lists import LIST_MAX, list_prices
from tests.conftest import add_product, product

HEADER = "sku,title,price,currency,stock"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.setenv("BUYBUTTON_DATABASE_URL", database_url)


def run(path: Path, text: str, *args: str) -> int:
    path.write_text(text)
    return main(["catalog", "import", str(path), *args])


def listed(sessions: sessionmaker[Session], sku: str = "MUG-01") -> dict[str, int]:
    return list_prices(sessions, product(sessions, sku).id)


def counts(sessions: sessionmaker[Session]) -> tuple[int, int]:
    with sessions() as session:
        products = session.scalar(select(func.count()).select_from(Product))
        prices = session.scalar(select(func.count()).select_from(ProductPrice))
        return products or 0, prices or 0


def test_price_columns_set_the_list_read_back_by_the_public_endpoint(
    env: None,
    tmp_path: Path,
    sessions: sessionmaker[Session],
    client: TestClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "catalog.csv"
    text = (
        f"{HEADER},price_EUR, Price GBP ,price_jpy\n"
        "MUG-01,Stoneware Mug,27.00,USD,5,24.00,21.50,3900\n"
        "TEA-02,Sencha,12.00,USD,5,,,\n"  # empty: no price in that currency
    )
    assert run(path, text) == 0
    assert "2 created, 0 updated, 0 unchanged" in capsys.readouterr().out
    assert listed(sessions) == {"EUR": 2400, "GBP": 2150, "JPY": 3900}  # JPY: no minor unit
    assert listed(sessions, "TEA-02") == {}
    url = "/api/public/products/MUG-01"
    eur = client.get(url + "?currency=EUR").json()["price"]
    assert (eur["currency"], eur["amount"]) == ("EUR", 2400)
    assert client.get(url + "?currency=GBP").json()["price"]["amount"] == 2150
    assert client.get(url).json()["price"]["currency"] == "USD"
    # The same file again changes nothing.
    assert run(path, text) == 0
    assert "0 created, 0 updated, 2 unchanged" in capsys.readouterr().out


def test_a_bad_price_column_name_is_refused_on_line_1(
    env: None, tmp_path: Path, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "catalog.csv"
    assert run(path, f"{HEADER},price_XYZ,price_euro\nMUG-01,Mug,1,USD,1,2,3\n") == 1
    err = capsys.readouterr().err
    assert "line 1: column price_XYZ: currency 'XYZ' is not an ISO 4217 code" in err
    assert "line 1: column price_EURO: currency 'EURO' is not an ISO 4217 code" in err
    assert counts(sessions) == (0, 0)
    assert run(path, f"{HEADER},price_EUR,price_eur\nMUG-01,Mug,1,USD,1,2,3\n") == 1
    assert "line 1: column 'price_eur' appears twice" in capsys.readouterr().err


def test_bad_amounts_are_refused_by_line_and_nothing_is_written(
    env: None, tmp_path: Path, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    add_product(sessions, sku="OLD-1", price_EUR="9.00")  # a good row already stored
    path = tmp_path / "catalog.csv"
    text = (
        f"{HEADER},price_EUR,price_GBP\n"
        "OLD-1,Changed,24.00,USD,5,10.00,8.00\n"  # good, but the file is refused
        "BAD-2,Words,24.00,USD,5,abc,\n"
        "BAD-3,Negative,24.00,USD,5,,-5.00\n"
        "BAD-4,Too precise,24.00,USD,5,1.234,\n"
        "BAD-5,Zero,24.00,USD,5,0,\n"
        "BAD-6,Own currency twice,24.00,EUR,5,22.00,\n"
        "BAD-7,Too large,24.00,USD,5,99999999999999,\n"
    )
    assert run(path, text) == 1
    err = capsys.readouterr().err
    assert "nothing imported" in err
    assert "line 3: price_EUR: 'abc' is not a number" in err
    assert "line 4: price_GBP: '-5.00' is not a price" in err
    assert "line 5: price_EUR: '1.234' has more decimals than EUR allows (2)" in err
    assert "line 6: price_EUR: a list price must be more than 0" in err
    assert "line 7: EUR is this product's own currency" in err
    assert "line 8: price_EUR:" in err
    assert "line 2" not in err
    assert counts(sessions) == (1, 1)
    assert listed(sessions, "OLD-1") == {"EUR": 900}
    assert product(sessions, "OLD-1").title == "Stoneware Mug"


def test_at_most_list_max_currencies_a_row(
    env: None, tmp_path: Path, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    codes = sorted(c for c in CURRENCIES if c != "USD")[: LIST_MAX + 1]
    path = tmp_path / "catalog.csv"
    header = HEADER + "".join(f",price_{code}" for code in codes)
    assert run(path, f"{header}\nMUG-01,Mug,1,USD,1{',500' * len(codes)}\n") == 1
    assert f"line 2: a price list holds at most {LIST_MAX} currencies" in capsys.readouterr().err
    assert counts(sessions) == (0, 0)
    row = f"MUG-01,Mug,1,USD,1{',500' * LIST_MAX},\n"  # the last cell empty: LIST_MAX given
    assert run(path, f"{header}\n{row}") == 0
    assert len(listed(sessions)) == LIST_MAX


def test_columns_given_replace_the_list_columns_absent_leave_it(
    env: None, tmp_path: Path, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "catalog.csv"
    assert run(path, f"{HEADER},price_EUR,price_GBP\nMUG-01,Mug,27,USD,5,24,21\n") == 0
    # No price columns: the list stays as it is.
    assert run(path, f"{HEADER}\nMUG-01,Mug v2,27,USD,5\n") == 0
    assert listed(sessions) == {"EUR": 2400, "GBP": 2100}
    capsys.readouterr()
    # Only price_EUR given: the list becomes exactly EUR (GBP leaves); a list-only change
    # counts as an update.
    assert run(path, f"{HEADER},price_EUR\nMUG-01,Mug v2,27,USD,5,25\n") == 0
    assert "0 created, 1 updated, 0 unchanged" in capsys.readouterr().out
    assert listed(sessions) == {"EUR": 2500}
    # The column given but empty: the list is cleared.
    assert run(path, f"{HEADER},price_EUR\nMUG-01,Mug v2,27,USD,5,\n") == 0
    assert listed(sessions) == {}


def test_dry_run_shows_the_lists_and_writes_nothing(
    env: None, tmp_path: Path, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "catalog.csv"
    text = f"{HEADER},price_EUR,price_GBP\nMUG-01,Mug,27.00,USD,5,24.00,21.00\n"
    assert run(path, text, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "create MUG-01: 'Mug', 27.00 USD, stock 5; prices EUR 24.00, GBP 21.00" in out
    assert counts(sessions) == (0, 0)
    assert run(path, text) == 0
    capsys.readouterr()
    text = f"{HEADER},price_EUR,price_GBP\nMUG-01,Mug,27.00,USD,5,25.00,\n"
    assert run(path, text, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "would create 0, update 1, leave 0 unchanged" in out
    assert "update MUG-01: prices EUR 24.00, GBP 21.00 -> EUR 25.00" in out
    assert listed(sessions) == {"EUR": 2400, "GBP": 2100}
    text = f"{HEADER},price_EUR\nMUG-01,Mug 2,27.00,USD,5,\n"
    assert run(path, text, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "update MUG-01: title 'Mug' -> 'Mug 2'; prices EUR 24.00, GBP 21.00 -> none" in out


def test_a_currency_change_into_the_kept_list_is_refused(
    env: None, tmp_path: Path, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "catalog.csv"
    assert run(path, f"{HEADER},price_EUR\nMUG-01,Mug,27,USD,5,24\n") == 0
    assert run(path, f"{HEADER}\nMUG-01,Mug,24,EUR,5\n") == 1
    err = capsys.readouterr().err
    assert "sku 'MUG-01': EUR is in this product's price list" in err
    assert (product(sessions).currency, listed(sessions)) == ("USD", {"EUR": 2400})
    # Swapping: EUR becomes the own currency, USD the list's.
    assert run(path, f"{HEADER},price_EUR,price_USD\nMUG-01,Mug,24,EUR,5,,27\n") == 0
    assert (product(sessions).currency, listed(sessions)) == ("EUR", {"USD": 2700})


def test_json_items_take_the_same_keys(
    env: None, tmp_path: Path, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "catalog.json"
    mug = {"sku": "MUG-01", "title": "Mug", "price": "27.00", "currency": "USD"}
    assert (
        run(path, json.dumps([{**mug, "price_EUR": 24.5}, {**mug, "sku": "B", "price_X": "1"}]))
        == 1
    )
    err = capsys.readouterr().err
    assert 'item 1: price_EUR must be a string such as "24.90", not 24.5' in err
    assert "item 2: price_X: currency 'X' is not an ISO 4217 code" in err
    assert counts(sessions) == (0, 0)
    assert run(path, json.dumps([{**mug, "price_EUR": "24.50", "price_CHF": None}])) == 0
    assert listed(sessions) == {"EUR": 2450}


def test_upsert_products_writes_lists_too(sessions: sessionmaker[Session]) -> None:
    add_product(sessions, price_EUR="22.00", price_CHF="25.00")
    assert listed(sessions) == {"CHF": 2500, "EUR": 2200}


def test_the_documented_example_imports_as_documented(
    env: None, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    doc = (Path(__file__).parent.parent / "docs" / "quickstart-developer.md").read_text()
    example = doc.split("```csv\n", 1)[1].split("```", 1)[0]
    assert run(tmp_path / "catalog.csv", example) == 0
    assert listed(sessions) == {"EUR": 2400, "GBP": 2150, "JPY": 3900}
    assert listed(sessions, "TEA-02") == {"EUR": 1100}
