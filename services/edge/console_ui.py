"""The web console at `/ui`: static files shipped in the package, served by the edge on its own port.

No CDN, no build step: plain HTML, CSS and ES modules plus one vendored charting library (uPlot,
services/edge/console/static/vendor). The page talks to the same admin API as curl does, with the key
the operator signs in with held in sessionStorage and sent as a bearer header: it never appears in a
URL (so never in an access log or a Referer). Pages are public (they hold no data); every API call
they make is authenticated like any other. A strict Content-Security-Policy keeps the page to its own
scripts, so an injected string in a record can never run.
"""
from __future__ import annotations

import json
import mimetypes
from pathlib import Path

from aiohttp import web

from services.edge.errors import json_error

STATIC = Path(__file__).resolve().parent / "console" / "static"
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}
_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml"}


class ConsoleUI:
    def __init__(self, root: Path = STATIC, trace_url: str = "") -> None:
        """`trace_url`: a trace UI address with `{trace_id}` (TOKENYARD_TRACE_UI_URL); the request page links to it."""
        self._root = root.resolve()
        self._config = json.dumps({"trace_url": trace_url or None}).encode()

    def _file(self, rel: str) -> Path | None:
        path = (self._root / rel).resolve()
        if not path.is_file() or self._root not in path.parents:
            return None  # outside the static folder (../), or missing
        return path

    async def index(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/ui":
            raise web.HTTPFound("/ui/")
        return self._send(self._root / "index.html")

    async def asset(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["asset"] == "config.json":
            return web.Response(body=self._config, content_type="application/json", headers=_HEADERS)
        path = self._file(request.match_info["asset"])
        if path is None:
            return json_error(404, "No such console file.", code="not_found", headers=_HEADERS)
        return self._send(path)

    @staticmethod
    def _send(path: Path) -> web.Response:
        ctype = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return web.Response(body=path.read_bytes(), content_type=ctype, headers=_HEADERS,
                            charset="utf-8" if ctype.startswith("text/") else None)

    def register(self, app: web.Application) -> None:
        app.router.add_get("/ui", self.index)
        app.router.add_get("/ui/", self.index)
        app.router.add_get("/ui/{asset:.+}", self.asset)
