"""One access-log line per HTTP request, refused ones included (a bad key, an unknown URL, a 413):
what an operator reads to see what a client tried. The outermost middleware, so it sees the status
the client got whatever layer answered."""
from __future__ import annotations

import asyncio
import time

import structlog
from aiohttp import web

from services.edge.middleware import CLIENT_REQUEST_ID, PRINCIPAL, REQUEST_ID

log = structlog.get_logger()


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def make_access_log(clock=time.monotonic):
    @web.middleware
    async def access_log(request: web.Request, handler):
        t0, status = clock(), 500
        try:
            resp = await handler(request)
            status = resp.status
            return resp
        except web.HTTPException as exc:
            status = exc.status
            raise
        except asyncio.CancelledError:
            status = 499  # the client went away
            raise
        finally:
            principal = request.get(PRINCIPAL)
            log.info("access", method=request.method, path=request.path, route=_route(request), status=status,
                     user_agent=request.headers.get("User-Agent", "")[:256], request_id=request.get(REQUEST_ID, ""),
                     client_request_id=request.get(CLIENT_REQUEST_ID, ""),
                     key_id=principal.caller.key_id if principal is not None else "",
                     duration_ms=round((clock() - t0) * 1000, 2))

    return access_log
