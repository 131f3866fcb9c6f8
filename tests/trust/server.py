"""A real `planner serve` in a subprocess, for the tests that need a process of their own."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx


def planner_command() -> str:
    found = Path(sys.executable).with_name("planner")
    return str(found) if found.exists() else (shutil.which("planner") or "planner")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(database_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PLANNER_SMTP_HOST", None)
    env["PLANNER_DATABASE_URL"] = database_url
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str], stdin: str | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([planner_command(), *args], input=stdin, capture_output=True, text=True, timeout=timeout, env=env,
                          check=False)


@contextlib.contextmanager
def serving(env: dict[str, str], workdir: Path, *extra_args: str, timeout: float = 90) -> Iterator[str]:
    """Start `planner serve` and yield its base URL once it answers; stop it afterwards."""
    port = free_port()
    log = open(workdir / f"server-{port}.log", "w")  # noqa: SIM115 - closed in the finally below
    proc = subprocess.Popen([planner_command(), "serve", "--port", str(port), *extra_args], env=env, cwd=workdir,
                            stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"planner serve exited:\n{(workdir / f'server-{port}.log').read_text()[-3000:]}")
            try:
                httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError("planner serve did not answer in time") from None
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def server_log(workdir: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(workdir.glob("server-*.log")))
