"""Router configuration: deployments and routing policy from the config file (YAML, path in
TOKENYARD_CONFIG) plus process settings from the environment.

Validated at start by pydantic models that reject unknown fields; every error names the field
(`deployments[1].base_url: ...`) so a typo is a one-line fix, not a stack trace, and references between
sections are checked (services.common.config_refs). Parsing lives in `config_parse` (deployments) and
`policy` (routing).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from pydantic import Field

from services.common import config_file, config_refs, redis_conn
from services.common.vendor_prices import VendorPrices
from services.common.config_models import Section
from services.meter.tiers import TierBook  # the tiers section's one parser (shared config file)
from services.common.pricing import FlatPrice, PriceBook
from services.common.env import env_float, env_int, env_str
from services.common.mesh_security import MeshSecurity
from services.common.outbound import OutboundPolicy
from services.common.model_labels import ModelLabels
from services.router.escalation.config import EscalationConfig
from services.router.policy import RoutingPolicy, parse_routing
from services.router.request_limits import RequestLimits

PROVIDERS = ("fake", "openai", "anthropic")
APIS = ("chat", "completions")
COMPLETIONS_VENDORS = ("vllm", "llamacpp", "llama.cpp")
"""Vendors whose servers serve OpenAI's legacy completions API next to chat (the default of `apis`)."""


@dataclass(frozen=True)
class ModelRoute:
    """One public model name a deployment serves."""

    name: str
    """Public name clients ask for; may end in `*` to serve a whole family (`fake-*`)."""
    upstream: str
    """Name sent to the upstream (same as `name` unless renamed; for patterns, the client's name)."""


class Timeouts(Section):
    connect: float = Field(default=5.0, gt=0)
    """Seconds to open a TCP/TLS connection to the upstream."""
    first_token: float = Field(default=60.0, gt=0)
    """Seconds from sending the request to the first streamed output; past it the attempt fails over."""
    total: float = Field(default=600.0, gt=0)
    """Seconds for the whole upstream call."""
    idle: float = Field(default=60.0, gt=0)
    """Seconds a stream may go silent after its first output; past it the stream ends with an error
    (a stalled upstream would otherwise hold the client until `total`)."""


@dataclass(frozen=True)
class Deployment:
    """An upstream endpoint and the models it serves."""

    name: str
    provider: str
    """Wire format: `openai` (OpenAI and every OpenAI-compatible server), `anthropic`, or `fake` (built in)."""
    models: tuple[ModelRoute, ...]
    base_url: str = ""
    api_key: str = field(default="", repr=False)
    """Resolved secret; never logged (repr=False)."""
    timeouts: Timeouts = Timeouts()
    max_connections: int = 256
    """Pooled keep-alive connections to this upstream."""
    vendor: str = ""
    """Who bills the key (`openai`, `minimax`, `anthropic`...): provider default chains are keyed by it.
    Defaults to `provider`."""
    declared_vendor: str = ""
    """The `vendor:` the operator wrote, never guessed from the wire format ("" when not given): what a
    BYOK key may be matched against, and whose published prices (genai-prices) apply."""
    weight: float = 1.0
    """Share of traffic under the `weighted` strategy; divides the score under `p2c`."""
    max_concurrency: int = 0
    """In-flight requests this router replica sends at most (0: unbounded); a full deployment is skipped."""
    price: FlatPrice | None = None
    """The deployment's own `price:` (overrides the vendor's published price; see services.common.pricing)."""
    tier: str = ""
    """Free-form label (e.g. `premium`, `economy`), shown in health."""
    region: str = ""
    source: str = "static"
    """`static` (config file), `registered` (a self-registered node) or `byok` (a customer's base URL)."""
    apis: tuple[str, ...] = ("chat",)
    """The OpenAI APIs the deployment serves: `chat`, and `completions` (vLLM, llama.cpp, OpenAI's
    completion models), where `/v1/completions` goes as it is instead of being rewritten as chat."""

    @property
    def byok_vendor(self) -> str:
        """The vendor whose customer keys this deployment may receive: empty unless the operator wrote
        `vendor:` on a static deployment (never for an inferred vendor or a registered node). The built-in
        fake provider is vendor `fake` (a key given to it never leaves the process)."""
        if self.provider == "fake" and self.source == "static":
            return self.vendor
        return self.declared_vendor if self.source == "static" else ""

    def serves(self, model: str) -> str | None:
        """The upstream name for `model` when this deployment serves it, else None."""
        for route in self.models:
            if route.name == model:
                return route.upstream
            if route.name.endswith("*") and model.startswith(route.name[:-1]):
                return model
        return None


@dataclass(frozen=True)
class RouterConfig:
    deployments: tuple[Deployment, ...]
    routing: RoutingPolicy = RoutingPolicy()
    listen: str = "127.0.0.1:50051"
    meter_addr: str = "127.0.0.1:50052"
    prices: PriceBook = PriceBook()
    """The `pricing:` section (shared with the meter), for `cost_micros` in final messages."""
    redis_url: str = ""
    """Shared breaker/health state and the upstream registry; empty: local state only (degraded)."""
    shutdown_grace: float = 20.0
    """Seconds in-flight streams get to finish after SIGTERM."""
    escalation: EscalationConfig = field(default_factory=lambda: EscalationConfig.from_config(None))
    """The `tiers_escalation:` section: cost-first tiers, gates, review queue, learning (issue 9)."""
    security: MeshSecurity = field(default_factory=MeshSecurity)
    """The master key every gRPC call carries and is checked for, and TLS (services.common.mesh_security)."""
    tier_models: dict[str, str] = field(default_factory=dict)
    """`tier/<name>` -> the tier's model, from the meter's `tiers:` section. The edge resolves tiers through
    the meter's Admit (quota, overage policy); this alias serves callers that reach the router directly,
    such as the runtime for an agent that names a tier and no model."""
    limits: RequestLimits = field(default_factory=RequestLimits)
    outbound: OutboundPolicy = field(default_factory=OutboundPolicy)
    model_labels: ModelLabels | None = None
    """The model names metrics may use as labels (the config file's exact names; others are `other`)."""
    """The `outbound:` section: where BYOK base URLs and registered nodes may point (services.common.outbound)."""
    """The `request_limits:` section: the prompt and held-answer sizes one request may reach."""

    @classmethod
    def from_env(cls) -> "RouterConfig":
        from services.router.config_parse import configured  # config_parse imports this module

        path = config_file.config_path()
        raw = config_file.load(path)
        deployments = load_deployments(path, os.environ, raw)
        routing = parse_routing(raw.get("routing"))
        escalation = EscalationConfig.from_config(raw.get("tiers_escalation"))
        every = configured(raw)
        # Defaults of absent sections are not the operator's references: only what the file says is checked.
        config_refs.check(every, routing, raw.get("pricing"), raw.get("tiers"),
                          escalation if raw.get("tiers_escalation") is not None else None)
        return cls(
            deployments=deployments,
            routing=routing,
            prices=PriceBook.from_config(raw.get("pricing"), deployments, VendorPrices()),
            # TOKENYARD_GRPC_HOST=0.0.0.0 in containers, where peers reach us from other hosts.
            listen=f"{env_str('TOKENYARD_GRPC_HOST', '127.0.0.1')}:{env_int('TOKENYARD_ROUTER_PORT', 50051)}",
            meter_addr=env_str("TOKENYARD_METER_ADDR", "127.0.0.1:50052"),
            redis_url=redis_conn.cluster_switch(os.environ.get("REDIS_URL", "")),
            shutdown_grace=env_float("TOKENYARD_SHUTDOWN_GRACE", 20.0),
            escalation=escalation,
            tier_models={f"tier/{t.name}": t.model for t in TierBook.from_config(raw.get("tiers")).tiers},
            security=MeshSecurity.from_env(),
            limits=RequestLimits.from_config(raw.get("request_limits")),
            outbound=OutboundPolicy.from_config(raw.get("outbound"), os.environ),
            model_labels=ModelLabels.from_config(raw),
        )


def load_deployments(path, env, raw: dict | None = None) -> tuple[Deployment, ...]:
    """The `deployments:` section, validated (parsing lives in `config_parse`, which imports this module)."""
    from services.router.config_parse import load_deployments as parse

    return parse(path, env, raw)
