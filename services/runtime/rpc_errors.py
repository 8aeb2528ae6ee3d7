"""The runtime's one error table: domain failures -> gRPC status (with the edge's HTTP mapping).

Handlers raise GatewayError; these wrappers abort the RPC with it. Redis being down is UNAVAILABLE
(retry), a peer's gRPC error is passed through with its status and error metadata, and anything
else is logged with its stack and reported as INTERNAL without details.
"""
from __future__ import annotations

import functools

import grpc
from services.common import redis_conn
import structlog

from services.common.errors import GatewayError

log = structlog.get_logger()
_REDIS_DOWN = redis_conn.UNAVAILABLE


def _translate(exc: BaseException, method: str) -> GatewayError:
    if isinstance(exc, GatewayError):
        return exc
    if isinstance(exc, _REDIS_DOWN):
        log.warning("runtime_redis_unavailable", method=method, error=str(exc))
        return GatewayError(grpc.StatusCode.UNAVAILABLE, "The runtime's store is unavailable; retry shortly.",
                            "service_unavailable", "store_unavailable", 503, retry_after=1.0)
    log.exception("runtime_internal_error", method=method)
    return GatewayError(grpc.StatusCode.INTERNAL, "Internal error in the agent runtime.", "api_error",
                        "internal_error", 500)


async def _abort_with(exc: BaseException, context: grpc.aio.ServicerContext, method: str) -> None:
    if isinstance(exc, grpc.aio.AioRpcError):  # a peer's own error (e.g. the router's 400): pass it on
        context.set_trailing_metadata(tuple((k, v) for k, v in (exc.trailing_metadata() or ()) if k.startswith("ty-")))
        await context.abort(exc.code(), exc.details() or "")
    await _translate(exc, method).abort(context)


def unary(fn):
    @functools.wraps(fn)
    async def wrapper(self, request, context):
        try:
            return await fn(self, request, context)
        except (grpc.aio.AbortError, GeneratorExit):
            raise
        except Exception as exc:  # noqa: BLE001 - every failure leaves as a status, never a stack trace
            await _abort_with(exc, context, fn.__name__)
    return wrapper


def streaming(fn):
    @functools.wraps(fn)
    async def wrapper(self, request, context):
        try:
            async for item in fn(self, request, context):
                yield item
        except (grpc.aio.AbortError, GeneratorExit):
            raise
        except Exception as exc:  # noqa: BLE001
            await _abort_with(exc, context, fn.__name__)
    return wrapper
