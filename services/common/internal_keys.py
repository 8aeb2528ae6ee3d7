"""Scoped keys for internal gRPC clients, and which scope each RPC needs.

The master key is the operator's; the mesh's services talk with their own service credential
(`mesh_security`). Other services of the operator's company that call the gRPC APIs directly get a key
minted for them with only the scopes they need, so a billing job that reads usage cannot start processes
on the runtime host:

    python -m services.common.internal_keys --name billing --scopes usage:read

prints the key once and the `internal_keys:` entry (name, scopes, SHA-256 of the key) for the config
file; the services keep only the digest. Removing the entry revokes the key.

| scope        | RPCs                                                                              |
|--------------|-----------------------------------------------------------------------------------|
| `chat`       | RouterService Chat, Complete, Embed, ListModels; EscalationService Complete, Classify; RuntimeService AgentChat |
| `usage:read` | MeterService GetUsage, GetUsageSummary, ListBudgets, GetTiers                      |
| `admin`      | every RPC (records usage, sets budgets, registers upstreams, manages and starts agents) |
"""
from __future__ import annotations

import argparse
import hashlib
import secrets
import sys

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.common.env import ConfigError

_R, _E, _M, _RT = ("/tokenyard.router.v1.RouterService/", "/tokenyard.router.v1.EscalationService/",
                   "/tokenyard.meter.v1.MeterService/", "/tokenyard.runtime.v1.RuntimeService/")
SCOPED_METHODS: dict[str, frozenset[str]] = {
    "chat": frozenset({_R + "Chat", _R + "Complete", _R + "Embed", _R + "ListModels", _E + "Complete",
                       _E + "Classify", _RT + "AgentChat"}),
    "usage:read": frozenset({_M + "GetUsage", _M + "GetUsageSummary", _M + "ListBudgets", _M + "GetTiers"}),
}
SCOPES = frozenset({*SCOPED_METHODS, "admin"})
PREFIX = "tyk-"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class InternalKey(BaseModel):
    """One `internal_keys:` entry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    """Who holds it (shown in refusals and logs, never the key)."""
    scopes: tuple[str, ...] = Field(min_length=1)
    """`chat`, `usage:read`, `admin`."""
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    """SHA-256 (hex) of the key; the key itself is never stored."""

    @field_validator("scopes")
    @classmethod
    def _known(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(v) - SCOPES)
        if unknown:
            raise ValueError(f"unknown scope {unknown[0]!r}; one of {', '.join(sorted(SCOPES))}")
        return v

    def allows(self, method: str) -> bool:
        return "admin" in self.scopes or any(method in SCOPED_METHODS.get(s, ()) for s in self.scopes)


def parse_internal_keys(raw: object) -> tuple[InternalKey, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError("internal_keys: must be a list of {name, scopes, sha256}")
    keys = []
    for i, item in enumerate(raw):
        try:
            keys.append(InternalKey.model_validate(item))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise ConfigError(f"internal_keys[{i}].{where}: {err['msg']}") from None
    return tuple(keys)


def mint(name: str, scopes: list[str], token=secrets.token_hex) -> tuple[str, InternalKey]:
    key = f"{PREFIX}{token(24)}"
    return key, InternalKey(name=name, scopes=tuple(scopes), sha256=digest(key))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Mint a scoped key for an internal gRPC client.")
    parser.add_argument("--name", required=True)
    parser.add_argument("--scopes", required=True, help="comma-separated: " + ", ".join(sorted(SCOPES)))
    args = parser.parse_args(argv)
    try:
        key, entry = mint(args.name, [s.strip() for s in args.scopes.split(",") if s.strip()])
    except ValidationError as exc:
        print(f"error: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    print(f"key (shown once; give it to {entry.name}): {key}")
    print("add to the config file:")
    print("internal_keys:")
    print(f"  - {{name: {entry.name}, scopes: [{', '.join(entry.scopes)}], sha256: {entry.sha256}}}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
