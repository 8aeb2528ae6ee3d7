"""The outbound policy: which addresses a tenant- or caller-supplied URL may reach (issue 16, item 3)."""
from __future__ import annotations

import ipaddress
import socket

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver

from services.common.env import ConfigError
from services.common.errors import GatewayError
from services.common.outbound import OutboundPolicy, OutboundRefused

REFUSED = [("127.0.0.1", 8000), ("::1", 8000), ("169.254.169.254", 80), ("10.1.2.3", 443), ("172.16.0.9", 80),
           ("192.168.1.20", 11434), ("100.64.0.1", 80), ("0.0.0.0", 80), ("fd00::1", 80), ("fe80::1", 80),
           ("::ffff:127.0.0.1", 80), ("224.0.0.1", 80), ("127.0.0.1", 50051), ("10.0.0.9", 50052)]


@pytest.mark.parametrize("ip, port", REFUSED)
def test_non_public_addresses_and_the_mesh_ports_are_refused_by_default(ip, port):
    assert OutboundPolicy.from_config(None, {}).refusal(ipaddress.ip_address(ip), port) is not None


def test_public_addresses_pass_and_the_allow_list_opens_networks_but_not_mesh_ports():
    policy = OutboundPolicy.from_config({"allow": ["10.0.0.0/8", "127.0.0.1:9000"]}, {"TOKENYARD_ROUTER_PORT": "6001"})
    assert policy.refusal(ipaddress.ip_address("8.8.8.8"), 443) is None
    assert policy.refusal(ipaddress.ip_address("8.8.8.8"), 8080) is None  # a public llama.cpp server
    assert policy.refusal(ipaddress.ip_address("10.9.9.9"), 8000) is None
    assert policy.refusal(ipaddress.ip_address("10.9.9.9"), 6001) is not None  # the router's own port
    assert policy.refusal(ipaddress.ip_address("127.0.0.1"), 9000) is None
    assert policy.refusal(ipaddress.ip_address("127.0.0.1"), 9001) is not None


@pytest.mark.parametrize("raw", [{"allow": ["not-an-ip"]}, {"allow": ["10.0.0.1:0"]}, {"deny": []}])
def test_a_bad_outbound_section_names_the_field(raw):
    with pytest.raises(ConfigError, match="outbound"):
        OutboundPolicy.from_config(raw, {})


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data", "http://127.0.0.1:8000/v1",
                                 "http://localhost:11434/v1", "http://[::1]/v1", "http://10.0.0.5/v1",
                                 "ftp://8.8.8.8/", "http:///nohost"])
async def test_check_url_answers_400_naming_the_field(url):
    with pytest.raises(GatewayError) as err:
        await OutboundPolicy().check_url(url, "llm.base_url")
    assert (err.value.http_status, err.value.param) == (400, "llm.base_url")


async def test_a_public_literal_address_is_accepted():
    await OutboundPolicy().check_url("https://8.8.8.8/v1", "llm.base_url")


class _Rebinding(AbstractResolver):
    """A name that resolved to a public address when it was checked and now points at loopback."""

    def __init__(self, port: int) -> None:
        self.port = port

    async def resolve(self, host, port=0, family=socket.AF_INET):
        return [{"hostname": host, "host": "127.0.0.1", "port": self.port, "family": socket.AF_INET,
                 "proto": 0, "flags": socket.AI_NUMERICHOST}]

    async def close(self):
        return None


async def test_the_connect_time_check_refuses_a_name_rebound_to_loopback():
    hits = []

    async def handler(request):
        hits.append(request.path)
        return web.Response(text="secret")

    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    policy = OutboundPolicy()
    try:
        connector = aiohttp.TCPConnector(resolver=_Rebinding(port), socket_factory=policy.socket_factory)
        async with aiohttp.ClientSession(connector=connector) as session:
            with pytest.raises(aiohttp.ClientConnectorError) as err:
                await session.get(f"http://rebound.example:{port}/")
        assert isinstance(err.value.os_error, OutboundRefused)
        # A literal address skips the resolver; the socket factory still sees it.
        connector = aiohttp.TCPConnector(socket_factory=policy.socket_factory)
        async with aiohttp.ClientSession(connector=connector) as session:
            with pytest.raises(aiohttp.ClientConnectorError):
                await session.get(f"http://127.0.0.1:{port}/")
        assert hits == []
    finally:
        await runner.cleanup()
