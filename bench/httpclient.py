"""A lean HTTP/1.1 keep-alive client (asyncio Protocol on uvloop) for the load generator.

aiohttp's client costs more CPU per request than the gateway hop we want to measure, on the same two
cores; this parser does only what the bench needs: Content-Length and chunked bodies, the time of
the first body byte (time to first token for SSE) and of the last, and whether a stream ended in [DONE].
"""
from __future__ import annotations

import asyncio
import time

_HEAD, _LEN, _SIZE, _DATA, _DATA_END, _TRAILER = range(6)


class Result:
    """One request as the client saw it; times are `time.perf_counter()` seconds."""

    __slots__ = ("start", "first", "end", "status", "tail", "events")

    def __init__(self, start: float) -> None:
        self.start, self.first, self.end = start, 0.0, 0.0
        self.status, self.tail, self.events = 0, b"", 0

    @property
    def latency(self) -> float:
        return self.end - self.start

    @property
    def ttft(self) -> float:
        return self.first - self.start

    def ok(self, stream: bool) -> bool:
        return self.status == 200 and (not stream or self.tail.endswith(b"data: [DONE]\n\n"))


def post_request(host: str, port: int, path: str, body: bytes, api_key: str = "") -> bytes:
    auth = b"Authorization: Bearer %s\r\n" % api_key.encode() if api_key else b""
    return (b"POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n"
            % (path.encode(), host.encode(), port, auth, len(body))) + body


class Connection(asyncio.Protocol):
    """One keep-alive connection carrying one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._buf = bytearray()
        self._state, self._remaining = _HEAD, 0
        self._result: Result | None = None
        self._done: asyncio.Future | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def connection_lost(self, exc) -> None:
        self.closed = True
        if self._done is not None and not self._done.done():
            self._result.end, self._result.status = time.perf_counter(), 0  # cut short: a failure
            self._done.set_result(self._result)

    def send(self, request: bytes, result: Result) -> asyncio.Future:
        self._result, self._state = result, _HEAD
        self._done = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self._done

    def data_received(self, data: bytes) -> None:
        self._buf += data
        if self._result is not None:
            self._parse(time.perf_counter())

    def _body(self, data: bytes, now: float) -> None:
        r = self._result
        if not r.first:
            r.first = now
        r.events += data.count(b"data:")
        r.tail = (r.tail + data)[-32:]

    def _parse(self, now: float) -> None:
        buf, r = self._buf, self._result
        while r is not None:
            if self._state == _HEAD:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                lines = bytes(buf[:end]).split(b"\r\n")
                del buf[:end + 4]
                r.status = int(lines[0].split(b" ", 2)[1])
                self._state, self._remaining = _LEN, 0
                for line in lines[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        self._remaining = int(value)
                    elif name == b"transfer-encoding" and b"chunked" in value.lower():
                        self._state = _SIZE
            elif self._state == _LEN:
                take = min(len(buf), self._remaining)
                if take:
                    self._body(bytes(buf[:take]), now)
                    del buf[:take]
                    self._remaining -= take
                if self._remaining:
                    return
                return self._complete(now)
            elif self._state == _SIZE:
                end = buf.find(b"\r\n")
                if end < 0:
                    return
                size = int(bytes(buf[:end]).split(b";")[0], 16)
                del buf[:end + 2]
                self._state, self._remaining = (_DATA, size) if size else (_TRAILER, 0)
            elif self._state == _DATA:
                take = min(len(buf), self._remaining)
                if take:
                    self._body(bytes(buf[:take]), now)
                    del buf[:take]
                    self._remaining -= take
                if self._remaining:
                    return
                self._state = _DATA_END
            elif self._state == _DATA_END:
                if len(buf) < 2:
                    return
                del buf[:2]
                self._state = _SIZE
            else:  # _TRAILER: lines until an empty one
                end = buf.find(b"\r\n")
                if end < 0:
                    return
                del buf[:end + 2]
                if end == 0:
                    return self._complete(now)

    def _complete(self, now: float) -> None:
        r, done = self._result, self._done
        r.end = now
        self._result, self._done, self._state = None, None, _HEAD
        done.set_result(r)


class Client:
    """A pool of keep-alive connections to one host: a request takes an idle one or opens a new one."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._idle: list[Connection] = []
        self.active: set[Connection] = set()

    async def _connect(self) -> Connection:
        _, conn = await asyncio.get_running_loop().create_connection(Connection, self.host, self.port)
        return conn

    def _take_idle(self) -> Connection | None:
        """An idle connection the server has not closed (servers end idle keep-alives after a while)."""
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed and not conn.transport.is_closing():
                return conn
        return None

    async def call(self, request: bytes, start: float | None = None) -> Result:
        result = Result(start if start is not None else time.perf_counter())
        try:
            conn = self._take_idle() or await self._connect()
        except OSError:
            result.end = time.perf_counter()
            return result
        self.active.add(conn)
        try:
            try:
                await conn.send(request, result)
            except RuntimeError:  # the server closed this idle connection (keep-alive timeout) just now
                self.active.discard(conn)
                conn = await self._connect()
                self.active.add(conn)
                await conn.send(request, result)
        finally:
            self.active.discard(conn)
        if not conn.closed and conn._result is None:
            self._idle.append(conn)
        return result

    def abort_active(self) -> None:
        """Closes every connection with a request in flight (clients walking away mid-stream)."""
        for conn in list(self.active):
            conn.transport.close()

    def close(self) -> None:
        for conn in self._idle:
            conn.transport.close()
        self._idle.clear()
