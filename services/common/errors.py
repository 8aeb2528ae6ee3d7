"""The one error type that crosses gRPC boundaries, and how it rides on a gRPC status.

A service raises `GatewayError`; its servicer aborts with the gRPC status plus trailing metadata
that carries the OpenAI error `type`/`code` and the HTTP status the edge should answer with, so the
edge's error table needs no guessing from a bare status code.
"""
from __future__ import annotations

from dataclasses import dataclass

import grpc

# Trailing-metadata keys (lowercase, as gRPC requires).
MD_ERROR_TYPE = "ty-error-type"
MD_ERROR_CODE = "ty-error-code"
MD_HTTP_STATUS = "ty-http-status"
MD_RETRY_AFTER = "ty-retry-after"
MD_ERROR_PARAM = "ty-error-param"


@dataclass
class GatewayError(Exception):
    """A failure a client should see, with what it should do about it."""

    status: grpc.StatusCode
    message: str
    type: str = "api_error"
    code: str = ""
    http_status: int = 500
    param: str | None = None
    retry_after: float | None = None

    def __str__(self) -> str:
        return self.message

    def trailing_metadata(self) -> tuple[tuple[str, str], ...]:
        md = [(MD_ERROR_TYPE, self.type), (MD_ERROR_CODE, self.code), (MD_HTTP_STATUS, str(self.http_status))]
        if self.param:
            md.append((MD_ERROR_PARAM, self.param))
        if self.retry_after is not None:
            md.append((MD_RETRY_AFTER, f"{self.retry_after:.3f}"))
        return tuple(md)

    async def abort(self, context: grpc.aio.ServicerContext) -> None:
        """Ends the RPC with this error (raises, as `context.abort` does)."""
        context.set_trailing_metadata(self.trailing_metadata())
        await context.abort(self.status, self.message)


def not_found(message: str, code: str = "model_not_found", param: str | None = None) -> GatewayError:
    return GatewayError(grpc.StatusCode.NOT_FOUND, message, "invalid_request_error", code, 404, param)


def invalid(message: str, param: str | None = None, code: str = "invalid_request") -> GatewayError:
    return GatewayError(grpc.StatusCode.INVALID_ARGUMENT, message, "invalid_request_error", code, 400, param)
