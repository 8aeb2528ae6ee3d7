"""Request ids, authentication and the catch-all that turns any failure into the OpenAI error shape.

Every request gets the server's own id (`REQUEST_ID`, from `secrets`): with the key id it is what the
meter keys usage, reservations and settlement by, so a client can neither replay an id to ride on
an earlier request's metering nor collide with another tenant. The client's `x-request-id`, when it
is a safe label, is kept apart (`CLIENT_REQUEST_ID`): logged, traced, on the usage record, and echoed
back as `x-request-id` (DESIGN.md); `x-tokenyard-request-id` always carries the server's id.
"""
from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Callable

import orjson
from services.common import redis_conn
import structlog
from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from services.edge.auth import Authenticator, Principal
from services.edge.dialects.anthropic_messages import anthropic_error
from services.edge.errors import json_error

log = structlog.get_logger()

REQUEST_ID = "ty.request_id"
"""The server's id of the request."""
CLIENT_REQUEST_ID = "ty.client_request_id"
"""The client's x-request-id when it sent a safe one, else ""."""
SERVER_ID_HEADER = "x-tokenyard-request-id"
PRINCIPAL = "ty.principal"
CALLER = "ty.caller"
"""The principal's tokenyard.common.v1.Caller (key id, workspace, agent, tier), for handlers that need only that."""
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_PUBLIC = frozenset({"/", "/healthz", "/readyz", "/openapi.json"})
"""Paths served without a key. `/metrics` is not one: on the public port it needs the master key (the
series name every model, deployment and error rate); scrapers use the internal metrics port instead."""


def server_request_id() -> str:
    """128 random bits from `secrets`: ids that key money must not be guessable or predictable."""
    return "req_" + secrets.token_hex(16)


def client_request_id_of(request: web.Request) -> str:
    given = request.headers.get("x-request-id", "")
    return given if _SAFE_ID.match(given) else ""


def id_headers(request: web.Request) -> dict[str, str]:
    """The ids every response carries: x-request-id (the client's, else the server's) and the server's."""
    rid = request[REQUEST_ID]
    return {"x-request-id": request.get(CLIENT_REQUEST_ID) or rid, SERVER_ID_HEADER: rid}


def bearer(request: web.Request) -> str:
    """The API key from `Authorization: Bearer` (OpenAI SDKs) or `x-api-key` (Anthropic SDKs)."""
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return request.headers.get("x-api-key", "").strip()


def principal_of(request: web.Request) -> Principal:
    return request[PRINCIPAL]


def require_master(request: web.Request) -> web.Response | None:
    """403 unless the caller holds the master key (admin endpoints)."""
    if request[PRINCIPAL].is_master:
        return None
    return json_error(403, "This endpoint needs the master key.", code="forbidden")


def _is_console(path: str) -> bool:
    """The console's static files hold no data (services/edge/console_ui.py); its API calls are authenticated."""
    return path == "/ui" or path.startswith("/ui/")


def make_middleware(auth: Authenticator, body_timeout: float = 30.0,
                    new_request_id: Callable[[], str] = server_request_id):
    @web.middleware
    async def edge_middleware(request: web.Request, handler):
        rid = new_request_id()
        request[REQUEST_ID] = rid
        request[CLIENT_REQUEST_ID] = client_request_id_of(request)
        try:
            if request.path not in _PUBLIC and not _is_console(request.path):
                denied = await _authenticate(request, auth)
                if denied is not None:
                    denied.headers.update(id_headers(request))
                    return _anthropic_shape(denied) if request.path.startswith("/v1/messages") else denied
            slow = await _read_body(request, body_timeout)
            resp = slow if slow is not None else await handler(request)
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
            resp.headers.update(id_headers(request))
        return resp

    return edge_middleware


async def _read_body(request: web.Request, timeout: float) -> web.Response | None:
    """Reads (and caches) the body within `timeout`, so a client that trickles it cannot hold a handler;
    multipart uploads stream to the runtime instead and are left alone."""
    if not request.body_exists or request.content_type.startswith("multipart/"):
        return None
    try:
        async with asyncio.timeout(timeout):
            await request.read()
    except TimeoutError:
        return json_error(408, "The request body was not received in time.", code="request_timeout",
                          headers={"Connection": "close"})
    except RequestPayloadError:
        # E.g. `Content-Encoding: gzip` on a body that is not gzip: the client's mistake, said plainly.
        return json_error(400, "The request body could not be decoded as its Content-Encoding says; send it "
                          "uncompressed or encoded as declared.", code="invalid_content_encoding",
                          headers={"Connection": "close"})
    return None


async def _authenticate(request: web.Request, auth: Authenticator) -> web.Response | None:
    token = bearer(request)
    if not token:
        return json_error(401, "You didn't provide an API key. Send it as `Authorization: Bearer KEY`.",
                          code="missing_api_key")
    try:
        principal = await auth.authenticate(token)
    except redis_conn.UNAVAILABLE:
        log.warning("key_store_unavailable", request_id=request[REQUEST_ID])
        return json_error(503, "Key verification is temporarily unavailable; retry shortly.", "service_unavailable",
                          code="service_unavailable", headers={"Retry-After": "1"})
    if principal is None:
        return json_error(401, "Incorrect API key provided.", code="invalid_api_key")
    request[PRINCIPAL] = principal
    request[CALLER] = principal.caller
    return None


def _anthropic_shape(resp: web.Response) -> web.Response:
    """Anthropic SDKs read `{"type": "error", "error": {"type", "message"}}`."""
    error = orjson.loads(resp.body)["error"]
    keep = {k: v for k, v in resp.headers.items() if k.lower() in ("x-request-id", SERVER_ID_HEADER, "retry-after")}
    return anthropic_error(resp.status, error, keep)


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
