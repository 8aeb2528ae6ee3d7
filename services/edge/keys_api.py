"""Admin API for virtual keys (master key only): create (token shown once), list, get, update, revoke."""
from __future__ import annotations

import time
from decimal import Decimal
from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.common.keystore import KeyStore
from services.edge.errors import json_error
from services.edge.middleware import require_master
from services.edge.translate import describe

_ID = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._\-]+$")]


class KeyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(max_length=200)] | None = None
    tier: Literal["", "economy", "standard", "premium"] | None = None
    models: Annotated[list[Annotated[str, Field(min_length=1, max_length=256)]], Field(max_length=1000)] | None = None
    rpm: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    tpm: Annotated[int, Field(ge=0, le=10_000_000_000)] | None = None
    budget_usd: Annotated[Decimal, Field(ge=0, le=1_000_000_000, decimal_places=6)] | None = None
    """0: nothing may be spent; null (or absent on create): unlimited; absent on PATCH: unchanged."""
    budget_period: Literal["day", "week", "month"] | None = None
    expires_at: Annotated[int, Field(ge=0, le=2**40)] | None = None
    """Unix seconds; 0 never expires."""
    metadata: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=512)]] | None = None


class KeyCreate(KeyUpdate):
    workspace: _ID
    agent_id: _ID | None = None
    expires_in_seconds: Annotated[int, Field(gt=0, le=10 * 365 * 86400)] | None = None


def _attrs(body: KeyUpdate) -> dict:
    data = body.model_dump(exclude_none=True, exclude={"workspace", "expires_in_seconds", "budget_usd"})
    if "budget_usd" in body.model_fields_set:
        data["budget_micros"] = None if body.budget_usd is None else int(body.budget_usd * 1_000_000)
    return data


class KeysHandler:
    def __init__(self, keys: KeyStore, clock=time.time) -> None:
        self._keys = keys
        self._clock = clock

    async def _body(self, request: web.Request, model: type[BaseModel]):
        try:
            return model.model_validate_json(await request.read())
        except ValidationError as exc:
            message, param, code = describe(exc)
            return json_error(400, message, param=param, code=code)

    async def create(self, request: web.Request) -> web.Response:
        if (denied := require_master(request)) is not None:
            return denied
        body = await self._body(request, KeyCreate)
        if isinstance(body, web.Response):
            return body
        attrs = _attrs(body)
        if body.expires_in_seconds:
            attrs["expires_at"] = int(self._clock()) + body.expires_in_seconds
        record, token = await self._keys.create(workspace=body.workspace, **attrs)
        return web.json_response({**record.public(), "key": token}, status=201)

    async def list(self, request: web.Request) -> web.Response:
        if (denied := require_master(request)) is not None:
            return denied
        records = await self._keys.list(request.query.get("workspace") or None)
        return web.json_response({"object": "list", "data": [r.public() for r in records]})

    async def get(self, request: web.Request) -> web.Response:
        if (denied := require_master(request)) is not None:
            return denied
        record = await self._keys.get(request.match_info["key_id"])
        if record is None:
            return json_error(404, "No such key.", param="key_id", code="key_not_found")
        return web.json_response(record.public())

    async def update(self, request: web.Request) -> web.Response:
        if (denied := require_master(request)) is not None:
            return denied
        body = await self._body(request, KeyUpdate)
        if isinstance(body, web.Response):
            return body
        record = await self._keys.update(request.match_info["key_id"], **_attrs(body))
        if record is None:
            return json_error(404, "No such key.", param="key_id", code="key_not_found")
        return web.json_response(record.public())

    async def revoke(self, request: web.Request) -> web.Response:
        if (denied := require_master(request)) is not None:
            return denied
        key_id = request.match_info["key_id"]
        if not await self._keys.revoke(key_id):
            return json_error(404, "No such key.", param="key_id", code="key_not_found")
        return web.json_response({"id": key_id, "object": "key", "deleted": True})
