"""A bounded closed-loop load generator on 127.0.0.1.

N workers, each on its own keep-alive connection, send their next request as soon as the previous
one is answered; a phase stops at its request cap or its time cap, whichever comes first (requests
in flight at the time cap finish and count). Latency is taken per request, from writing it to
having read the whole answer.

The default client is a small HTTP/1.1 keep-alive client on asyncio streams: on a 2-core machine
the load generator shares the CPU with the server and the database, and httpx spends several
times more CPU per request than the server under test (measured: see bench/README.md), which
would flatten every figure towards the client's own limit. `--client httpx` uses httpx instead.
"""
from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

import msgspec


@dataclass(frozen=True)
class Req:
    method: str
    path: str
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return msgspec.json.decode(self.body)


@dataclass
class PhaseResult:
    concurrency: int
    planned: int
    latencies: list[float] = field(default_factory=list)  # seconds, in completion order
    answers: list[Answer | None] = field(default_factory=list)  # by request index; None = not sent
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    stopped_by: str = "requests"

    @property
    def done(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def pct(self, p: float) -> float:
        """Latency percentile in milliseconds (nearest rank)."""
        if not self.latencies:
            return float("nan")
        s = sorted(self.latencies)
        k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
        return s[k] * 1000.0


class ConnectionClosed(Exception):
    pass


class RawConnection:
    """One HTTP/1.1 keep-alive connection: Content-Length and chunked answers, reconnects when closed."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.host_header = f"Host: {host}:{port}\r\n".encode()

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    def encode(self, req: Req) -> bytes:
        head = [f"{req.method} {req.path} HTTP/1.1\r\n".encode(), self.host_header]
        for k, v in req.headers:
            head.append(f"{k}: {v}\r\n".encode())
        if req.body is not None:
            head.append(b"Content-Type: application/json\r\n")
            head.append(f"Content-Length: {len(req.body)}\r\n".encode())
        head.append(b"\r\n")
        if req.body is not None:
            head.append(req.body)
        return b"".join(head)

    async def send(self, raw: bytes) -> Answer:
        for attempt in (1, 2):
            if self.writer is None:
                await self._connect()
            try:
                self.writer.write(raw)
                return await self._read()
            except (ConnectionClosed, ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError):
                # The server closed an idle keep-alive connection: reconnect once.
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _read(self) -> Answer:
        assert self.reader is not None
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            raise ConnectionClosed() from exc
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
        if "content-length" in headers:
            n = int(headers["content-length"])
            body = await self.reader.readexactly(n) if n else b""
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            body = b"".join(parts)
        elif status in (204, 304) or 100 <= status < 200:
            body = b""
        else:
            body = await self.reader.read()
            self.close()
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Answer(status, headers, body)


async def closed_loop(host: str, port: int, reqs: Sequence[Req], *, concurrency: int, max_seconds: float,
                      keep_answers: bool = True, client: str = "raw") -> PhaseResult:
    """Send `reqs` (the request cap) with `concurrency` workers for at most `max_seconds`."""
    result = PhaseResult(concurrency=concurrency, planned=len(reqs), answers=[None] * len(reqs))
    cursor = 0
    deadline = 0.0

    async def worker_raw() -> None:
        nonlocal cursor
        conn = RawConnection(host, port)
        try:
            while True:
                if cursor >= len(reqs):
                    return
                if time.perf_counter() >= deadline:
                    result.stopped_by = "time"
                    return
                i = cursor
                cursor += 1
                raw = conn.encode(reqs[i])
                t0 = time.perf_counter()
                try:
                    ans = await conn.send(raw)
                except Exception as exc:  # noqa: BLE001 - recorded, the phase goes on
                    result.errors.append(f"{type(exc).__name__}: {exc}")
                    conn.close()
                    continue
                result.latencies.append(time.perf_counter() - t0)
                result.statuses[ans.status] += 1
                if keep_answers:
                    result.answers[i] = ans
        finally:
            conn.close()

    async def worker_httpx(hc) -> None:
        nonlocal cursor
        while True:
            if cursor >= len(reqs):
                return
            if time.perf_counter() >= deadline:
                result.stopped_by = "time"
                return
            i = cursor
            cursor += 1
            r = reqs[i]
            headers = dict(r.headers)
            if r.body is not None:
                headers["content-type"] = "application/json"
            t0 = time.perf_counter()
            try:
                resp = await hc.request(r.method, r.path, content=r.body, headers=headers)
            except Exception as exc:  # noqa: BLE001
                result.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            result.latencies.append(time.perf_counter() - t0)
            result.statuses[resp.status_code] += 1
            if keep_answers:
                result.answers[i] = Answer(resp.status_code, dict(resp.headers), resp.content)

    start = time.perf_counter()
    deadline = start + max_seconds
    if client == "httpx":
        import httpx

        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}", limits=limits, timeout=60) as hc:
            tasks = [asyncio.create_task(worker_httpx(hc)) for _ in range(concurrency)]
            await _finish(tasks, max_seconds, result)
    else:
        tasks = [asyncio.create_task(worker_raw()) for _ in range(concurrency)]
        await _finish(tasks, max_seconds, result)
    result.seconds = time.perf_counter() - start
    return result


async def _finish(tasks: list[asyncio.Task], max_seconds: float, result: PhaseResult) -> None:
    # Requests in flight at the time cap may finish; a server that hangs is cut off 60 s later.
    done, pending = await asyncio.wait(tasks, timeout=max_seconds + 60)
    for t in pending:
        t.cancel()
        result.errors.append("request still unanswered 60 s after the phase's time cap")
    for t in done:
        if t.exception() is not None:
            result.errors.append(repr(t.exception()))


async def one(host: str, port: int, req: Req) -> tuple[Answer, float]:
    """A single request on a fresh connection: (answer, seconds)."""
    conn = RawConnection(host, port)
    try:
        raw = conn.encode(req)
        t0 = time.perf_counter()
        ans = await conn.send(raw)
        return ans, time.perf_counter() - t0
    finally:
        conn.close()
