"""The router's error table: whose fault an upstream failure is (classify, per vendor), and what the
client is told (to_gateway_error: gRPC status + HTTP status + OpenAI type/code + a cleaned message).

Why it matters: an upstream's verdict on the request (400, 404 model-not-found, 413, 422, context
length, content filter) is the same on every deployment and every retry, and says nothing about the
deployment's health. Retrying it and counting it against the shared breaker let two bad requests open
the breaker for everyone. So a verdict goes straight back to the client (only the group's context-window
or content-policy fallbacks may still serve it), and only the deployment's own faults (connect errors,
timeouts, 5xx, 401/403 on its key, a cut stream) count. 429 cools the one deployment down.

Self-hosted servers also deliver verdicts as 500s: llama.cpp's servers and vLLM answer HTTP 500 for a
grammar or JSON schema they cannot compile, or a prompt over the context, with the cause in the body.
`_VERDICT_IN_5XX` names those causes per vendor (the deployment's `vendor`), so only a 500 whose body
says "your request" is taken as a verdict; any other 500 stays a fault.
"""
from __future__ import annotations

import grpc

from services.common.errors import GatewayError
from services.router.error_text import clean
from services.router.providers.base import UpstreamError

RETRY = "retry"                    # the deployment's fault, transient: back off, try again (this or another)
AUTH = "auth"                      # 401/403: this deployment's credential is bad; open its breaker, move on
RATE_LIMITED = "rate_limited"      # 429: this deployment cools down for its Retry-After; others serve
CONTEXT_LENGTH = "context_length"  # verdict: prompt too long for this model: the group's context-window fallbacks
CONTENT_POLICY = "content_policy"  # verdict: refused by the provider's filter: the group's content-policy fallbacks
FATAL = "fatal"                    # verdict: the request itself is wrong (400/404/413/422): no attempt can succeed

VERDICTS = frozenset({CONTEXT_LENGTH, CONTENT_POLICY, FATAL})
"""Classes that are the upstream's answer to the request, not the deployment's health."""

_VERDICT_STATUSES = frozenset({400, 404, 405, 413, 415, 422})
_RETRYABLE = frozenset({0, 408, 409, 425, 500, 502, 503, 504, 529})

_CONTEXT_MARKERS = ("context_length_exceeded", "context length", "context window", "maximum context",
                    "prompt is too long", "too many tokens", "input is too long", "exceed_context_size",
                    "exceeds the available context size", "maximum model length", "context size")
_POLICY_MARKERS = ("content_policy", "content policy", "content_filter", "content management policy",
                   "safety system", "responsibleaipolicyviolation")
# The upstream's own error type/code that marks a verdict whatever the HTTP status says.
_VERDICT_CODES = frozenset({"invalid_request_error", "badrequesterror", "exceed_context_size_error",
                            "not_supported_error", "context_length_exceeded", "request_too_large",
                            "not_found_error"})
# Per vendor: what a 5xx body says when it is really about the request ("*" applies to every vendor).
_VERDICT_IN_5XX = {
    "*": _CONTEXT_MARKERS,
    "llamacpp": ("grammar", "json schema", "json_schema", "jsonschema", "unsupported param", "chat template",
                 "requested tokens", "n_probs", "invalid argument", "is not supported"),
    "vllm": ("guided", "xgrammar", "outlines", "json_schema", "json schema", "longer than the maximum",
             "is not supported", "badrequesterror"),
}
_VENDOR_ALIASES = {"llama.cpp": "llamacpp", "llama-cpp": "llamacpp", "llama_cpp": "llamacpp"}


def vendor_key(vendor: str) -> str:
    v = (vendor or "").lower()
    return _VENDOR_ALIASES.get(v, v)


def _names_request_cause(err: UpstreamError, vendor: str) -> bool:
    if err.code.lower() in _VERDICT_CODES:
        return True
    text = err.message.lower()
    markers = _VERDICT_IN_5XX["*"] + _VERDICT_IN_5XX.get(vendor_key(vendor), ())
    return any(m in text for m in markers)


def classify(err: UpstreamError, vendor: str = "") -> str:
    """The class of one failed attempt (see the module docstring); `vendor` is the deployment's."""
    if err.status in (401, 403):
        return AUTH
    if err.status == 429:
        return RATE_LIMITED
    verdict = (err.status in _VERDICT_STATUSES or err.kind in ("context_length", "content_policy")
               or (err.status >= 500 and _names_request_cause(err, vendor)))
    if verdict:
        text = err.message.lower()
        if err.kind == "context_length" or err.code.lower() in ("exceed_context_size_error", "context_length_exceeded") \
                or any(m in text for m in _CONTEXT_MARKERS):
            return CONTEXT_LENGTH
        if err.kind == "content_policy" or any(m in text for m in _POLICY_MARKERS):
            return CONTENT_POLICY
        return FATAL
    if err.status in _RETRYABLE or err.status >= 500:
        return RETRY
    return FATAL  # other 4xx: the upstream refused this request


def counts_against_breaker(cls: str, byok: bool) -> bool:
    """A deployment's own faults count; verdicts, 429 and a customer's own bad key (BYOK) do not."""
    return cls == RETRY or (cls == AUTH and not byok)


def breaker_kind(err: UpstreamError) -> str:
    """The error kind health counts: timeout, connection, http_5xx, auth, stream_broken, ..."""
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


def to_gateway_error(err: UpstreamError, vendor: str = "") -> GatewayError:
    """What the client sees: a verdict keeps the upstream's status class and its cleaned message; a
    fault says what failed (cleaned) and what to do."""
    s, cls, said = err.status, classify(err, vendor), clean(err.message)
    if cls == RATE_LIMITED:
        return GatewayError(grpc.StatusCode.RESOURCE_EXHAUSTED,
                            "Every upstream for this model is rate limiting; retry after the indicated delay.",
                            "rate_limit_error", "rate_limit_exceeded", 429, retry_after=err.retry_after or 1.0)
    if cls == CONTEXT_LENGTH:
        return GatewayError(grpc.StatusCode.INVALID_ARGUMENT, f"The request is too long for the model: {said}",
                            "invalid_request_error", "context_length_exceeded", 400, param="messages")
    if cls == CONTENT_POLICY:
        return GatewayError(grpc.StatusCode.INVALID_ARGUMENT, f"The upstream's content policy refused the request: "
                            f"{said}", "invalid_request_error", "content_policy_violation", 400)
    if cls == FATAL:
        if s == 404:
            return GatewayError(grpc.StatusCode.NOT_FOUND, f"The upstream does not know this model: {said}",
                                "invalid_request_error", "model_not_found", 404, param="model")
        status = s if 400 <= s < 500 else 400  # a 500 that names the request's fault is a 400 to the client
        return GatewayError(grpc.StatusCode.INVALID_ARGUMENT, f"The upstream rejected the request: {said}",
                            "invalid_request_error", "upstream_invalid_request", status)
    if cls == AUTH:
        return GatewayError(grpc.StatusCode.UNAVAILABLE,
                            "The upstream refused the credentials configured for it; the operator must fix the "
                            "deployment's API key. Other deployments of this model were tried.",
                            "upstream_error", "upstream_auth_failed", 502)
    if s == 408 or err.kind == "timeout":
        return GatewayError(grpc.StatusCode.DEADLINE_EXCEEDED,
                            f"The upstream model timed out ({said}); retry, or raise the request's timeout.",
                            "upstream_error", "upstream_timeout", 504)
    what = f"HTTP {s}: {said}" if s else said
    return GatewayError(grpc.StatusCode.UNAVAILABLE,
                        f"The upstream model failed ({what}); every deployment and fallback was tried. "
                        "Retry later; if it persists, report the request id.",
                        "upstream_error", "upstream_unavailable", 502)
