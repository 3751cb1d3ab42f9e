"""Issue 15, item 1: locations through the API, the command line and a CSV import; stock
set per location; a product's stock per location."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton.cli import main
from buybutton_server.db import write_session
from buybutton_server.db.models import Location
from buybutton_server.domain.api_keys import create_key
from tests.conftest import add_product, product, set_stock

STORE = {
    "code": "LIS-1",
    "name": "Lisbon Chiado",
    "kind": "store",
    "lat": 38.7107,
    "lng": -9.1423,
    "pickup_enabled": True,
}


def make_key(sessions: sessionmaker[Session], scope: str) -> str:
    with write_session(sessions) as session:
        return create_key(session, scope, "test")[1]


@pytest.fixture
def api(client: TestClient, sessions: sessionmaker[Session]) -> TestClient:
    client.headers["Authorization"] = f"Bearer {make_key(sessions, 'write')}"
    return client


def count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Location)) or 0


def test_every_shop_has_the_default_location(api: TestClient) -> None:
    [main_location] = api.get("/api/v1/locations").json()["data"]
    assert main_location["code"] == "MAIN" and main_location["kind"] == "warehouse"
    assert (main_location["ships"], main_location["priority"]) == (True, 0)


def test_create_read_list_and_change_a_store(api: TestClient) -> None:
    body = {
        **STORE,
        "country": "pt",
        "city": "Lisboa",
        "time_zone": "Europe/Lisbon",
        "opening_hours": {"mon": [["09:00", "13:00"], ["14:00", "19:00"]], "sat": []},
        "pickup_ready_minutes": 120,
        "pickup_instructions": "Ask at the counter.",
        "accepts_returns": True,
    }
    made = api.post("/api/v1/locations", json=body)
    assert made.status_code == 201, made.text
    store = made.json()
    assert (store["lat"], store["lng"]) == (38.7107, -9.1423)
    assert store["address"]["country"] == "PT" and store["ships"] is False  # stores: opt in
    assert store["opening_hours"]["mon"] == [["09:00", "13:00"], ["14:00", "19:00"]]
    assert api.get("/api/v1/locations/LIS-1").json() == store
    codes = [row["code"] for row in api.get("/api/v1/locations").json()["data"]]
    assert codes == ["MAIN", "LIS-1"]
    changed = api.patch("/api/v1/locations/LIS-1", json={"ships": True, "priority": 5})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["ships"], changed.json()["priority"]) == (True, 5)
    assert changed.json()["name"] == "Lisbon Chiado"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"code": "lis 1"}, "code"),
        ({"lat": 91}, "lat"),
        ({"lng": -180.5}, "lng"),
        ({"kind": "kiosk"}, "kind"),
        ({"time_zone": "Mars/Olympus"}, "IANA"),
        ({"country": "XX"}, "ISO 3166"),
        ({"opening_hours": {"mon": [["18:00", "09:00"]]}}, "open before they close"),
        ({"opening_hours": {"funday": []}}, "funday"),
        ({"opening_hours": {"mon": [["9am", "5pm"]]}}, "HH:MM"),
        ({"pickup_ready_minutes": -1}, "pickup_ready_minutes"),
        ({"name": " "}, "name"),
    ],
)
def test_bad_locations_are_refused_naming_the_field(
    api: TestClient, sessions: sessionmaker[Session], change: dict[str, object], words: str
) -> None:
    answer = api.post("/api/v1/locations", json={**STORE, **change})
    assert answer.status_code == 422, answer.text
    assert words in answer.text
    assert count(sessions) == 1  # MAIN only: nothing written


def test_a_taken_code_is_a_conflict_and_unknown_codes_are_404(api: TestClient) -> None:
    assert api.post("/api/v1/locations", json=STORE).status_code == 201
    again = api.post("/api/v1/locations", json={**STORE, "name": "Other"})
    assert again.status_code == 409 and "exists already" in again.text
    assert api.get("/api/v1/locations/NOPE").status_code == 404
    assert api.patch("/api/v1/locations/NOPE", json={"name": "x"}).status_code == 404


def test_main_keeps_shipping(api: TestClient) -> None:
    refused = api.patch("/api/v1/locations/MAIN", json={"ships": False})
    assert refused.status_code == 422 and "MAIN" in refused.text
    assert api.get("/api/v1/locations/MAIN").json()["ships"] is True


def test_a_read_key_cannot_change_locations(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    client.headers["Authorization"] = f"Bearer {make_key(sessions, 'read')}"
    assert client.get("/api/v1/locations").status_code == 200
    assert client.post("/api/v1/locations", json=STORE).status_code == 403
    assert count(sessions) == 1


def test_stock_per_location_and_the_derived_total(
    api: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, stock=5)  # at MAIN
    assert api.post("/api/v1/locations", json={**STORE, "ships": True}).status_code == 201
    assert api.post("/api/v1/locations", json={**STORE, "code": "POR-1"}).status_code == 201
    put = api.put("/api/v1/locations/LIS-1/stock/MUG-01", json={"on_hand": 3})
    assert put.status_code == 200, put.text
    assert (put.json()["location"], put.json()["on_hand"], put.json()["available"]) == (
        "LIS-1",
        3,
        3,
    )
    api.put("/api/v1/locations/POR-1/stock/MUG-01", json={"on_hand": 4})
    # The total sells online: MAIN and LIS-1 ship, POR-1 (a store that does not) is apart.
    stock = api.get("/api/v1/products/MUG-01/stock").json()
    assert (stock["on_hand"], stock["available"]) == (8, 8)
    levels = {row["location"]: row["on_hand"] for row in stock["locations"]}
    assert levels == {"MAIN": 5, "LIS-1": 3, "POR-1": 4}
    assert api.get("/api/v1/products/MUG-01").json()["stock"]["on_hand"] == 8
    assert product(sessions).available == 8
    widget = api.get("/api/public/products/MUG-01")
    assert widget.status_code == 200 and widget.json()["in_stock"] is True
    # A store that stops being active stops counting.
    api.patch("/api/v1/locations/LIS-1", json={"active": False})
    assert product(sessions).on_hand == 5


def test_stock_at_a_location_never_goes_below_what_it_holds(
    api: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, stock=5)
    set_stock(sessions, reserved=3)
    refused = api.put("/api/v1/locations/MAIN/stock/MUG-01", json={"on_hand": 2})
    assert refused.status_code == 409 and "3 units held" in refused.text
    assert product(sessions).on_hand == 5
    assert api.put("/api/v1/locations/MAIN/stock/NOPE-1", json={"on_hand": 2}).status_code == 404
    assert api.put("/api/v1/locations/NOPE/stock/MUG-01", json={"on_hand": 2}).status_code == 404
    bad = api.put("/api/v1/locations/MAIN/stock/MUG-01", json={"on_hand": -1})
    assert bad.status_code == 422


def test_unlocated_stock_edits_set_the_total_at_main(
    api: TestClient, sessions: sessionmaker[Session]
) -> None:
    """``POST /products/{sku}/stock`` names no location: the total becomes what is asked,
    the difference landing at MAIN; other locations keep theirs."""
    add_product(sessions, stock=5)
    api.post("/api/v1/locations", json={**STORE, "ships": True})
    api.put("/api/v1/locations/LIS-1/stock/MUG-01", json={"on_hand": 3})
    answer = api.post("/api/v1/products/MUG-01/stock", json={"on_hand": 10})
    assert answer.json()["stock"]["on_hand"] == 10, answer.text
    levels = api.get("/api/v1/products/MUG-01/stock").json()["locations"]
    assert {row["location"]: row["on_hand"] for row in levels} == {"MAIN": 7, "LIS-1": 3}
    refused = api.post("/api/v1/products/MUG-01/stock", json={"on_hand": 2})
    assert refused.status_code == 409 and "other locations" in refused.text
    assert api.post("/api/v1/products/MUG-01/stock", json={"delta": -7}).status_code == 200
    assert product(sessions).on_hand == 3


# -- the command line -----------------------------------------------------------------------


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.setenv("BUYBUTTON_DATABASE_URL", database_url)


def test_cli_add_list_and_stock(
    env: None, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    add_product(sessions, stock=5)
    args = ["--name", "Porto", "--kind", "store", "--lat", "41.15", "--lng", "-8.61"]
    assert main(["locations", "add", "POR-1", *args, "--pickup", "--city", "Porto"]) == 0
    assert "added POR-1" in capsys.readouterr().out
    assert main(["locations", "list"]) == 0
    listed = capsys.readouterr().out
    assert "MAIN" in listed and "POR-1" in listed and "pickup" in listed
    assert main(["locations", "stock", "POR-1", "MUG-01", "4"]) == 0
    assert "MUG-01 at POR-1: 4 on hand" in capsys.readouterr().out
    assert main(["locations", "add", "BAD", *args[:4], "--lat", "99", "--lng", "0"]) != 0
    assert "lat" in capsys.readouterr().err
    assert count(sessions) == 2


def test_csv_import_is_all_or_nothing_with_line_numbers(
    env: None,
    tmp_path: Path,
    sessions: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "code,name,kind,lat,lng,pickup_enabled,city\n"
        "LIS-1,Lisbon,store,38.71,-9.14,true,Lisboa\n"
        "POR-1,Porto,shop,41.15,-8.61,true,Porto\n"
        "FAR-1,Faro,store,north,-7.93,false,Faro\n"
        "LIS-1,Lisbon again,store,38.71,-9.14,true,Lisboa\n"
    )
    assert main(["locations", "import", str(bad)]) != 0
    error = capsys.readouterr().err
    assert "line 3: kind" in error and "line 4: lat" in error and "line 5: code LIS-1" in error
    assert count(sessions) == 1
    good = tmp_path / "good.csv"
    good.write_text(
        "code,name,kind,lat,lng,pickup_enabled,ships,priority\n"
        "LIS-1,Lisbon,store,38.71,-9.14,true,true,10\n"
        "POR-1,Porto,store,41.15,-8.61,yes,,\n"
    )
    assert main(["locations", "import", str(good)]) == 0
    assert "imported 2 locations" in capsys.readouterr().err
    assert count(sessions) == 3
    assert main(["locations", "import", str(good)]) != 0  # the codes are taken now
    assert "exists already" in capsys.readouterr().err
    missing = tmp_path / "missing.csv"
    missing.write_text("code,name\nX,Y\n")
    assert main(["locations", "import", str(missing)]) != 0
    assert "line 1: the header lacks kind" in capsys.readouterr().err
