"""The one Tokenyard config file (YAML, path in TOKENYARD_CONFIG): each service reads its own sections.

| section       | read by | holds                                         |
|---------------|---------|-----------------------------------------------|
| `deployments` | router (meter: their prices) | upstreams and the models they serve |
| `routing`     | router        | retries, breakers, hedging, groups      |
| `pricing`     | meter, router | overrides of genai-prices, $ per 1M tokens |
| `tiers`       | meter, router | managed tiers, quotas, overage policy   |
| `tiers_escalation` | router   | cost-first tier escalation              |
| `outbound`    | router, runtime | where tenant/caller-supplied URLs may point (`services.common.outbound`) |
| `request_limits` | router | prompt, held-answer and embeddings-input sizes (`services.router.request_limits`) |
| `internal_keys`  | every gRPC service | scoped keys for internal gRPC clients (`services.common.internal_keys`) |
| `cache`       | edge          | the exact-match response cache          |

Each section is a pydantic model (services.common.config_models): unknown fields are errors.
"""
from __future__ import annotations

import os
from pathlib import Path

import yaml

from services.common.env import ConfigError

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "config" / "tokenyard.yaml"


def config_path(env=os.environ) -> Path:
    return Path(env.get("TOKENYARD_CONFIG") or DEFAULT_PATH)


def load(path: Path | None = None) -> dict:
    """The parsed file as a mapping; errors name the file."""
    path = path or config_path()
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"TOKENYARD_CONFIG: no such file {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: must be a mapping with sections such as `deployments:`")
    return raw
