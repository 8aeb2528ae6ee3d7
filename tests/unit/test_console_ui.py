"""The console's static files: served from the package (nothing from a CDN), under a strict CSP, never
outside their folder, and the page keeps the key out of URLs."""
from __future__ import annotations

import re

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from services.edge.console_ui import STATIC, ConsoleUI


async def _client(trace_url: str = "") -> TestClient:
    app = web.Application()
    ConsoleUI(trace_url=trace_url).register(app)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_the_page_and_its_assets_come_from_the_package_with_a_strict_csp():
    client = await _client()
    try:
        page = await client.get("/ui/")
        html = await page.text()
        assert page.status == 200 and "script-src 'self'" in page.headers["Content-Security-Policy"]
        assert page.headers["Referrer-Policy"] == "no-referrer"
        for ref in re.findall(r'(?:src|href)="([^"#]+)"', html):
            assert not ref.startswith(("http:", "https:", "//")), ref  # offline: no CDN
            assert (await client.get(f"/ui/{ref}")).status == 200, ref
        js = await client.get("/ui/js/main.js")
        assert js.headers["Content-Type"].startswith("text/javascript")
        assert (await client.get("/ui", allow_redirects=False)).headers["Location"] == "/ui/"
    finally:
        await client.close()


async def test_nothing_outside_the_static_folder_is_served():
    client = await _client()
    try:
        for path in ("/ui/../console_ui.py", "/ui/%2e%2e/console_ui.py", "/ui/js/../../console_ui.py", "/ui/nope.js"):
            resp = await client.get(path)
            assert resp.status == 404, path
            assert "ConsoleUI" not in await resp.text()
    finally:
        await client.close()


async def test_the_trace_link_template_is_the_only_config_the_page_gets():
    client = await _client("http://jaeger:16686/trace/{trace_id}")
    try:
        assert await (await client.get("/ui/config.json")).json() == {"trace_url": "http://jaeger:16686/trace/{trace_id}"}
    finally:
        await client.close()


def test_the_key_goes_in_a_header_from_session_storage_never_in_a_url():
    api = (STATIC / "js" / "api.js").read_text()
    assert "sessionStorage" in api and "localStorage" not in api
    for js in (STATIC / "js").rglob("*.js"):
        text = js.read_text()
        assert not re.search(r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write", text), js  # text nodes only
        assert not re.search(r"[?&](api_)?key=", text), js
    assert (STATIC / "vendor" / "uplot-1.6.32" / "LICENSE").read_text().startswith("The MIT License")
