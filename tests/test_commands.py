"""``buybutton serve`` and ``buybutton demo`` as real processes, the way the README runs them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.live_server import free_port


@contextmanager
def running(args: list[str], env: dict[str, str], ready: str) -> Iterator[list[str]]:
    """Start the CLI, wait until it prints ``ready``, yield its output lines, stop it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "buybutton.cli", *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: stopping it stops its workers too
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                raise AssertionError("exited early:\n" + "".join(lines))
            lines.append(line)
            if ready in line:
                break
        yield lines
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            # A server that ignores SIGINT is killed with every worker it started: an orphaned
            # worker would keep the output pipe open and the read below would never end.
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if process.stdout:
            lines.extend(process.stdout.readlines())  # what it printed until it stopped
            process.stdout.close()


def wait_for(url: str) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:
        try:
            return httpx.get(url)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_demo_seeds_serves_and_prints_urls(tmp_path: Path) -> None:
    port, blog_port = free_port(), free_port()
    args = [
        "demo",
        "--port",
        str(port),
        "--blog-port",
        str(blog_port),
        "--database",
        str(tmp_path / "demo.sqlite3"),
    ]
    with running(args, {"PYTHONUNBUFFERED": "1"}, ready="Admin login") as lines:
        output = "".join(lines)
        post = re.search(r"Blog post:\s+(\S+)", output)
        link = re.search(r"Checkout link:\s+(\S+)", output)
        login = re.search(r"Admin login: (\S+) / (\S+)", output)
        assert post and link and login, output
        # The database, and how to point the other commands at it.
        database = tmp_path / "demo.sqlite3"
        assert f"Database:                sqlite:///{database}" in output
        assert f"export BUYBUTTON_DATABASE_URL=sqlite:///{database}" in output
        for label in ("Shoppable video", "Social feed", "Newsletter", "Product page \\(oEmbed\\)"):
            found = re.search(label + r":\s+(\S+)", output)
            assert found and httpx.get(found[1]).status_code == 200, label
        signed_in = httpx.post(
            f"http://127.0.0.1:{port}/admin/login",
            data={"email": login[1], "password": login[2]},
        )
        assert (
            signed_in.status_code == 303
            and "__Host-buybutton_admin=" in signed_in.headers["set-cookie"]
        )
        page = httpx.get(post[1])
        assert page.status_code == 200 and "data-buybutton-sku" in page.text
        assert f"http://127.0.0.1:{port}/widgets/buybutton.js" in page.text
        checkout = httpx.get(link[1])
        assert checkout.status_code == 200 and "Ceramic Pour-Over Dripper" in checkout.text
        assert httpx.get(f"http://127.0.0.1:{blog_port}/images/dripper.svg").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{blog_port}/app.py").status_code == 404


def test_serve_migrates_and_answers(tmp_path: Path) -> None:
    port = free_port()
    database = tmp_path / "shop.sqlite3"
    env = {
        "BUYBUTTON_DATABASE_URL": f"sqlite:///{database}",
        "BUYBUTTON_PORT": str(port),
        "BUYBUTTON_BASE_URL": f"http://127.0.0.1:{port}",
    }
    with running(["serve"], env, ready="Uvicorn running") as lines:
        assert wait_for(f"http://127.0.0.1:{port}/healthz").text == "ok"
        missing = httpx.get(f"http://127.0.0.1:{port}/api/public/products/NOPE")
        assert missing.status_code == 404  # the schema exists: the query ran
        assert httpx.get(f"http://127.0.0.1:{port}/c/capability-token-42").status_code == 400
    assert database.exists()
    output = "".join(lines)
    assert f"buybutton serve: database sqlite:///{database}" in output
    assert '"GET /c/[redacted] HTTP/1.1" 400' in output
    assert "capability-token-42" not in output
