"""The one Tokenyard config file (YAML, path in TOKENYARD_CONFIG): each service reads its own sections.

| section       | read by | holds                                         |
|---------------|---------|-----------------------------------------------|
| `deployments` | router  | upstreams and the models they serve           |
| `pricing`     | meter, router | $ per 1M tokens per model               |
| `tiers`       | meter, edge   | managed tiers, quotas, overage policy   |
| `outbound`    | router, runtime | where tenant/caller-supplied URLs may point (`services.common.outbound`) |
| `request_limits` | router | prompt, held-answer and embeddings-input sizes (`services.router.request_limits`) |
| `internal_keys`  | every gRPC service | scoped keys for internal gRPC clients (`services.common.internal_keys`) |
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
