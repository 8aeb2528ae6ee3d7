"""Which gateway failures are worth a retry and the fallback, and the error raised when both routes fail.

Only failures that say the gateway itself is unwell qualify: no connection, a timeout, a 5xx. A 4xx
(bad request, bad key, rate limit, budget) is the gateway working as meant: retrying or going around it
to a local model would hide a bug or dodge a limit, so it reaches the caller unchanged.
"""
from __future__ import annotations

import openai


def is_gateway_failure(exc: BaseException) -> bool:
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code >= 500
    return False


def is_stream_failure_before_first_token(exc: BaseException) -> bool:
    """A stream that broke (or carried the gateway's error event) before any token reached the caller
    is a failed call like a 5xx: nothing was shown, so another route may still answer it."""
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code >= 500
    return isinstance(exc, openai.APIError)


class FallbackFailedError(openai.OpenAIError):
    """The fallback could not answer a call the gateway could not (or, during the cooldown, was not asked
    to) answer. Both causes are kept; `gateway_error` is None when the gateway was not tried."""

    def __init__(self, gateway_error: BaseException | None, fallback_error: BaseException) -> None:
        self.gateway_error = gateway_error
        self.fallback_error = fallback_error
        gateway = (f"the gateway failed ({gateway_error})" if gateway_error is not None
                   else "the gateway is in its cooldown after a failure")
        super().__init__(f"Tokenyard: {gateway} and the fallback failed too ({fallback_error})")
