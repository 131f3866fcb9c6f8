"""The `planner` command as a newcomer runs it: real processes, each of which must exit (or serve)."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

TIMEOUT = 120


def _planner() -> str:
    found = Path(sys.executable).with_name("planner")
    if found.exists():
        return str(found)
    which = shutil.which("planner")
    if not which:
        pytest.fail("the `planner` command is not installed: run `pip install .` first")
    return which


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PLANNER_SMTP_HOST", None)
    return env


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run([_planner(), *args], input=stdin, capture_output=True, text=True,
                              timeout=TIMEOUT, env=_env())
    except subprocess.TimeoutExpired as exc:  # the blocker this test exists for
        pytest.fail(f"`planner {' '.join(args)}` did not exit within {TIMEOUT} s: {exc.stdout!r} {exc.stderr!r}")


def test_cli_demo_exits_and_can_run_twice():
    first = _run("demo")
    assert first.returncode == 0, first.stderr
    assert "organizer@demo.local" in first.stdout and "wellness-demo" in first.stdout
    second = _run("demo")
    assert second.returncode == 0, second.stderr
    assert "already there" in second.stdout


def test_cli_migrate_exits():
    done = _run("migrate")
    assert done.returncode == 0, done.stderr
    assert "Migrations applied" in done.stdout


def test_cli_user_add_exits_and_refuses_a_second_account():
    made = _run("user", "add", "cli-person@example.org", "--password-stdin", stdin="a long enough password\n")
    assert made.returncode == 0, made.stderr
    assert "Created cli-person@example.org" in made.stdout
    again = _run("user", "add", "cli-person@example.org", "--password-stdin", stdin="a long enough password\n")
    assert again.returncode == 1
    assert "error:" in again.stderr


def test_cli_help_and_unknown_command_exit():
    assert _run("--help").returncode == 0
    assert _run("no-such-command").returncode == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_serve_serves_then_stops_on_sigterm():
    port = _free_port()
    proc = subprocess.Popen([_planner(), "serve", "--port", str(port)], env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + TIMEOUT
        answer = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert answer is not None and answer.status_code == 200, proc.stdout.read() if proc.poll() is not None else ""
        proc.send_signal(signal.SIGTERM)
        # uvicorn finishes its graceful shutdown, then exits with the signal it was sent
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
