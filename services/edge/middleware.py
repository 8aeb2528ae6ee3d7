"""Request id, authentication and the catch-all that turns any failure into the OpenAI error shape."""
from __future__ import annotations

import asyncio
import hmac
import re
import uuid

import structlog
from aiohttp import web

from services.edge.errors import json_error
from tokenyard.common.v1 import common_pb2

log = structlog.get_logger()

REQUEST_ID = "ty.request_id"
CALLER = "ty.caller"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_PUBLIC = frozenset({"/healthz", "/readyz"})


def request_id_of(request: web.Request) -> str:
    given = request.headers.get("x-request-id", "")
    return given if _SAFE_ID.match(given) else f"req_{uuid.uuid4().hex}"


def bearer(request: web.Request) -> str:
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return request.headers.get("x-api-key", "")


def make_middleware(master_key: str):
    master = master_key.encode()
    master_caller = common_pb2.Caller(key_id="master")

    @web.middleware
    async def edge_middleware(request: web.Request, handler):
        rid = request_id_of(request)
        request[REQUEST_ID] = rid
        try:
            if request.path not in _PUBLIC:
                token = bearer(request)
                if not token:
                    resp = json_error(401, "You didn't provide an API key. Send it as `Authorization: Bearer KEY`.",
                                      code="missing_api_key")
                    resp.headers["x-request-id"] = rid
                    return resp
                if not hmac.compare_digest(token.encode(), master):
                    resp = json_error(401, "Incorrect API key provided.", code="invalid_api_key")
                    resp.headers["x-request-id"] = rid
                    return resp
                request[CALLER] = master_caller
            resp = await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            resp = _http_exception(exc, request)
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except Exception:
            log.exception("unhandled_error", request_id=rid, path=request.path)
            resp = json_error(500, f"Internal error; report request id {rid} if it persists.", "api_error",
                              code="internal_error")
        if not resp.prepared:
            resp.headers["x-request-id"] = rid
        return resp

    return edge_middleware


def _http_exception(exc: web.HTTPException, request: web.Request) -> web.Response:
    status = exc.status
    if status == 404:
        return json_error(404, f"Unknown request URL: {request.method} {request.path}.", code="unknown_url")
    if status == 405:
        allowed = ", ".join(sorted(getattr(exc, "allowed_methods", ()) or ()))
        return json_error(405, f"Method {request.method} is not allowed on {request.path}.",
                          code="method_not_allowed", headers={"Allow": allowed} if allowed else None)
    if status == 413:
        return json_error(413, "The request body is too large.", code="request_too_large")
    return json_error(status, exc.reason or "Request failed.")
