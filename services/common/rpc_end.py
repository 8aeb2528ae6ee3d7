"""Lets an answered server-streaming call end with its own status instead of cancelling it.

Why: after the final message the peer ends the call with OK a moment later. A client that cancels it
then (to be safe) turns every successful call into CANCELLED on both sides: an error span in every
trace of a successful agent chat, and a CANCELLED count in the metrics. A call still open after a short
bound is cancelled, so a peer that never ends cannot hold the caller.
"""
from __future__ import annotations

import asyncio

import grpc

END_TIMEOUT = 1.0


async def call_ended(call, timeout: float = END_TIMEOUT) -> None:
    """Waits (bounded) for a call whose final message has arrived to end by itself."""
    if call.done():
        return
    try:
        async with asyncio.timeout(timeout):
            await call.code()
    except TimeoutError:
        call.cancel()
    except grpc.aio.AioRpcError:
        pass  # it ended, with an error of its own: nothing to do
