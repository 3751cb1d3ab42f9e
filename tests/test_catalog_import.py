"""``buybutton catalog import``: CSV and JSON, upsert by sku, all or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from buybutton.cli import main
from tests.conftest import orders, product

CSV = """sku,title,price,currency,stock,description
MUG-01,Stoneware Mug,24.00,USD,10,"Holds 350 ml,
dishwasher safe"
TEA-02,Sencha 100 g,1200,JPY,4,
"""


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.setenv("BUYBUTTON_DATABASE_URL", database_url)


def run(*args: str) -> int:
    return main(list(args))


def test_csv_import_creates_then_is_idempotent(
    env: None, tmp_path: Path, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text(CSV)
    assert run("catalog", "import", str(path)) == 0
    assert "2 created, 0 updated, 0 unchanged" in capsys.readouterr().out
    assert run("catalog", "import", str(path)) == 0
    assert "0 created, 0 updated, 2 unchanged" in capsys.readouterr().out
    mug, tea = product(sessions, "MUG-01"), product(sessions, "TEA-02")
    assert (mug.price_amount, mug.currency, mug.on_hand) == (2400, "USD", 10)
    assert mug.description == "Holds 350 ml,\ndishwasher safe"
    assert (tea.price_amount, tea.currency) == (1200, "JPY")  # yen has no minor unit


def test_json_import_updates_by_sku(
    env: None, tmp_path: Path, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(
        json.dumps(
            [{"sku": "MUG-01", "title": "Mug", "price_amount": 2400, "currency": "usd", "stock": 3}]
        )
    )
    assert run("catalog", "import", str(path)) == 0
    path.write_text(
        json.dumps(
            {
                "products": [
                    {
                        "sku": "MUG-01",
                        "title": "Mug v2",
                        "price": "25.50",
                        "currency": "USD",
                        "stock": 7,
                    }
                ]
            }
        )
    )
    assert run("catalog", "import", str(path)) == 0
    assert "0 created, 1 updated" in capsys.readouterr().out
    mug = product(sessions)
    assert (mug.title, mug.price_amount, mug.on_hand) == ("Mug v2", 2550, 7)


def test_a_bad_row_is_reported_by_line_and_nothing_is_imported(
    env: None, tmp_path: Path, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text(
        "sku,title,price,currency,stock\n"
        "GOOD-1,Fine,10.00,USD,1\n"
        "BAD-2,Too precise,10.001,USD,1\n"
        "BAD-3,Odd money,10,XYZ,1\n"
        "BAD-4,Negative stock,10,USD,-1\n"
        "GOOD-1,Twice,10,USD,1\n"
    )
    assert run("catalog", "import", str(path)) == 1
    err = capsys.readouterr().err
    assert "nothing imported" in err
    assert "line 3: '10.001' has more decimals than USD allows (2)" in err
    assert "line 4: currency 'XYZ' is not an ISO 4217 code" in err
    assert "line 5: stock must not be negative" in err
    assert "line 6: sku 'GOOD-1' already appears at line 2" in err
    from sqlalchemy import func, select

    from buybutton_server.db.models import Product

    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Product)) == 0


def test_json_errors_name_the_item(
    env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(
        json.dumps(
            [
                {"sku": "A-1", "title": "A", "price": 1.5, "currency": "USD"},
                {"sku": "B 2", "title": "B", "price": "1", "currency": "USD"},
            ]
        )
    )
    assert run("catalog", "import", str(path)) == 1
    err = capsys.readouterr().err
    assert "item 1: price must be a string" in err
    assert "item 2: sku 'B 2' may use only" in err
    path.write_text("[{")
    assert run("catalog", "import", str(path)) == 1
    assert "not valid JSON" in capsys.readouterr().err


def test_stock_cannot_drop_below_what_checkouts_hold(
    env: None, tmp_path: Path, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    from buybutton_server.db import write_session
    from buybutton_server.domain import inventory

    path = tmp_path / "catalog.csv"
    path.write_text("sku,title,price,currency,stock\nMUG-01,Mug,5,USD,5\n")
    assert run("catalog", "import", str(path)) == 0
    with write_session(sessions) as session:
        assert inventory.reserve(session, product(sessions).id, 3)
    path.write_text("sku,title,price,currency,stock\nMUG-01,Mug,5,USD,2\n")
    assert run("catalog", "import", str(path)) == 1
    assert "below the 3 units held by checkouts" in capsys.readouterr().err
    assert product(sessions).on_hand == 5
    assert orders(sessions) == []


def test_unknown_file_kind_and_missing_file(
    env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "c.xlsx").write_text("x")
    assert run("catalog", "import", str(tmp_path / "c.xlsx")) == 1
    assert "use a .csv or .json file" in capsys.readouterr().err
    assert run("catalog", "import", str(tmp_path / "missing.csv")) == 1
    assert "cannot read" in capsys.readouterr().err


def test_out_of_range_numbers_and_nul_characters_are_refused_clearly(
    env: None, tmp_path: Path, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 11 item 18: prices past the bound (9e18 x 2 overflowed), numbers that are not
    plain digits, 5,000-digit stock echoed back whole, and NUL characters, which PostgreSQL
    cannot store (a 500 there), are each refused with a line that says what is wrong."""
    path = tmp_path / "catalog.json"
    rows = [
        {"sku": "HUGE-1", "title": "Huge", "price_amount": 9 * 10**18, "currency": "USD"},
        {"sku": "HUGE-2", "title": "Huge", "price": "9000000000000000.00", "currency": "USD"},
        {"sku": "DIGITS-3", "title": "D", "price": "1.00", "currency": "USD", "stock": "9" * 5000},
        {"sku": "SUPER-4", "title": "S", "price": "1.00", "currency": "USD", "stock": "²"},
        {"sku": "NUL-5", "title": "Mug\x00", "price": "1.00", "currency": "USD"},
        {"sku": "NUL-6", "title": "M", "price": "1.00", "currency": "USD", "description": "\x00"},
        {"sku": "NUL-7", "title": "M", "price": "1.00", "currency": "USD", "variant_label": "\x00"},
    ]
    path.write_text(json.dumps(rows))
    assert run("catalog", "import", str(path)) == 1
    err = capsys.readouterr().err
    assert "item 1: price_amount must be a whole number from 0 to 1000000000000" in err
    assert "item 2: price_amount must be a whole number from 0 to 1000000000000" in err
    assert "item 3: stock must be a whole number, got '9999" in err and "9" * 100 not in err
    assert "item 4: stock must be a whole number, got '²'" in err
    assert "item 5: title must not contain NUL characters" in err
    assert "item 6: description must not contain NUL characters" in err
    assert "item 7: variant_label must not contain NUL characters" in err
    csv_path = tmp_path / "catalog.csv"
    csv_path.write_text("sku,title,price,currency\nNUL-1,Mug\x00,1.00,USD\n")
    assert run("catalog", "import", str(csv_path)) == 1
    assert "line 2: title must not contain NUL characters" in capsys.readouterr().err
    from sqlalchemy import func, select

    from buybutton_server.db.models import Product

    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Product)) == 0
