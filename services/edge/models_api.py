"""GET /v1/models and /v1/models/{id}: what the router can serve and this key may use, in OpenAI's shape."""
from __future__ import annotations

import grpc
from aiohttp import web

from services.edge.errors import json_error, rpc_error_response
from services.edge.middleware import PRINCIPAL, id_headers
from tokenyard.router.v1 import router_pb2, router_pb2_grpc


class ModelsHandler:
    def __init__(self, router: router_pb2_grpc.RouterServiceStub) -> None:
        self._router = router

    async def _models(self, request: web.Request) -> list[dict] | web.Response:
        try:
            listed = await self._router.ListModels(router_pb2.ListModelsRequest(), timeout=5)
        except grpc.aio.AioRpcError as err:
            return rpc_error_response(err, id_headers(request))
        principal = request[PRINCIPAL]
        return [{"id": m.id, "object": "model", "created": 0, "owned_by": m.owned_by or "tokenyard"}
                for m in listed.models if principal.sees(m.id)]

    async def list(self, request: web.Request) -> web.Response:
        models = await self._models(request)
        if isinstance(models, web.Response):
            return models
        return web.json_response({"object": "list", "data": models})

    async def retrieve(self, request: web.Request) -> web.Response:
        models = await self._models(request)
        if isinstance(models, web.Response):
            return models
        wanted = request.match_info["model"]
        for m in models:
            if m["id"] == wanted:
                return web.json_response(m)
        return json_error(404, f"The model `{wanted}` does not exist or you do not have access to it.",
                          param="model", code="model_not_found")
