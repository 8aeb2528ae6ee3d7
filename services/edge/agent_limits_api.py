"""GET/PUT /api/v1/agents/{agent_id}/limits (master key): RPM/TPM shared by every key of one agent."""
from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.edge.errors import json_error
from services.edge.limits import AgentLimit, AgentLimitStore
from services.edge.middleware import require_master
from services.edge.translate import describe


class AgentLimitsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rpm: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    tpm: Annotated[int, Field(ge=0, le=10_000_000_000)] = 0


class AgentLimitsHandler:
    def __init__(self, store: AgentLimitStore) -> None:
        self._store = store

    async def get(self, request: web.Request) -> web.Response:
        if (denied := require_master(request)) is not None:
            return denied
        limit = await self._store.get(request.match_info["agent_id"])
        return web.json_response({"agent_id": request.match_info["agent_id"], "rpm": limit.rpm, "tpm": limit.tpm})

    async def put(self, request: web.Request) -> web.Response:
        if (denied := require_master(request)) is not None:
            return denied
        try:
            body = AgentLimitsBody.model_validate_json(await request.read())
        except ValidationError as exc:
            message, param, code = describe(exc)
            return json_error(400, message, param=param, code=code)
        await self._store.set(request.match_info["agent_id"], AgentLimit(body.rpm, body.tpm))
        return web.json_response({"agent_id": request.match_info["agent_id"], "rpm": body.rpm, "tpm": body.tpm})
