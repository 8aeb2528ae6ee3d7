"""Router configuration: the deployments file (YAML, path in TOKENYARD_CONFIG) and process settings.

Validated at start; every error names the field (`deployments[1].base_url: ...`) so a typo is a
one-line fix, not a stack trace.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from services.common import config_file
from services.common.env import ConfigError, env_float, env_int, env_str

PROVIDERS = ("fake", "openai")


@dataclass(frozen=True)
class ModelRoute:
    """One public model name a deployment serves."""

    name: str
    """Public name clients ask for; may end in `*` to serve a whole family (`fake-*`)."""
    upstream: str
    """Name sent to the upstream (same as `name` unless renamed; for patterns, the client's name)."""


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    """Seconds to open a TCP/TLS connection to the upstream."""
    first_token: float = 60.0
    """Seconds from sending the request to the first streamed bytes."""
    total: float = 600.0
    """Seconds for the whole upstream call."""


@dataclass(frozen=True)
class Deployment:
    """An upstream endpoint and the models it serves."""

    name: str
    provider: str
    """Wire format: `openai` (OpenAI and every OpenAI-compatible server) or `fake` (built in)."""
    models: tuple[ModelRoute, ...]
    base_url: str = ""
    api_key: str = field(default="", repr=False)
    """Resolved secret; never logged (repr=False)."""
    timeouts: Timeouts = Timeouts()
    max_connections: int = 256
    """Pooled keep-alive connections to this upstream."""


@dataclass(frozen=True)
class RouterConfig:
    deployments: tuple[Deployment, ...]
    listen: str = "127.0.0.1:50051"
    meter_addr: str = "127.0.0.1:50052"
    shutdown_grace: float = 20.0
    """Seconds in-flight streams get to finish after SIGTERM."""

    @classmethod
    def from_env(cls) -> "RouterConfig":
        path = config_file.config_path()
        return cls(
            deployments=load_deployments(path, os.environ),
            # TOKENYARD_GRPC_HOST=0.0.0.0 in containers, where peers reach us from other hosts.
            listen=f"{env_str('TOKENYARD_GRPC_HOST', '127.0.0.1')}:{env_int('TOKENYARD_ROUTER_PORT', 50051)}",
            meter_addr=env_str("TOKENYARD_METER_ADDR", "127.0.0.1:50052"),
            shutdown_grace=env_float("TOKENYARD_SHUTDOWN_GRACE", 20.0),
        )


def load_deployments(path: Path, env: os._Environ | dict) -> tuple[Deployment, ...]:
    raw = config_file.load(path)
    if not isinstance(raw.get("deployments"), list) or not raw["deployments"]:
        raise ConfigError(f"{path}: deployments: must be a non-empty list")
    result, names = [], set()
    for i, item in enumerate(raw["deployments"]):
        dep = _parse_deployment(f"deployments[{i}]", item, env)
        if dep is None:
            continue
        if dep.name in names:
            raise ConfigError(f"deployments[{i}].name: duplicate name {dep.name!r}")
        names.add(dep.name)
        result.append(dep)
    if not result:
        raise ConfigError(f"{path}: deployments: none is enabled (each needs its api_key_env / base_url_env set)")
    return tuple(result)


def _parse_deployment(where: str, item: object, env) -> Deployment | None:
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
    if "api_key_env" in item:
        api_key = env.get(str(item["api_key_env"]), "")
        if not api_key:
            return None
    if provider != "fake" and not base_url:
        raise ConfigError(f"{where}.base_url: required for provider {provider!r}")
    if base_url and not str(base_url).startswith(("http://", "https://")):
        raise ConfigError(f"{where}.base_url: must start with http:// or https://")
    return Deployment(
        name=name, provider=provider, models=_parse_models(f"{where}.models", item.get("models")),
        base_url=str(base_url).rstrip("/"), api_key=api_key, timeouts=_parse_timeouts(f"{where}.timeouts", item),
        max_connections=_positive_int(item, "max_connections", where, 256),
    )


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
    for key in ("connect", "first_token", "total"):
        if key in raw:
            v = raw[key]
            if not isinstance(v, (int, float)) or isinstance(v, bool) or v <= 0:
                raise ConfigError(f"{where}.{key}: must be a positive number of seconds")
            values[key] = float(v)
    return Timeouts(**values)


def _req_str(item: dict, key: str, where: str) -> str:
    v = item.get(key)
    if not isinstance(v, str) or not v:
        raise ConfigError(f"{where}.{key}: required, a non-empty string")
    return v


def _positive_int(item: dict, key: str, where: str, default: int) -> int:
    v = item.get(key, default)
    if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
        raise ConfigError(f"{where}.{key}: must be a positive integer")
    return v
