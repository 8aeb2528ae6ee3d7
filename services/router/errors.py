"""The router's error table: how each upstream failure is handled (classify) and what the client is
told (to_gateway_error: gRPC status + HTTP status + OpenAI type/code).

Messages say what to do without leaking internals: no upstream URLs, keys or stack traces.
"""
from __future__ import annotations

import grpc

from services.common.errors import GatewayError
from services.router.providers.base import UpstreamError

# Upstream statuses worth another attempt (same or other deployment) before the first token.
RETRYABLE_STATUSES = frozenset({0, 408, 409, 425, 429, 500, 502, 503, 504, 529})

RETRY = "retry"                    # transient: back off, try again (this or another deployment)
AUTH = "auth"                      # 401/403: this deployment's credential is bad; open its breaker, move on
CONTEXT_LENGTH = "context_length"  # prompt too long for this model: the group's context-window fallbacks
CONTENT_POLICY = "content_policy"  # refused by the provider's filter: the group's content-policy fallbacks
FATAL = "fatal"                    # the request itself is wrong (400/404/422): no attempt can succeed

_CONTEXT_MARKERS = ("context_length_exceeded", "context length", "context window", "maximum context",
                    "prompt is too long", "too many tokens", "input is too long")
_POLICY_MARKERS = ("content_policy", "content policy", "content_filter", "content management policy",
                   "safety system", "responsibleaipolicyviolation")


def classify(err: UpstreamError) -> str:
    if err.status in (401, 403):
        return AUTH
    text = err.message.lower()
    if err.status in (400, 413, 422) or err.kind in ("context_length", "content_policy"):
        if err.kind == "context_length" or any(m in text for m in _CONTEXT_MARKERS):
            return CONTEXT_LENGTH
        if err.kind == "content_policy" or any(m in text for m in _POLICY_MARKERS):
            return CONTENT_POLICY
    if err.status in RETRYABLE_STATUSES:
        return RETRY
    return FATAL


def is_retryable(err: UpstreamError) -> bool:
    return err.status in RETRYABLE_STATUSES


def breaker_kind(err: UpstreamError) -> str:
    """The error kind health counts: timeout, connection, http_429, http_5xx, auth, stream_broken, ..."""
    if err.status in (401, 403):
        return "auth"
    if err.status >= 500:
        return "http_5xx"
    return err.kind


def no_deployment_available(retry_after: float | None) -> GatewayError:
    """Every deployment (and fallback) is cooling down or at capacity: 503 with when to come back."""
    return GatewayError(grpc.StatusCode.UNAVAILABLE,
                        "Every upstream for this model is temporarily unavailable; retry after the indicated delay.",
                        "service_unavailable", "upstreams_unavailable", 503,
                        retry_after=max(1.0, retry_after or 1.0))


def to_gateway_error(err: UpstreamError) -> GatewayError:
    s = err.status
    if s == 429:
        return GatewayError(grpc.StatusCode.RESOURCE_EXHAUSTED, "The upstream model is rate limited; retry later.",
                            "rate_limit_error", "rate_limit_exceeded", 429, retry_after=err.retry_after or 1.0)
    cls = classify(err)
    if cls == CONTEXT_LENGTH:
        return GatewayError(grpc.StatusCode.INVALID_ARGUMENT, f"The request is too long for the model: {err.message}",
                            "invalid_request_error", "context_length_exceeded", 400)
    if cls == CONTENT_POLICY:
        return GatewayError(grpc.StatusCode.INVALID_ARGUMENT, "The upstream's content policy refused the request.",
                            "invalid_request_error", "content_policy_violation", 400)
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
