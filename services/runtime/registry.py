"""The agent registry in Redis, with customer secrets sealed apart from the public record.

`ty:agent:<id>` holds the Agent proto with every secret cleared (`pb`), and the sealed BYOK key
(`llm_key`) and remote-agent token (`remote_token`) in their own fields, so no code path that
returns or logs an agent can carry a secret: secrets leave this module only as a ProviderCredential
or a bearer token for the one call that needs them.
"""
from __future__ import annotations

import re
import secrets
import time

import grpc
import redis.asyncio as redis

from services.common.errors import GatewayError, invalid, not_found
from services.common.outbound import OutboundPolicy
from services.runtime.crypto import SecretBox, SecretsUnavailable
from tokenyard.common.v1 import common_pb2
from tokenyard.runtime.v1 import runtime_pb2

AGENT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_INDEX = "ty:agents"
_MUTABLE = ("name", "description", "system_prompt", "model", "tier", "tools", "fallback_agents", "kind",
            "process", "remote", "llm", "workspace")


def _key(agent_id: str) -> str:
    return f"ty:agent:{agent_id}"


def check_id(agent_id: str) -> str:
    if not AGENT_ID.match(agent_id or ""):
        raise invalid("Agent ids use 1-64 lowercase letters, digits, '-' or '_'.", param="id", code="invalid_agent_id")
    return agent_id


def secrets_error(exc: SecretsUnavailable) -> GatewayError:
    return GatewayError(grpc.StatusCode.FAILED_PRECONDITION, f"Cannot store or use this secret: {exc}.",
                        "invalid_request_error", "secrets_unavailable", 400)


def _validate(agent: runtime_pb2.Agent) -> None:
    if agent.id in agent.fallback_agents:
        raise invalid("An agent cannot be its own fallback.", param="fallback_agents")
    for other in agent.fallback_agents:
        check_id(other)
    if agent.remote.host or agent.remote.port:
        agent.kind = runtime_pb2.AGENT_KIND_REMOTE
    if agent.kind == runtime_pb2.AGENT_KIND_UNSPECIFIED:
        agent.kind = runtime_pb2.AGENT_KIND_PROCESS
    if agent.kind == runtime_pb2.AGENT_KIND_REMOTE:
        r = agent.remote
        if not r.host or not 0 < r.port < 65536:
            raise invalid("A remote agent needs `remote.host` and `remote.port` (1-65535).", param="remote")
        if r.protocol not in ("", "http", "https"):
            raise invalid("`remote.protocol` must be http or https.", param="remote.protocol")
        if r.timeout_seconds < 0 or r.max_retries < 0:
            raise invalid("`remote.timeout_seconds` and `remote.max_retries` cannot be negative.", param="remote")
    if agent.process.restart.backoff_multiplier and agent.process.restart.backoff_multiplier < 1:
        raise invalid("`process.restart.backoff_multiplier` must be at least 1.", param="process.restart")


class AgentRegistry:
    def __init__(self, client: redis.Redis, box: SecretBox, clock=time.time,
                 outbound: OutboundPolicy | None = None) -> None:
        self._redis = client
        self._box = box
        self._clock = clock
        self._outbound = outbound or OutboundPolicy()
        """Where an agent's BYOK base URL and a remote agent's host may point (services.common.outbound)."""

    async def _check_outbound(self, agent: runtime_pb2.Agent) -> None:
        """400 naming the field when an address the tenant gave points into the operator's network."""
        if agent.llm.base_url:
            await self._outbound.check_url(agent.llm.base_url, "llm.base_url")
        if agent.kind == runtime_pb2.AGENT_KIND_REMOTE:
            await self._outbound.check_host(agent.remote.host, agent.remote.port, "remote.host")

    def _seal(self, plaintext: str, context: str) -> str:
        try:
            return self._box.seal(plaintext, context)
        except SecretsUnavailable as exc:
            raise secrets_error(exc) from None

    async def create(self, agent: runtime_pb2.Agent) -> runtime_pb2.Agent:
        agent = runtime_pb2.Agent.FromString(agent.SerializeToString())
        agent.id = check_id(agent.id or "agt-" + secrets.token_hex(6))
        _validate(agent)
        await self._check_outbound(agent)
        now = int(self._clock() * 1000)
        agent.created_at_ms = agent.updated_at_ms = now
        fields = self._split_secrets(agent, {})
        # Index first (another slot on a Cluster): a crash before the record leaves an id `list` skips,
        # never an agent that no listing shows.
        await self._redis.sadd(_INDEX, agent.id)
        created = await self._redis.hsetnx(_key(agent.id), "pb", agent.SerializeToString())
        if not created:
            raise GatewayError(grpc.StatusCode.ALREADY_EXISTS, f"Agent `{agent.id}` already exists.",
                               "invalid_request_error", "agent_exists", 409, "id")
        if fields:
            await self._redis.hset(_key(agent.id), mapping=fields)
        return agent

    def _split_secrets(self, agent: runtime_pb2.Agent, existing: dict) -> dict:
        """Seals secrets found on `agent` into Redis fields and clears them from the proto."""
        fields = {}
        if agent.llm.api_key:
            fields["llm_key"] = self._seal(agent.llm.api_key, f"agent:{agent.id}:llm")
        elif b"llm_key" in existing:
            fields["llm_key"] = existing[b"llm_key"].decode()
        if agent.remote.auth_token:
            fields["remote_token"] = self._seal(agent.remote.auth_token, f"agent:{agent.id}:remote")
        elif b"remote_token" in existing:
            fields["remote_token"] = existing[b"remote_token"].decode()
        agent.llm.api_key = ""
        agent.remote.auth_token = ""
        agent.llm.has_key = "llm_key" in fields
        agent.llm.encryption_key_id = SecretBox.parse(fields["llm_key"])[1] if "llm_key" in fields else ""
        agent.remote.has_auth_token = "remote_token" in fields
        return fields

    async def _raw(self, agent_id: str) -> dict:
        raw = await self._redis.hgetall(_key(check_id(agent_id)))
        if not raw:
            raise not_found(f"No agent `{agent_id}`.", code="agent_not_found", param="id")
        return raw

    async def get(self, agent_id: str) -> runtime_pb2.Agent:
        return runtime_pb2.Agent.FromString((await self._raw(agent_id))[b"pb"])

    async def list(self, workspace: str = "") -> list[runtime_pb2.Agent]:
        ids = sorted(i.decode() for i in await self._redis.smembers(_INDEX))
        pipe = self._redis.pipeline(transaction=False)
        for i in ids:
            pipe.hget(_key(i), "pb")
        agents = [runtime_pb2.Agent.FromString(pb) for pb in await pipe.execute() if pb]
        return [a for a in agents if not workspace or a.workspace == workspace]

    async def update(self, change: runtime_pb2.Agent, mask: list[str], keep_key: bool = True) -> runtime_pb2.Agent:
        raw = await self._raw(change.id)
        agent = runtime_pb2.Agent.FromString(raw[b"pb"])
        for path in mask or _MUTABLE:
            if path not in _MUTABLE:
                raise invalid(f"`{path}` cannot be updated.", param=path)
            f = agent.DESCRIPTOR.fields_by_name[path]
            agent.ClearField(path)
            if f.is_repeated:
                getattr(agent, path).extend(getattr(change, path))
            elif f.message_type is not None:
                if change.HasField(path):
                    getattr(agent, path).CopyFrom(getattr(change, path))
            else:
                setattr(agent, path, getattr(change, path))
        _validate(agent)
        await self._check_outbound(agent)
        agent.updated_at_ms = int(self._clock() * 1000)
        keep = raw if keep_key else {k: v for k, v in raw.items() if k != b"llm_key"}
        fields = self._split_secrets(agent, keep)
        pipe = self._redis.pipeline(transaction=True)
        pipe.hdel(_key(agent.id), "llm_key", "remote_token")
        pipe.hset(_key(agent.id), mapping={"pb": agent.SerializeToString(), **fields})
        await pipe.execute()
        return agent

    async def set_llm(self, agent_id: str, llm: runtime_pb2.LlmConfig, keep_key: bool) -> runtime_pb2.LlmConfig:
        change = runtime_pb2.Agent(id=agent_id, llm=llm)
        return (await self.update(change, ["llm"], keep_key=keep_key)).llm

    async def delete(self, agent_id: str) -> bool:
        """The record, then its index entry: two slots on a Cluster, so two steps, each safe to repeat.
        Interrupted between them, the index names an agent that is gone, which `list` skips."""
        deleted = await self._redis.delete(_key(check_id(agent_id)))
        await self._redis.srem(_INDEX, agent_id)
        return bool(deleted)

    async def _open(self, agent_id: str, field: str, context: str) -> str:
        sealed = await self._redis.hget(_key(agent_id), field)
        if sealed is None:
            return ""
        token = sealed.decode()
        try:
            plain = self._box.open(token, context)
        except SecretsUnavailable as exc:
            raise secrets_error(exc) from None
        if self._box.needs_reseal(token):
            # Rotation: re-seal under the current key the first time an old value is used.
            await self._redis.hset(_key(agent_id), field, self._box.seal(plain, context))
        return plain

    async def credential(self, agent: runtime_pb2.Agent) -> common_pb2.ProviderCredential | None:
        """The decrypted BYOK credential for one call of this agent, or None when it has no key."""
        if not agent.llm.has_key:
            return None
        key = await self._open(agent.id, "llm_key", f"agent:{agent.id}:llm")
        return common_pb2.ProviderCredential(provider=agent.llm.provider, base_url=agent.llm.base_url,
                                             api_key=key, model=agent.llm.model or agent.model)

    async def remote_token(self, agent: runtime_pb2.Agent) -> str:
        return await self._open(agent.id, "remote_token", f"agent:{agent.id}:remote") if agent.remote.has_auth_token else ""
