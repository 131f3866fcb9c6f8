"""Servers the bench starts and stops itself: `planner serve` and the two ceilings, as subprocesses."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.load import Req, one

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(extra: dict[str, str]) -> dict[str, str]:
    # The planner's settings come from the bench alone, but for an experiment's switch such as PLANNER_GROUP_COMMIT=0.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLANNER_") or k == "PLANNER_GROUP_COMMIT"}
    # The checkout first, so `bench.*` imports and the planner under test is this tree's.
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    env.update(extra)
    return env


class Server:
    """One server process (uvicorn supervises its workers when there are several)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int, log_path: Path, cwd: Path):
        self.name, self.argv, self.env, self.port, self.log_path, self.cwd = name, argv, env, port, log_path, cwd
        self.proc: subprocess.Popen | None = None

    async def start(self, timeout: float = 90) -> "Server":
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log_path}:\n{self.tail()}")
            try:
                ans, _ = await one("127.0.0.1", self.port, Req("GET", "/health"))
                if ans.status == 200:
                    return self
                last = f"{ans.status} {ans.body[:200]!r}"
            except OSError as exc:
                last = str(exc)
            await asyncio.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer /health within {timeout:.0f} s ({last}); see {self.log_path}")

    def tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the workers uvicorn spawned, or the server itself."""
        import psutil

        p = psutil.Process(self.pid)
        kids = [c for c in p.children(recursive=True) if "spawn" in " ".join(c.cmdline())]
        return [c.pid for c in kids] or [self.pid]

    def worker_rss_mb(self) -> list[float]:
        import psutil

        return [psutil.Process(pid).memory_info().rss / 2**20 for pid in self.worker_pids()]

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        import psutil

        kids = []
        try:
            kids = psutil.Process(self.pid).children(recursive=True)
        except psutil.Error:
            pass
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        for k in kids:  # only the processes this server started
            try:
                if k.is_running():
                    k.kill()
            except psutil.Error:
                pass
        self._log.close()


def planner_server(*, workers: int, env: dict[str, str], tmp: Path, tag: str) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "planner.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--log-level", "warning"]
    # Every simulated guest comes from 127.0.0.1: the per-client RSVP limit would cut the rush short.
    e = dict(env, PLANNER_BASE_URL=f"http://127.0.0.1:{port}", PLANNER_RSVP_LIMIT="0")
    return Server(f"planner serve --workers {workers}", argv, e, port, tmp / f"planner-{tag}-w{workers}.log", tmp)


def ceiling_server(kind: str, *, workers: int, env: dict[str, str], tmp: Path) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", f"bench.ceiling_{kind}:create_app", "--factory", "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    return Server(f"ceiling {kind} --workers {workers}", argv, env, port, tmp / f"ceiling-{kind}-w{workers}.log", tmp)


def planner_cli(args: list[str], *, env: dict[str, str], tmp: Path, stdin: str | None = None) -> str:
    r = subprocess.run([sys.executable, "-m", "planner.cli", *args], env=env, cwd=tmp, input=stdin,
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"planner {' '.join(args)} failed ({r.returncode}): {r.stderr or r.stdout}")
    return r.stdout
