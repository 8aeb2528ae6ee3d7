"""The CLI's one HTTP boundary: settings from the environment, requests to the gateway, and every
failure turned into one line a person can act on (`CliError`), never a traceback."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

DEFAULT_URL = "http://127.0.0.1:8080"


class CliError(Exception):
    """Printed as `tokenyard: <message>` with exit code 1."""


class CliConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    url: str = DEFAULT_URL
    """The gateway's root URL (TOKENYARD_URL); a trailing `/v1` is accepted and dropped."""
    api_key: str = Field(repr=False)
    """TOKENYARD_API_KEY: the master key for admin commands, any key for `chat`."""
    timeout: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "CliConfig":
        key = env.get("TOKENYARD_API_KEY", "")
        if not key:
            raise CliError("TOKENYARD_API_KEY is not set (export the gateway's master key or a virtual key)")
        url = (env.get("TOKENYARD_URL") or DEFAULT_URL).rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise CliError(f"TOKENYARD_URL must start with http:// or https:// (got {url!r})")
        return cls(url=url.removesuffix("/v1"), api_key=key)


def _message(resp: httpx.Response) -> str:
    """The OpenAI error shape's message and code, or the start of whatever else came back."""
    try:
        err = resp.json().get("error")
    except ValueError:
        err = None
    if isinstance(err, dict) and err.get("message"):
        code = f" ({err['code']})" if err.get("code") else ""
        return f"{resp.status_code} {err['message']}{code}"
    return f"{resp.status_code} {resp.reason_phrase}: {resp.text[:200].strip()}".rstrip(": ")


class GatewayApi:
    def __init__(self, cfg: CliConfig, http: httpx.Client | None = None) -> None:
        self.cfg = cfg
        self._http = http or httpx.Client(base_url=cfg.url, timeout=cfg.timeout,
                                          headers={"Authorization": f"Bearer {cfg.api_key}"})

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            resp = self._http.request(method, path, **kw)
        except httpx.TimeoutException:
            raise CliError(f"the gateway at {self.cfg.url} did not answer within {self.cfg.timeout:g}s") from None
        except httpx.TransportError as exc:
            raise CliError(f"cannot reach the gateway at {self.cfg.url} ({type(exc).__name__}: {exc}); "
                           f"is it running? (TOKENYARD_URL)") from None
        if resp.status_code >= 400:
            raise CliError(_message(resp))
        return resp

    def json(self, method: str, path: str, **kw: Any) -> Any:
        resp = self.request(method, path, **kw)
        try:
            return resp.json()
        except ValueError:
            raise CliError(f"the gateway answered {path} with something that is not JSON") from None

    def events(self, method: str, path: str, **kw: Any) -> Iterator[tuple[str, str]]:
        """Server-sent events as (event name, data), until the stream ends."""
        try:
            with self._http.stream(method, path, timeout=httpx.Timeout(self.cfg.timeout, read=None), **kw) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    raise CliError(_message(resp))
                event, data = "message", []
                for line in resp.iter_lines():
                    if not line:
                        if data:
                            yield event, "\n".join(data)
                        event, data = "message", []
                    elif line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        data.append(line[5:].removeprefix(" "))
                if data:
                    yield event, "\n".join(data)
        except httpx.ConnectError as exc:
            raise CliError(f"cannot reach the gateway at {self.cfg.url} ({exc}); is it running? (TOKENYARD_URL)") \
                from None
        except httpx.TransportError as exc:
            raise CliError(f"the stream from {self.cfg.url} broke off ({type(exc).__name__})") from None
