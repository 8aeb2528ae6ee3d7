"""The pooled keep-alive HTTP client every HTTP provider owns: one per deployment, for the process's life."""
from __future__ import annotations

import aiohttp

from services.router.config import Deployment


SELF_HOSTED = frozenset({"llamacpp", "llama.cpp", "vllm"})
SELF_HOSTED_KEEPALIVE = 4.0
"""Seconds an idle pooled connection to a self-hosted server is kept. llama-cpp-python and vLLM serve
through uvicorn, which closes idle keep-alive connections after 5 s: a connection kept longer was
reused just as the server closed it, and the request failed (ServerDisconnectedError, connection
reset) and counted against the breaker. Retrying such a failure is not safe (the server may have read
the request), so the pool lets go first."""


class UpstreamPool:
    def __init__(self, deployment: Deployment, trace_configs: list | None = None, socket_factory=None) -> None:
        t = deployment.timeouts
        self._timeout = aiohttp.ClientTimeout(total=t.total, sock_connect=t.connect)
        self._limit = deployment.max_connections
        self._trace_configs = trace_configs or None
        """aiohttp hooks that trace each upstream request and send it `traceparent` (tracing on only)."""
        self._socket_factory = socket_factory
        """The outbound policy's connect-time check, for upstreams a tenant or caller named (None: operator's own)."""
        self._session: aiohttp.ClientSession | None = None
        self._keepalive = SELF_HOSTED_KEEPALIVE if deployment.vendor in SELF_HOSTED else 60.0

    def session(self) -> aiohttp.ClientSession:
        # Created lazily so it binds to the running loop.
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._limit, keepalive_timeout=self._keepalive, ttl_dns_cache=300,
                                         socket_factory=self._socket_factory)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout,
                                                  skip_auto_headers=("User-Agent",),
                                                  trace_configs=self._trace_configs)
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


def with_key(headers: dict[str, str], name: str, value: str | None) -> dict[str, str]:
    """The deployment's headers, or (BYOK: `value` not None) the same with the customer's credential under
    `name` and never the deployment's own."""
    if value is None:
        return headers
    out = {k: v for k, v in headers.items() if k != name}
    if value:
        out[name] = value
    return out
