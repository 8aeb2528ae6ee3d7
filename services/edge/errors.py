"""The edge's error table: every failure -> HTTP status + the OpenAI error shape.

`{"error": {"message", "type", "param", "code"}}`, never a stack trace; the cause goes to the log
under the request id.
"""
from __future__ import annotations

import grpc
import orjson
from aiohttp import web

from services.common.errors import MD_ERROR_CODE, MD_ERROR_PARAM, MD_ERROR_TYPE, MD_HTTP_STATUS, MD_RETRY_AFTER

# gRPC status -> (HTTP status, OpenAI type, code) when the peer sent no explicit mapping
# (e.g. the router is unreachable, so the status comes from the channel itself).
_GRPC_TO_HTTP = {
    grpc.StatusCode.INVALID_ARGUMENT: (400, "invalid_request_error", "invalid_request"),
    grpc.StatusCode.OUT_OF_RANGE: (400, "invalid_request_error", "invalid_request"),
    grpc.StatusCode.UNAUTHENTICATED: (401, "invalid_request_error", "invalid_api_key"),
    grpc.StatusCode.PERMISSION_DENIED: (403, "permission_error", "forbidden"),
    grpc.StatusCode.NOT_FOUND: (404, "invalid_request_error", "not_found"),
    grpc.StatusCode.RESOURCE_EXHAUSTED: (429, "rate_limit_error", "rate_limit_exceeded"),
    grpc.StatusCode.DEADLINE_EXCEEDED: (504, "timeout_error", "timeout"),
    grpc.StatusCode.UNAVAILABLE: (503, "service_unavailable", "service_unavailable"),
}
_GENERIC = {
    503: "A Tokenyard service is unavailable; retry shortly.",
    504: "The request timed out.",
    500: "Internal error; retry, and report the request id if it persists.",
}
_HTTP_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "permission_error",
               404: "invalid_request_error", 405: "invalid_request_error", 408: "timeout_error",
               413: "invalid_request_error", 429: "rate_limit_error"}


def error_body(message: str, type_: str, param: str | None = None, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def json_error(status: int, message: str, type_: str | None = None, param: str | None = None,
               code: str | None = None, headers: dict | None = None) -> web.Response:
    body = orjson.dumps(error_body(message, type_ or _HTTP_TYPES.get(status, "api_error"), param, code))
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


def from_rpc_error(err: grpc.aio.AioRpcError) -> tuple[int, dict, dict]:
    """(HTTP status, OpenAI error body, extra headers) for a failed RPC."""
    md = {k: v for k, v in (err.trailing_metadata() or ()) if isinstance(v, str)}
    status, type_, code = _GRPC_TO_HTTP.get(err.code(), (500, "api_error", "internal_error"))
    explicit, param = md.get(MD_HTTP_STATUS, ""), md.get(MD_ERROR_PARAM)
    if MD_ERROR_TYPE in md:
        status = int(explicit) if explicit.isdigit() else status
        type_, code, message = md[MD_ERROR_TYPE], md.get(MD_ERROR_CODE) or code, err.details() or ""
    else:
        # Not one of our own errors (a dead channel, a deadline): say what to do, not what broke inside.
        message = _GENERIC.get(status, err.details() or "Request failed.")
    headers = {}
    if MD_RETRY_AFTER in md:
        headers["Retry-After"] = str(max(1, round(float(md[MD_RETRY_AFTER]))))
    elif status in (429, 503):
        headers["Retry-After"] = "1"
    return status, error_body(message, type_, param, code), headers


def rpc_error_response(err: grpc.aio.AioRpcError, headers: dict) -> web.Response:
    status, body, extra = from_rpc_error(err)
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json",
                        headers={**headers, **extra})
