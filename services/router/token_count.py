"""Input-token counts without a model call (the edge's `/v1/messages/count_tokens`).

An Anthropic upstream serving the model counts exactly (its own count_tokens endpoint, given the
client's native body); otherwise, or when that upstream cannot answer, the router's tokenizer
estimates. Counting must not fail for want of an upstream: agents call it constantly (Claude Code
before each turn and for `/context`) and replace a failed count with a billed completion.
"""
from __future__ import annotations

import structlog

from services.common.errors import not_found
from services.router.providers.base import UpstreamError
from services.router.tokens import TokenCounter
from services.router.upstreams import UpstreamBook
from tokenyard.router.v1 import router_pb2

log = structlog.get_logger()


class TokenCountRunner:
    def __init__(self, book: UpstreamBook, counter: TokenCounter) -> None:
        self._book = book
        self._counter = counter

    async def count(self, req: router_pb2.ChatRequest) -> router_pb2.CountChatTokensResponse:
        targets = self._book.registry.targets(req.model)
        if not targets:
            raise not_found(f"The model `{req.model}` does not exist or you do not have access to it.", param="model")
        for target in targets:
            counter = getattr(self._book.provider(target.name), "count_tokens", None)
            if counter is None or not target.deployment.api_key:
                continue
            try:
                exact = await counter(req, target.upstream_model)
            except UpstreamError as err:
                log.warning("token_count_upstream_failed", request_id=req.request_id, deployment=target.name,
                            status=err.status, error=err.message)
                continue
            if exact is not None:
                return router_pb2.CountChatTokensResponse(input_tokens=exact, exact=True, deployment=target.name)
        return router_pb2.CountChatTokensResponse(input_tokens=self._counter.prompt_tokens(req), exact=False)
