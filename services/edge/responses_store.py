"""Stored responses (`store: true`), for `previous_response_id`, `GET` and `DELETE /v1/responses/{id}`.

One Redis key per response, under its workspace (`ty:resp:{workspace}:{id}`), so a key of another
workspace cannot read, continue or delete it; each expires after `ttl` seconds (Redis holds bounded,
hot state only). The record keeps the response and every item of the conversation up to it, so a
continuation needs one read however long the chain.
"""
from __future__ import annotations

import orjson


class ResponseStore:
    def __init__(self, redis, ttl_seconds: int, max_bytes: int = 32 * 1024 * 1024) -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._max_bytes = max_bytes
        """A conversation past this size is not stored (a long chain would grow one record without bound)."""

    @staticmethod
    def _key(workspace: str, response_id: str) -> str:
        return f"ty:resp:{{{workspace}}}:{response_id}"

    async def put(self, workspace: str, response: dict, conversation: list[dict]) -> bool:
        """`conversation`: the input items of the whole chain, then this response's output. False when
        the record is too large to keep."""
        record = orjson.dumps({"response": response, "conversation": conversation})
        if len(record) > self._max_bytes:
            return False
        await self._redis.set(self._key(workspace, response["id"]), record, ex=self._ttl)
        return True

    async def get(self, workspace: str, response_id: str) -> dict | None:
        raw = await self._redis.get(self._key(workspace, response_id))
        return orjson.loads(raw) if raw else None

    async def delete(self, workspace: str, response_id: str) -> bool:
        return bool(await self._redis.delete(self._key(workspace, response_id)))
