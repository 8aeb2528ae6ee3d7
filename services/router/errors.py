"""The router's error table: upstream failures -> what the client is told (gRPC status + HTTP status).

Messages say what to do without leaking internals: no upstream URLs, keys or stack traces.
"""
from __future__ import annotations

import grpc

from services.common.errors import GatewayError
from services.router.providers.base import UpstreamError

# Upstream statuses worth another attempt (same or other deployment) before the first token.
RETRYABLE_STATUSES = frozenset({0, 408, 409, 425, 429, 500, 502, 503, 504, 529})


def is_retryable(err: UpstreamError) -> bool:
    return err.status in RETRYABLE_STATUSES


def to_gateway_error(err: UpstreamError) -> GatewayError:
    s = err.status
    if s == 429:
        return GatewayError(grpc.StatusCode.RESOURCE_EXHAUSTED, "The upstream model is rate limited; retry later.",
                            "rate_limit_error", "rate_limit_exceeded", 429, retry_after=err.retry_after)
    if s in (400, 413, 422):
        return GatewayError(grpc.StatusCode.INVALID_ARGUMENT, f"The upstream rejected the request: {err.message}",
                            "invalid_request_error", "upstream_invalid_request", 400)
    if s == 404:
        return GatewayError(grpc.StatusCode.NOT_FOUND, "The upstream does not know this model.",
                            "invalid_request_error", "model_not_found", 404)
    if s in (401, 403):
        return GatewayError(grpc.StatusCode.UNAVAILABLE, "The upstream rejected the gateway's credentials.",
                            "upstream_error", "upstream_auth_failed", 502)
    if s == 408 or err.kind == "timeout":
        return GatewayError(grpc.StatusCode.DEADLINE_EXCEEDED, "The upstream model timed out.",
                            "upstream_error", "upstream_timeout", 504)
    return GatewayError(grpc.StatusCode.UNAVAILABLE, "The upstream model failed; retry the request.",
                        "upstream_error", "upstream_unavailable", 502)
