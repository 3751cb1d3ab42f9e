"""``buybutton feeds url|check|rotate`` (issue 16, item 4)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton.cli import main
from tests.conftest import BASE_URL, SECRET, add_product


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.setenv("BUYBUTTON_DATABASE_URL", database_url)
    monkeypatch.setenv("BUYBUTTON_SECRET_KEYS", SECRET)
    monkeypatch.setenv("BUYBUTTON_BASE_URL", BASE_URL)


def test_feeds_url_prints_a_working_url_and_rotate_replaces_it(
    client: TestClient, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    add_product(sessions, description="A mug", image_url="/m.png", brand="B", mpn="M1")
    assert main(["feeds", "url", "google"]) == 0
    url = capsys.readouterr().out.strip()
    assert url.startswith(f"{BASE_URL}/feeds/google.xml?key=")
    assert client.get(url.removeprefix(BASE_URL)).status_code == 200
    assert main(["feeds", "rotate", "google"]) == 0
    new = capsys.readouterr().out.strip()
    assert new != url
    assert client.get(url.removeprefix(BASE_URL)).status_code == 404
    assert client.get(new.removeprefix(BASE_URL)).status_code == 200


def test_feeds_check_lists_what_each_feed_leaves_out(
    sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    add_product(sessions, description="A mug", image_url="/m.png")
    assert main(["feeds", "check"]) == 1
    captured = capsys.readouterr()
    assert "google: MUG-01 lacks brand, gtin or mpn" in captured.out
    assert "meta: MUG-01 lacks brand" in captured.out
    assert "pinterest" not in captured.out
    assert "left out of the feeds" in captured.err
    assert main(["feeds", "check", "pinterest"]) == 0


def test_an_unknown_channel_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["feeds", "url", "myspace"])
    assert "invalid choice" in capsys.readouterr().err
