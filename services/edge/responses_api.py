"""`/v1/responses`: create (streamed or not), retrieve, delete, list input items.

Create resolves `previous_response_id` in the caller's workspace, then runs through ChatRelay like
every chat dialect (admission, limits, metering and traces apply unchanged) and stores the finished
response unless the client sent `store: false`.
"""
from __future__ import annotations

import orjson
import redis.exceptions
import structlog
from aiohttp import web

from services.edge.dialects.base import Invalid
from services.edge.dialects.openai_chat import openai_error
from services.edge.dialects.openai_responses import OpenAIResponses, parse_body
from services.edge.middleware import PRINCIPAL, REQUEST_ID, id_headers
from services.edge.relay import ChatRelay
from services.edge.responses_store import ResponseStore

log = structlog.get_logger()


def _not_found(response_id: str, headers: dict, param: str = "response_id") -> web.Response:
    return openai_error(404, {"message": f"Response with id '{response_id}' not found.", "type": "invalid_request_error",
                              "param": param, "code": "not_found"}, headers)


class ResponsesHandler:
    def __init__(self, relay: ChatRelay, store: ResponseStore, max_messages: int = 2048) -> None:
        self._relay = relay
        self._store = store
        self._max_messages = max_messages

    async def create(self, request: web.Request) -> web.StreamResponse:
        headers = id_headers(request)
        workspace = request[PRINCIPAL].caller.workspace
        try:
            body = parse_body(await request.read())
        except Invalid as exc:
            return openai_error(exc.status, {"message": exc.message, "type": "invalid_request_error",
                                             "param": exc.param, "code": exc.code}, headers)
        history: list[dict] = []
        if body.previous_response_id:
            stored = await self._store.get(workspace, body.previous_response_id)
            if stored is None:
                return _not_found(body.previous_response_id, headers, "previous_response_id")
            history = stored["conversation"]
        dialect = OpenAIResponses(body, history, max_messages=self._max_messages)
        resp = await self._relay.handle(request, dialect)
        result = dialect.result
        if result is not None and body.store is not False:
            conversation = history + dialect.input_items() + [i for i in result["output"]]
            try:
                if not await self._store.put(workspace, result, conversation):
                    log.warning("response_not_stored_too_large", request_id=request[REQUEST_ID],
                                response_id=result["id"])
            except (redis.exceptions.RedisError, TypeError):  # the answer is already out; a failed store is logged, not a failed request
                log.warning("response_store_failed", request_id=request[REQUEST_ID], response_id=result["id"])
        return resp

    async def retrieve(self, request: web.Request) -> web.Response:
        rid = request.match_info["response_id"]
        stored = await self._store.get(request[PRINCIPAL].caller.workspace, rid)
        headers = id_headers(request)
        if stored is None:
            return _not_found(rid, headers)
        return web.Response(body=orjson.dumps(stored["response"]), content_type="application/json", headers=headers)

    async def input_items(self, request: web.Request) -> web.Response:
        rid = request.match_info["response_id"]
        stored = await self._store.get(request[PRINCIPAL].caller.workspace, rid)
        headers = id_headers(request)
        if stored is None:
            return _not_found(rid, headers)
        output = len(stored["response"].get("output") or [])
        items = stored["conversation"][:len(stored["conversation"]) - output]
        data = [{"id": item.get("id") or f"item_{i}", **item} for i, item in enumerate(reversed(items))]
        body = {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None, "has_more": False}
        return web.Response(body=orjson.dumps(body), content_type="application/json", headers=headers)

    async def delete(self, request: web.Request) -> web.Response:
        rid = request.match_info["response_id"]
        headers = id_headers(request)
        if not await self._store.delete(request[PRINCIPAL].caller.workspace, rid):
            return _not_found(rid, headers)
        return web.Response(body=orjson.dumps({"id": rid, "object": "response.deleted", "deleted": True}),
                            content_type="application/json", headers=headers)
