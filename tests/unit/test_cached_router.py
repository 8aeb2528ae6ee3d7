"""Who uses the response cache: the request's header, the key's metadata, the model list; `off` always wins."""
from __future__ import annotations

import pytest

from services.common.keystore import KeyRecord
from services.edge.auth import Principal
from services.edge.cache_config import CacheConfig
from services.edge.cached_router import ResponseCache
from services.common.env import ConfigError
from tokenyard.common.v1 import common_pb2
from tokenyard.router.v1 import router_pb2

ROUTER = object()


def bind(cfg: CacheConfig, headers: dict, model: str = "gpt-4o", key_metadata: dict | None = None):
    record = KeyRecord(key_id="k", workspace="ws", metadata=key_metadata or {})
    principal = Principal(common_pb2.Caller(key_id="k", workspace="ws"), record)
    return ResponseCache(cfg, store=None, meter=None).bind(headers, principal, router_pb2.ChatRequest(model=model),
                                                           ROUTER, {})


def test_nobody_asked_means_the_router_itself():
    assert bind(CacheConfig(), {}) is ROUTER


@pytest.mark.parametrize("cfg, headers, metadata", [
    (CacheConfig(), {"x-tokenyard-cache": "on"}, None),
    (CacheConfig(), {"x-tokenyard-cache": "refresh"}, None),
    (CacheConfig(), {}, {"cache": "on"}),
    (CacheConfig(models=("gpt-4o",)), {}, None),
], ids=["header", "refresh", "key", "model"])
def test_each_way_of_opting_in_gets_the_cache(cfg, headers, metadata):
    assert bind(cfg, headers, key_metadata=metadata) not in (ROUTER, None)


def test_off_wins_over_the_key_and_the_model_list():
    assert bind(CacheConfig(models=("gpt-4o",)), {"x-tokenyard-cache": "off"}, key_metadata={"cache": "on"}) is ROUTER


def test_the_model_list_names_only_its_models():
    assert bind(CacheConfig(models=("gpt-4o",)), {}, model="gpt-4o-mini") is ROUTER


@pytest.mark.parametrize("headers", [{"x-tokenyard-cache": "yes"}, {"x-tokenyard-cache-ttl": "0"},
                                     {"x-tokenyard-cache-ttl": "7200"}, {"x-tokenyard-cache-ttl": "nan"}])
def test_malformed_headers_are_a_400_naming_the_header(headers):
    status, error = bind(CacheConfig(ttl_seconds=3600), {"x-tokenyard-cache": "on", **headers})
    assert status == 400 and error["param"] in headers and error["code"] == "invalid_cache_header"


def test_the_config_section_refuses_what_cannot_work():
    with pytest.raises(ConfigError, match="max_entry_bytes"):
        CacheConfig.from_config({"max_entry_bytes": 10, "max_workspace_bytes": 5})
    with pytest.raises(ConfigError, match="cache.ttl"):
        CacheConfig.from_config({"ttl": 5})
