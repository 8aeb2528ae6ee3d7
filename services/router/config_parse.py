"""Parses and validates the `deployments:` section of the config file into `Deployment`s.

Switching: a deployment whose `base_url_env` variable is unset is off (it has nowhere to go), and so
is one with `api_key_required: true` whose `api_key_env` is unset (a cloud vendor that answers 401
without a key), so real upstreams switch on by exporting their URL or key. A plain `api_key_env` is
optional, as the README's add-a-server example says: unset, the deployment runs without a key (a
self-hosted vLLM or llama.cpp server needs none). Every deployment left off is logged with the
variable that would switch it on, never silently. Errors name the field (`deployments[1].weight: ...`).
"""
from __future__ import annotations

import os
from pathlib import Path

import structlog

from services.common import config_file
from services.common.env import ConfigError
from services.router.config import APIS, COMPLETIONS_VENDORS, PROVIDERS, Deployment, ModelRoute, Timeouts

log = structlog.get_logger()


def load_deployments(path: Path, env: os._Environ | dict, raw: dict | None = None) -> tuple[Deployment, ...]:
    raw = raw if raw is not None else config_file.load(path)
    if not isinstance(raw.get("deployments"), list) or not raw["deployments"]:
        raise ConfigError(f"{path}: deployments: must be a non-empty list")
    result, names = [], set()
    for i, item in enumerate(raw["deployments"]):
        dep = parse_deployment(f"deployments[{i}]", item, env)
        if dep is None:
            log.info("deployment_off", deployment=item.get("name"), switch_on_with=_switch(item, env))
            continue
        if dep.name in names:
            raise ConfigError(f"deployments[{i}].name: duplicate name {dep.name!r}")
        names.add(dep.name)
        result.append(dep)
    if not result:
        raise ConfigError(f"{path}: deployments: none is enabled (each needs its api_key_env / base_url_env set)")
    return tuple(result)


def parse_deployment(where: str, item: object, env) -> Deployment | None:
    """Returns None for a deployment whose *_env variable is unset: it is off until the user sets it."""
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: must be a mapping")
    name = _req_str(item, "name", where)
    provider = _req_str(item, "provider", where)
    if provider not in PROVIDERS:
        raise ConfigError(f"{where}.provider: must be one of {', '.join(PROVIDERS)}, got {provider!r}")
    base_url = item.get("base_url", "")
    if "base_url_env" in item:
        base_url = env.get(str(item["base_url_env"]), "")
        if not base_url:
            return None
    api_key = str(item.get("api_key", ""))
    required = item.get("api_key_required", False)
    if not isinstance(required, bool):
        raise ConfigError(f"{where}.api_key_required: must be true or false")
    if required and "api_key_env" not in item:
        raise ConfigError(f"{where}.api_key_required: needs api_key_env (the variable that switches it on)")
    if "api_key_env" in item:
        api_key = env.get(str(item["api_key_env"]), "") or api_key
        if not api_key and required:
            return None
        if not api_key:
            log.warning("deployment_without_key", deployment=name, unset=str(item["api_key_env"]))
    if provider != "fake" and not base_url:
        raise ConfigError(f"{where}.base_url: required for provider {provider!r}")
    if base_url and not str(base_url).startswith(("http://", "https://")):
        raise ConfigError(f"{where}.base_url: must start with http:// or https://")
    price = item.get("price") or {}
    if not isinstance(price, dict):
        raise ConfigError(f"{where}.price: must be a mapping with `input` and `output` (USD per 1M tokens)")
    vendor = _opt_str(item, "vendor", where) or provider
    return Deployment(
        apis=_parse_apis(f"{where}.apis", item.get("apis"), vendor, provider),
        name=name, provider=provider, models=_parse_models(f"{where}.models", item.get("models")),
        base_url=str(base_url).rstrip("/"), api_key=api_key, timeouts=_parse_timeouts(f"{where}.timeouts", item),
        max_connections=_positive_int(item, "max_connections", where, 256),
        vendor=vendor,
        weight=_number(item, "weight", where, 1.0, positive=True),
        max_concurrency=_non_negative_int(item, "max_concurrency", where),
        price_in=_number(price, "input", f"{where}.price", 0.0),
        price_out=_number(price, "output", f"{where}.price", 0.0),
        tier=_opt_str(item, "tier", where), region=_opt_str(item, "region", where),
    )


def _parse_apis(where: str, raw: object, vendor: str, provider: str) -> tuple[str, ...]:
    if raw is None:
        return ("chat", "completions") if provider == "openai" and vendor in COMPLETIONS_VENDORS else ("chat",)
    if not isinstance(raw, list) or not raw or any(a not in APIS for a in raw):
        raise ConfigError(f"{where}: must be a non-empty list of {', '.join(APIS)}")
    if "completions" in raw and provider != "openai":
        raise ConfigError(f"{where}: `completions` needs provider openai (the OpenAI wire format)")
    return tuple(dict.fromkeys(raw))


def _switch(item: dict, env) -> str:
    """The unset variable that keeps a deployment off."""
    for key in ("base_url_env", "api_key_env"):
        if key in item and not env.get(str(item[key]), ""):
            return str(item[key])
    return ""


def _parse_models(where: str, models: object) -> tuple[ModelRoute, ...]:
    if not isinstance(models, list) or not models:
        raise ConfigError(f"{where}: must be a non-empty list of model names")
    routes = []
    for j, m in enumerate(models):
        if isinstance(m, str) and m:
            routes.append(ModelRoute(m, m))
        elif isinstance(m, dict) and isinstance(m.get("name"), str) and m["name"]:
            routes.append(ModelRoute(m["name"], str(m.get("upstream") or m["name"])))
        else:
            raise ConfigError(f"{where}[{j}]: must be a name or a mapping with `name` (and optional `upstream`)")
    return tuple(routes)


def _parse_timeouts(where: str, item: dict) -> Timeouts:
    raw = item.get("timeouts") or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a mapping")
    values = {}
    for key in ("connect", "first_token", "total", "idle"):
        if key in raw:
            values[key] = _number(raw, key, where, 0.0, positive=True)
    return Timeouts(**values)


def _req_str(item: dict, key: str, where: str) -> str:
    v = item.get(key)
    if not isinstance(v, str) or not v:
        raise ConfigError(f"{where}.{key}: required, a non-empty string")
    return v


def _opt_str(item: dict, key: str, where: str) -> str:
    v = item.get(key, "")
    if not isinstance(v, str):
        raise ConfigError(f"{where}.{key}: must be a string")
    return v


def _number(item: dict, key: str, where: str, default: float, positive: bool = False) -> float:
    v = item.get(key, default)
    if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0 or (positive and v == 0):
        raise ConfigError(f"{where}.{key}: must be a {'positive' if positive else 'non-negative'} number")
    return float(v)


def _positive_int(item: dict, key: str, where: str, default: int) -> int:
    v = item.get(key, default)
    if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
        raise ConfigError(f"{where}.{key}: must be a positive integer")
    return v


def _non_negative_int(item: dict, key: str, where: str) -> int:
    v = item.get(key, 0)
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise ConfigError(f"{where}.{key}: must be a non-negative integer")
    return v
