"""The README's command list, run verbatim, in order, in an empty folder, with this virtual
environment's ``buybutton`` on PATH: a new user's first hour must not meet an error.

The list is the ``sh`` block after the ``<!-- readme-commands`` comment. A command that
runs until stopped (``serve``, ``worker`` without ``--once``) is started, checked to be
serving, and stopped with Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.live_server import free_port

ROOT = Path(__file__).resolve().parent.parent
MARK = "<!-- readme-commands"
FOREVER = re.compile(r"^buybutton (serve|worker(?!.*--once))\b")


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    after = text.split(MARK, 1)[1]
    block = re.search(r"```sh\n(.*?)```", after, re.DOTALL)
    assert block, "no ```sh block after the readme-commands mark"
    return [line for line in block[1].splitlines() if line.strip()]


def clean_environment(port: int) -> dict[str, str]:
    """No BUYBUTTON_* from the test run (the folder's .env must do), this venv first on
    PATH, and a free port (the environment wins over .env)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUYBUTTON_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["BUYBUTTON_PORT"] = str(port)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_until_serving(command: str, cwd: Path, env: dict[str, str], port: int) -> str:
    process = subprocess.Popen(
        ["bash", "-c", f"exec {command}"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                raise AssertionError(f"{command} exited early:\n" + "".join(lines))
            lines.append(line)
            if "Uvicorn running" in line or "delivering webhooks" in line:
                break
        else:
            raise AssertionError(f"{command} did not start:\n" + "".join(lines))
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            lines.extend(process.stdout.readlines())
            process.stdout.close()
    return "".join(lines)


def test_the_readme_commands_work_in_an_empty_folder(tmp_path: Path) -> None:
    commands = readme_commands()
    assert commands[0].startswith("buybutton init"), commands
    assert any(c.startswith("buybutton catalog import") for c in commands)
    port = free_port()
    env = clean_environment(port)
    outputs: dict[str, str] = {}
    for command in commands:
        if FOREVER.match(command):
            output = run_until_serving(command, tmp_path, env, port)
            if command.startswith("buybutton serve"):
                assert f"database sqlite:///{tmp_path}/buybutton.sqlite3" in output, output
            outputs[command] = output
            continue
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}{done.stderr}"
        assert "Traceback" not in done.stderr, f"{command}\n{done.stderr}"
        outputs[command] = done.stdout
    assert (tmp_path / ".env").exists() and (tmp_path / "buybutton.sqlite3").exists()
    links = [out for cmd, out in outputs.items() if cmd.startswith("buybutton link")]
    assert links and all("http://127.0.0.1:8000/" in out for out in links), links


def test_a_printed_link_opens_a_checkout_on_the_served_shop(tmp_path: Path) -> None:
    """``init`` → ``catalog import`` → ``link`` → ``serve``: the link is for sale there."""
    port = free_port()
    env = clean_environment(port)
    for command in ("buybutton init", "buybutton catalog import products.csv"):
        subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, check=True)
    link = subprocess.run(
        ["buybutton", "link", "MUG-01"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    process = subprocess.Popen(
        ["buybutton", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        path = link.split("8000", 1)[1]
        deadline = time.monotonic() + 60
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}{path}")
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        assert page.status_code == 200 and "Stoneware Mug" in page.text
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
