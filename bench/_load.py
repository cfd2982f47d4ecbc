"""A bounded HTTP/1.1 load generator over loopback: N requests over C keep-alive connections, then it stops.

Plain asyncio streams (no client library in the hot loop), so the generator costs little next to the servers it
measures. Every response is read whole (Content-Length or chunked) and its status checked; the latency of each
request is kept for p50/p99. Only 127.0.0.1 is ever a target.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Callable

Request = tuple[str, str, dict[str, str], bytes]  # method, path with query, headers, body


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, chunked = None, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        body = bytearray()
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            body += await reader.readexactly(size + 2)
            del body[-2:]
        return status, bytes(body)
    return status, await reader.readexactly(length or 0)


def _encode(req: Request, host: str) -> bytes:
    method, path, headers, body = req
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def run_load(port: int, make_request: Callable[[int], Request], n: int, concurrency: int = 16,
                   expect: tuple[int, ...] = (200, 201), deadline: float = 300.0) -> LoadResult:
    """Send `n` requests (request i built by make_request(i)) over `concurrency` connections to 127.0.0.1:port."""
    host = f"127.0.0.1:{port}"
    counter = iter(range(n))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    stop_at = time.monotonic() + deadline

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in counter:
                if time.monotonic() > stop_at:
                    raise TimeoutError(f"load on port {port} did not finish within {deadline} s")
                data = _encode(make_request(i), host)
                t0 = time.perf_counter()
                writer.write(data)
                status, body = await _read_response(reader)
                latencies.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1
                if status not in expect:
                    raise RuntimeError(f"request {i} answered {status}: {body[:300]!r}")
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return LoadResult(requests=n, seconds=time.perf_counter() - started, latencies=latencies, statuses=statuses)
