"""The `deployments:` section of the config file as pydantic models, resolved into `Deployment`s.

A deployment whose `base_url_env` variable is unset is off (it has nowhere to go), and so is one
with `api_key_required: true` whose `api_key_env` is unset (a cloud vendor that answers 401 without a
key), so real upstreams switch on by exporting their URL or key; each one switched off says so in the
log at start, naming the variable. A plain `api_key_env` is optional, as the README's add-a-server
example says: unset, the deployment runs without a key (a self-hosted vLLM or llama.cpp server needs
none), and a warning says so. Unknown fields are errors, and errors name the field
(`deployments[1].weight: ...`).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

import structlog
from pydantic import Field, field_validator, model_validator

from services.common import config_file
from services.common.config_models import Section, parse
from services.common.env import ConfigError
from services.common.pricing import FlatPrice
from services.router.config import COMPLETIONS_VENDORS, Deployment, ModelRoute, Timeouts

log = structlog.get_logger()
Name = Annotated[str, Field(min_length=1)]


class RouteSpec(Section):
    name: Name
    """Public name clients ask for; may end in `*` to serve a whole family (`fake-*`)."""
    upstream: str = ""
    """Name sent to the upstream; empty: the public name."""


class DeploymentSpec(Section):
    """One entry of `deployments:`, as written in the file."""

    name: Name
    provider: Literal["fake", "openai", "anthropic"]
    """Wire format."""
    models: list[Name | RouteSpec] = Field(min_length=1)
    base_url: str = ""
    base_url_env: str = ""
    api_key: str = Field(default="", repr=False)
    api_key_env: str = ""
    api_key_required: bool = False
    """True: the deployment stays off while `api_key_env` is unset (cloud vendors); false: it runs keyless."""
    apis: list[Literal["chat", "completions"]] | None = Field(default=None, min_length=1)
    """The OpenAI APIs it serves; default `[chat, completions]` for vendor vllm/llamacpp, else `[chat]`."""
    vendor: str = ""
    """Who bills the key, written by the operator (never guessed from `provider`)."""
    timeouts: Timeouts = Timeouts()
    max_connections: int = Field(default=256, gt=0)
    weight: float = Field(default=1.0, gt=0)
    max_concurrency: int = Field(default=0, ge=0)
    price: FlatPrice | None = None
    """$ per 1M tokens for everything this deployment serves: input, output (required), cached_input, cache_write."""
    tier: str = ""
    region: str = ""

    @field_validator("base_url")
    @classmethod
    def _scheme(cls, v: str) -> str:
        if v and not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _needs_url(self) -> "DeploymentSpec":
        if self.provider != "fake" and not (self.base_url or self.base_url_env):
            raise ValueError(f"base_url: required for provider {self.provider!r} (or base_url_env)")
        if self.api_key_required and not self.api_key_env:
            raise ValueError("api_key_required: needs api_key_env (the variable that switches it on)")
        if self.apis and "completions" in self.apis and self.provider != "openai":
            raise ValueError("apis: `completions` needs provider openai (the OpenAI wire format)")
        return self

    def served_apis(self) -> tuple[str, ...]:
        if self.apis:
            return tuple(dict.fromkeys(self.apis))
        vendor = self.vendor or self.provider
        return ("chat", "completions") if self.provider == "openai" and vendor in COMPLETIONS_VENDORS else ("chat",)

    def routes(self) -> tuple[ModelRoute, ...]:
        return tuple(ModelRoute(m, m) if isinstance(m, str) else ModelRoute(m.name, m.upstream or m.name)
                     for m in self.models)

    def unset_variable(self, env) -> str:
        """The `*_env` variable that is unset (the deployment is then off), else ""."""
        for var in (self.base_url_env, self.api_key_env if self.api_key_required else ""):
            if var and not env.get(var):
                return var
        return ""

    def resolve(self, env) -> Deployment:
        """The deployment with its secrets and URL read from `env` (every variable set)."""
        base_url = (env.get(self.base_url_env, "") if self.base_url_env else self.base_url).rstrip("/")
        if base_url and not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"{self.base_url_env}: must start with http:// or https:// (deployment {self.name})")
        return Deployment(
            name=self.name, provider=self.provider, models=self.routes(), base_url=base_url,
            api_key=(env.get(self.api_key_env, "") or self.api_key) if self.api_key_env else self.api_key,
            timeouts=self.timeouts, apis=self.served_apis(),
            max_connections=self.max_connections, vendor=self.vendor or self.provider, declared_vendor=self.vendor,
            weight=self.weight, max_concurrency=self.max_concurrency,
            price=self.price.from_(f"deployments.{self.name}.price") if self.price is not None else None, tier=self.tier,
            region=self.region)


class DeploymentsSection(Section):
    deployments: list[DeploymentSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> "DeploymentsSection":
        seen: set[str] = set()
        for i, d in enumerate(self.deployments):
            if d.name in seen:
                raise ValueError(f"deployments[{i}].name: duplicate name {d.name!r}")
            seen.add(d.name)
        return self


def specs(raw: dict) -> list[DeploymentSpec]:
    """Every deployment in the file, on or off (cross-references and prices are checked against all)."""
    if "deployments" not in raw:
        raise ConfigError("deployments: required, a non-empty list")
    return parse(DeploymentsSection, {"deployments": raw.get("deployments")}, "").deployments


def configured(raw: dict) -> tuple[Deployment, ...]:
    """Every deployment as configured, without reading the environment (URLs from `*_env` left empty):
    what the meter prices records and reservations against."""
    return tuple(s.resolve({}) for s in specs(raw))


def load_deployments(path: Path, env: os._Environ | dict, raw: dict | None = None) -> tuple[Deployment, ...]:
    raw = raw if raw is not None else config_file.load(path)
    result = []
    for spec in specs(raw):
        var = spec.unset_variable(env)
        if var:
            log.warning("deployment_off", deployment=spec.name, variable=var,
                        reason=f"{var} is unset; export it to switch the deployment on")
            continue
        if spec.api_key_env and not env.get(spec.api_key_env) and not spec.api_key:
            log.warning("deployment_without_key", deployment=spec.name, unset=spec.api_key_env)
        result.append(spec.resolve(env))
    if not result:
        raise ConfigError(f"{path}: deployments: none is enabled (each needs its api_key_env / base_url_env set)")
    return tuple(result)


def parse_deployment(where: str, item: object, env) -> Deployment | None:
    """One deployment mapping (tests and registered nodes build them this way); None when it is off."""
    spec = parse(DeploymentSpec, item, where)
    return None if spec.unset_variable(env) else spec.resolve(env)
