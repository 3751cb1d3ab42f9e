"""The stock sheet: many rows saved at once or none, every refused row reported, lost updates
refused, the CSV bulk edit previewed before it is applied, forged forms refused."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.domain import admin_auth
from buybutton_server.domain.admin_auth import ScryptCost, create_admin
from tests.conftest import add_product, product, set_stock

PASSWORD = "correct horse battery staple"
SKUS = ("MUG-01", "MUG-02", "TEE-01", "TEE-02")


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_auth, "COST", ScryptCost(n=2**14, r=8, p=1))


@pytest.fixture
def https_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="https://shop.test") as client:
        yield client


@pytest.fixture
def catalog(sessions: sessionmaker[Session]) -> None:
    for number, sku in enumerate(SKUS, start=1):
        add_product(sessions, sku=sku, title=f"Thing {sku}", stock=10 * number)


@pytest.fixture
def staff(https_client: TestClient, sessions: sessionmaker[Session], catalog: None) -> str:
    """Staff may keep stock: sign in as staff; the page's CSRF token."""
    with write_session(sessions) as session:
        create_admin(session, "staff@shop.example", PASSWORD, role="staff")
    answer = https_client.post(
        "/admin/login",
        data={"email": "staff@shop.example", "password": PASSWORD},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    return csrf_of(https_client.get("/admin/stock").text)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert found is not None
    return found[1]


def sheet_form(page: str) -> dict[str, str]:
    """The stock form's fields as the page rendered them."""
    form = page.split('id="stock-sheet"', 1)[1].split("</form>", 1)[0]
    fields = dict(re.findall(r'name="((?:was|on_hand)\.[^"]+)" value="([^"]*)"', form))
    fields["csrf"] = csrf_of(page)
    return fields


def stock_of(sessions: sessionmaker[Session]) -> dict[str, int]:
    return {sku: product(sessions, sku).on_hand for sku in SKUS}


def set_reserved(sessions: sessionmaker[Session], sku: str, reserved: int) -> None:
    set_stock(sessions, sku, reserved=reserved)


def test_the_sheet_lists_every_product_with_its_stock(https_client: TestClient, staff: str) -> None:
    page = https_client.get("/admin/stock")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    for sku in SKUS:
        assert f'name="on_hand.{sku}"' in page.text
    assert 'for="on-hand-1"' in page.text, "every input has a label"
    found = https_client.get("/admin/stock?q=tee")
    assert "on_hand.TEE-01" in found.text and "on_hand.MUG-01" not in found.text


def test_saving_changes_only_the_edited_rows(
    https_client: TestClient, sessions: sessionmaker[Session], staff: str
) -> None:
    fields = sheet_form(https_client.get("/admin/stock").text)
    fields["on_hand.MUG-01"] = "7"
    fields["on_hand.TEE-02"] = "0"
    # Another clerk changes an untouched row meanwhile: ours must not write it back.
    set_stock(sessions, "MUG-02", on_hand=99)
    answer = https_client.post("/admin/stock", data=fields, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    assert stock_of(sessions) == {"MUG-01": 7, "MUG-02": 99, "TEE-01": 30, "TEE-02": 0}
    assert "Stock saved." in https_client.get(answer.headers["location"]).text


def test_one_bad_row_writes_nothing_and_every_bad_row_is_reported(
    https_client: TestClient, sessions: sessionmaker[Session], staff: str
) -> None:
    set_reserved(sessions, "TEE-01", 4)
    fields = sheet_form(https_client.get("/admin/stock").text)
    fields["on_hand.MUG-01"] = "12"  # fine on its own
    fields["on_hand.MUG-02"] = "lots"
    fields["on_hand.TEE-01"] = "3"  # below the 4 reserved
    fields["on_hand.TEE-02"] = "-5"
    answer = https_client.post("/admin/stock", data=fields)
    assert answer.status_code == 422
    assert stock_of(sessions) == {"MUG-01": 10, "MUG-02": 20, "TEE-01": 30, "TEE-02": 40}
    text = answer.text
    assert "Nothing was saved: 3 rows" in text
    assert "MUG-02: “lots” is not a whole number" in text
    assert "TEE-01: cannot go below the 4 units held by checkouts in progress" in text
    assert "TEE-02: stock cannot be negative" in text
    kept = sheet_form(text)
    assert (kept["on_hand.MUG-01"], kept["on_hand.MUG-02"], kept["on_hand.TEE-02"]) == (
        "12",
        "lots",
        "-5",
    ), "typed values are kept"
    assert text.count('aria-invalid="true"') == 3


def test_a_row_changed_since_the_page_was_loaded_is_refused(
    https_client: TestClient, sessions: sessionmaker[Session], staff: str
) -> None:
    fields = sheet_form(https_client.get("/admin/stock").text)
    # A sale takes two units after the page was rendered.
    set_stock(sessions, "MUG-01", on_hand=8)
    fields["on_hand.MUG-01"] = "15"
    fields["on_hand.TEE-01"] = "31"
    answer = https_client.post("/admin/stock", data=fields)
    assert answer.status_code == 422
    assert "MUG-01: changed since you loaded the page (now 8)" in answer.text
    assert stock_of(sessions)["MUG-01"] == 8 and stock_of(sessions)["TEE-01"] == 30
    # The page now carries the new stock: saving again is a decision made knowingly.
    again = sheet_form(answer.text)
    assert again["was.MUG-01"] == "8" and again["on_hand.MUG-01"] == "15"
    assert https_client.post("/admin/stock", data=again, follow_redirects=False).status_code == 303
    assert stock_of(sessions)["MUG-01"] == 15 and stock_of(sessions)["TEE-01"] == 31


def test_below_reserved_is_refused(
    https_client: TestClient, sessions: sessionmaker[Session], staff: str
) -> None:
    set_reserved(sessions, "MUG-02", 6)
    fields = sheet_form(https_client.get("/admin/stock").text)
    fields["on_hand.MUG-02"] = "5"
    answer = https_client.post("/admin/stock", data=fields)
    assert answer.status_code == 422
    assert "cannot go below the 6 units held by checkouts" in answer.text
    assert product(sessions, "MUG-02").on_hand == 20
    fields["on_hand.MUG-02"] = "6"
    assert https_client.post("/admin/stock", data=fields, follow_redirects=False).status_code == 303
    assert product(sessions, "MUG-02").on_hand == 6


def test_low_stock_filter(
    https_client: TestClient, sessions: sessionmaker[Session], staff: str
) -> None:
    set_reserved(sessions, "TEE-01", 26)  # 30 on hand, 4 available
    page = https_client.get("/admin/stock?low=1").text
    assert "on_hand.TEE-01" in page and "on_hand.MUG-01" not in page


def test_a_forged_form_writes_nothing(
    https_client: TestClient, sessions: sessionmaker[Session], staff: str
) -> None:
    fields = sheet_form(https_client.get("/admin/stock").text)
    fields["on_hand.MUG-01"] = "1"
    for csrf in ("", "0" * 64):
        answer = https_client.post("/admin/stock", data={**fields, "csrf": csrf})
        assert answer.status_code in (400, 403), answer.status_code
    answer = https_client.post(
        "/admin/stock/csv/apply", data={"csrf": "", "change": "1|MUG-01|10|1"}
    )
    assert answer.status_code in (400, 403)
    assert product(sessions, "MUG-01").on_hand == 10


def test_signed_out_gets_the_sign_in_page(https_client: TestClient, catalog: None) -> None:
    answer = https_client.post("/admin/stock", data={"on_hand.MUG-01": "1"}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/admin/login")


def test_csv_is_previewed_then_applied(
    https_client: TestClient, sessions: sessionmaker[Session], staff: str
) -> None:
    csv_text = "SKU;On Hand\nMUG-01;11\nTEE-01;30\n\nTEE-02;2\n"
    preview = https_client.post(
        "/admin/stock/csv",
        data={"csrf": staff},
        files={"csv_file": ("stock.csv", csv_text.encode("utf-8-sig"), "text/csv")},
    )
    assert preview.status_code == 200, preview.text
    assert re.search(r"MUG-01.*?>10<.*?→ 11", preview.text, re.S)
    assert re.search(r"TEE-02.*?>40<.*?→ 2", preview.text, re.S)
    assert "1 line already matches" in preview.text
    assert stock_of(sessions)["MUG-01"] == 10, "a preview writes nothing"
    changes = re.findall(r'name="change" value="([^"]+)"', preview.text)
    assert changes == ["2|MUG-01|10|11", "5|TEE-02|40|2"]
    applied = https_client.post(
        "/admin/stock/csv/apply",
        data={"csrf": staff, "change": changes},
        follow_redirects=False,
    )
    assert applied.status_code == 303
    assert stock_of(sessions) == {"MUG-01": 11, "MUG-02": 20, "TEE-01": 30, "TEE-02": 2}


def test_csv_apply_refuses_stock_that_moved_after_the_preview(
    https_client: TestClient, sessions: sessionmaker[Session], staff: str
) -> None:
    preview = https_client.post(
        "/admin/stock/csv", data={"csrf": staff, "csv_text": "MUG-01,1\nMUG-02,2\n"}
    )
    changes = re.findall(r'name="change" value="([^"]+)"', preview.text)
    set_stock(sessions, "MUG-02", on_hand=19)
    answer = https_client.post("/admin/stock/csv/apply", data={"csrf": staff, "change": changes})
    assert answer.status_code == 422
    assert "line 2: MUG-02: changed since you loaded the page (now 19)" in answer.text
    assert stock_of(sessions)["MUG-01"] == 10 and stock_of(sessions)["MUG-02"] == 19


def test_csv_problems_are_listed_with_their_lines(
    https_client: TestClient, sessions: sessionmaker[Session], staff: str
) -> None:
    set_reserved(sessions, "TEE-01", 5)
    csv_text = "sku,on_hand\nMUG-01,5\nNOPE-99,3\nTEE-01,4\nMUG-02,x\nMUG-01,6\nGONE-1,1\n"
    answer = https_client.post("/admin/stock/csv", data={"csrf": staff, "csv_text": csv_text})
    assert answer.status_code == 422
    text = answer.text
    assert "line 3: NOPE-99: no product has this SKU" in text
    assert "line 4: TEE-01: cannot go below the 5 units held" in text
    assert "line 5: MUG-02: “x” is not a whole number" in text
    assert "line 6: MUG-01: listed twice (also line 2)" in text
    assert "line 7: GONE-1: no product has this SKU" in text
    assert "NOPE-99,3" in text, "the pasted CSV is kept"
    assert 'name="change"' not in text
    assert stock_of(sessions)["MUG-01"] == 10


@pytest.mark.parametrize(
    ("csv_text", "line"),
    [
        ("a" * 300_000, 1),  # one cell past the csv module's 128 KB field limit
        ("sku,on_hand\nMUG-01,5\n" + '"' + "x" * 200_000, 3),  # a quote left open
        ("sku,on_hand\nMUG-01,5\n" + "M" * 500 + ",3\n", 3),  # a long cell under that limit
    ],
)
def test_a_csv_with_an_overlong_cell_is_refused_naming_the_line(
    https_client: TestClient, sessions: sessionmaker[Session], staff: str, csv_text: str, line: int
) -> None:
    answer = https_client.post("/admin/stock/csv", data={"csrf": staff, "csv_text": csv_text})
    assert answer.status_code == 422
    assert f"line {line}: cell: longer than 200 characters" in answer.text
    assert 'name="change"' not in answer.text
    assert stock_of(sessions)["MUG-01"] == 10


def test_a_pasted_csv_over_the_upload_cap_is_refused(
    https_client: TestClient, sessions: sessionmaker[Session], staff: str
) -> None:
    csv_text = "MUG-01,5\n" * 60_000  # 540 KB: under the route's 1 MB, over the file cap
    answer = https_client.post("/admin/stock/csv", data={"csrf": staff, "csv_text": csv_text})
    assert answer.status_code == 413 and "larger than 512 KB" in answer.text
    assert stock_of(sessions)["MUG-01"] == 10


def test_a_pasted_csv_starting_with_a_bom_reads_its_header(
    https_client: TestClient, sessions: sessionmaker[Session], staff: str
) -> None:
    csv_text = "\ufeffsku,on_hand\nMUG-01,11\n"
    answer = https_client.post("/admin/stock/csv", data={"csrf": staff, "csv_text": csv_text})
    assert answer.status_code == 200, answer.text
    assert 'name="change" value="2|MUG-01|10|11"' in answer.text
