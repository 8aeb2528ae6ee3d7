"""Where the mesh may connect on behalf of a tenant or an API caller (the `outbound:` config section).

URLs a tenant or caller supplies (a BYOK `base_url`, a remote agent's host and port, a registered
node's URL) must not reach the operator's own network: loopback, link-local (169.254.169.254, the
cloud metadata address), private and other non-public ranges, and the mesh's own service ports are
refused unless the operator allow-lists them. Two checks:

- when the URL is supplied (`check_url`): the host is resolved and every address checked, so the
  caller gets a 400 naming the field;
- at connect time (`socket_factory`, handed to aiohttp's TCPConnector): the address the socket is about
  to connect to is checked again, so a name that resolves to a public address at submit time and to
  127.0.0.1 later (DNS rebinding) is still refused. aiohttp calls it for literal IPs too.

Deployments from the operator's config file are not subject to it: they are the operator's own choice.
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Mapping
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.common.env import ConfigError
from services.common.errors import GatewayError, invalid

_MESH_PORT_VARS = ("TOKENYARD_HTTP_PORT", "TOKENYARD_ROUTER_PORT", "TOKENYARD_METER_PORT",
                   "TOKENYARD_RUNTIME_PORT", "TOKENYARD_METRICS_PORT")
_MESH_PORT_DEFAULTS = (8080, 50051, 50052, 50053)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundRefused(OSError):
    """A connection the outbound policy does not allow; the message says why (no secret in it)."""


def _parse_entry(entry: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, int | None]:
    """`10.0.0.0/8`, `10.0.0.5`, `10.0.0.5:8000`, `[fd00::1]:8000` -> (network, port or None)."""
    text, port = entry.strip(), None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        text, port = host, int(rest[1:]) if rest.startswith(":") else None
    elif text.count(":") == 1:
        text, raw = text.split(":")
        port = int(raw)
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"{entry!r}: port must be 1-65535")
    return ipaddress.ip_network(text, strict=False), port


class OutboundPolicy(BaseModel):
    """The `outbound:` section of the config file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allow: tuple[str, ...] = ()
    """Addresses or networks the operator's own self-hosted servers use (`10.0.0.0/8`, `192.168.1.20`,
    `10.0.0.5:8000`). An entry without a port allows every port but the mesh's own; an entry with a port
    allows exactly that port, even a mesh port."""
    mesh_ports: frozenset[int] = Field(default=frozenset(_MESH_PORT_DEFAULTS))
    """The mesh's own service ports (filled from the TOKENYARD_*_PORT variables): refused on every
    non-public address even inside an allow-listed network, where the mesh itself runs. On public
    addresses they are ordinary ports (llama.cpp and TGI servers listen on 8080)."""

    @field_validator("allow")
    @classmethod
    def _entries_parse(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for entry in v:
            try:
                _parse_entry(entry)
            except ValueError as exc:
                raise ValueError(f"not an address, network or address:port: {exc}") from None
        return v

    @classmethod
    def from_config(cls, raw: object, env: Mapping[str, str] | None = None) -> "OutboundPolicy":
        ports = set(_MESH_PORT_DEFAULTS)
        for var in _MESH_PORT_VARS:
            value = (env or {}).get(var, "")
            if value.isdigit():
                ports.add(int(value))
        try:
            return cls.model_validate({**(raw or {}), "mesh_ports": frozenset(ports)})
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ConfigError(f"outbound.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}") from None
        except TypeError:
            raise ConfigError("outbound: must be a mapping with `allow: [addresses or networks]`") from None

    def refusal(self, ip: IPAddress, port: int) -> str | None:
        """Why (ip, port) is refused, or None when it is allowed."""
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        for entry in self.allow:
            net, only = _parse_entry(entry)
            if ip in net and only == port:
                return None
            if ip in net and only is None:
                return (f"port {port} is one of the gateway's own service ports" if port in self.mesh_ports
                        and not ip.is_global else None)
        if ip.is_loopback:
            return "it is a loopback address"
        if ip.is_link_local:
            return "it is a link-local address (cloud metadata lives there)"
        if ip.is_private or ip in _CGNAT:
            return "it is a private-network address"
        if ip.is_multicast or ip.is_reserved or ip.is_unspecified or not ip.is_global:
            return "it is not a public address"
        return None

    def socket_factory(self, addr_info) -> socket.socket:
        """aiohttp's connect-time hook: refuses the socket before it connects to a forbidden address."""
        family, type_, proto, _, sockaddr = addr_info
        why = self.refusal(ipaddress.ip_address(sockaddr[0].split("%")[0]), int(sockaddr[1]))
        if why is not None:
            raise OutboundRefused(f"the outbound policy refuses this address: {why}")
        sock = socket.socket(family=family, type=type_, proto=proto)
        sock.setblocking(False)
        return sock

    async def check_url(self, url: str, field: str, default_scheme: str = "") -> None:
        """Raises a 400 GatewayError naming `field` when `url` is malformed or any address it resolves to
        is refused. Resolution failures are the caller's problem too (a 400, not a 5xx)."""
        parts = urlsplit(url if "://" in url or not default_scheme else f"{default_scheme}://{url}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise invalid(f"`{field}` must be an http:// or https:// URL with a host.", field, "invalid_url")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise invalid(f"`{field}` has an invalid port.", field, "invalid_url") from None
        await self.check_host(parts.hostname, port, field)

    async def check_host(self, host: str, port: int, field: str) -> None:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise invalid(f"`{field}`: the host {host!r} does not resolve.", field, "unresolvable_host") from None
        for *_, sockaddr in infos:
            why = self.refusal(ipaddress.ip_address(sockaddr[0].split("%")[0]), port)
            if why is not None:
                raise outbound_refused(field, why)


def outbound_refused(field: str, why: str) -> GatewayError:
    return invalid(f"`{field}` is not allowed: {why}. The gateway connects only to public addresses unless "
                   "the operator allow-lists a network under `outbound.allow`.", field, "outbound_address_refused")
