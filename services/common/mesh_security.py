"""Who may call the mesh's gRPC APIs, and over what: a key in `authorization` metadata on every call, and
TLS (optionally mutual) as soon as a certificate is configured.

Three credentials are accepted. The services call each other with the mesh's own service credential
(TOKENYARD_SERVICE_KEY; unset, one derived from the master key, so the master key itself never travels
between services and a router, meter or runtime can run with only the service key in its environment).
The operator's master key can do everything. Internal clients get scoped keys (`internal_keys`), checked
per RPC: a `usage:read` key cannot start processes on the runtime host.

Why the master key and not virtual keys: the gRPC APIs are the internal surface (record usage, set budgets,
manage agents, call any model for any workspace). A virtual key's allowed models, rate limits and budget
are enforced by the edge, so a virtual key accepted here would walk around all of them; apps and agents
use theirs on the HTTP API. Health and reflection stay open: probes and `grpcurl list` carry no key, and
neither reveals data.

Why metadata on each call and not grpc call credentials: grpc runs Python metadata plugins on a thread of
their own for every call, a thread hop on the hot path; a tuple added to `metadata=` costs nothing.
"""
from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from services.common.env import ConfigError
from services.common.internal_keys import InternalKey, digest, parse_internal_keys

KEY_VAR = "TOKENYARD_MASTER_KEY"
SERVICE_KEY_VAR = "TOKENYARD_SERVICE_KEY"
_OPEN_PREFIXES = ("/grpc.health.", "/grpc.reflection.")
_TRUE = {"1", "true", "yes", "on", "require"}
_FALSE = {"", "0", "false", "no", "off"}


@dataclass(frozen=True)
class MeshSecurity:
    """The mesh's gRPC security; the default (no key, no TLS) is for in-process tests only."""

    key: str = field(default="", repr=False)
    """TOKENYARD_MASTER_KEY: the operator's key, accepted on every RPC. Empty (with no service key):
    nothing is checked or sent (only `create_server` in tests builds services that way)."""
    service_key: str = field(default="", repr=False)
    """The mesh's own credential, sent on every call between services and accepted on every RPC:
    TOKENYARD_SERVICE_KEY, or derived from the master key when that is unset."""
    internal_keys: tuple[InternalKey, ...] = ()
    """The config file's `internal_keys:`: scoped keys for internal gRPC clients (digests only)."""
    cert: bytes = field(default=b"", repr=False)
    """TOKENYARD_GRPC_TLS_CERT (a PEM file): servers listen with TLS and clients connect with it."""
    private_key: bytes = field(default=b"", repr=False)
    """TOKENYARD_GRPC_TLS_KEY: the certificate's private key (PEM)."""
    ca: bytes = b""
    """TOKENYARD_GRPC_TLS_CA: the CA that signed the mesh's certificates; unset, clients trust the
    system's roots."""
    client_auth: bool = False
    """TOKENYARD_GRPC_TLS_CLIENT_AUTH: mutual TLS; servers refuse clients without a certificate signed by
    the CA, and every service presents its own certificate as a client."""

    @property
    def tls(self) -> bool:
        return bool(self.cert)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "MeshSecurity":
        """Every service reads the same variables, so one Secret or .env configures the whole mesh."""
        env = os.environ if environ is None else environ
        key = env.get(KEY_VAR, "")
        service_key = env.get(SERVICE_KEY_VAR, "")
        if service_key and len(service_key) < 32:
            raise ConfigError(f"{SERVICE_KEY_VAR} must be at least 32 characters (e.g. `openssl rand -hex 32`)")
        if not service_key and len(key) < 16:
            raise ConfigError(f"{KEY_VAR} (or {SERVICE_KEY_VAR}) must be set, at least 16 characters: every "
                              "gRPC call carries a key")
        if key and len(key) < 16:
            raise ConfigError(f"{KEY_VAR} must be at least 16 characters")
        service_key = service_key or derive_service_key(key)
        cert, private_key = _pem(env, "TOKENYARD_GRPC_TLS_CERT"), _pem(env, "TOKENYARD_GRPC_TLS_KEY")
        if bool(cert) != bool(private_key):
            missing = "TOKENYARD_GRPC_TLS_KEY" if cert else "TOKENYARD_GRPC_TLS_CERT"
            raise ConfigError(f"{missing} must be set too: TLS needs a certificate and its private key")
        ca = _pem(env, "TOKENYARD_GRPC_TLS_CA")
        raw_auth = env.get("TOKENYARD_GRPC_TLS_CLIENT_AUTH", "").strip().lower()
        if raw_auth not in _TRUE | _FALSE:
            raise ConfigError(f"TOKENYARD_GRPC_TLS_CLIENT_AUTH must be true or false, got {raw_auth!r}")
        client_auth = raw_auth in _TRUE
        if client_auth and not (cert and ca):
            raise ConfigError("TOKENYARD_GRPC_TLS_CLIENT_AUTH needs TOKENYARD_GRPC_TLS_CERT, _KEY and _CA")
        if ca and not cert:
            raise ConfigError("TOKENYARD_GRPC_TLS_CA is set but TOKENYARD_GRPC_TLS_CERT is not: "
                              "the mesh's servers need a certificate for TLS")
        return cls(key=key, service_key=service_key, cert=cert, private_key=private_key, ca=ca,
                   client_auth=client_auth, internal_keys=_config_internal_keys(env))

    def server_credentials(self) -> grpc.ServerCredentials | None:
        if not self.tls:
            return None
        return grpc.ssl_server_credentials([(self.private_key, self.cert)],
                                           root_certificates=self.ca if self.client_auth else None,
                                           require_client_auth=self.client_auth)

    def channel_credentials(self) -> grpc.ChannelCredentials | None:
        if not self.tls:
            return None
        mine = (self.private_key, self.cert) if self.client_auth else (None, None)
        return grpc.ssl_channel_credentials(root_certificates=self.ca or None, private_key=mine[0],
                                            certificate_chain=mine[1])

    def server_interceptors(self) -> list[grpc.aio.ServerInterceptor]:
        if not (self.key or self.service_key):
            return []
        return [KeyCheck(self.key, self.service_key, self.internal_keys)]

    def call_metadata(self) -> tuple[tuple[str, str], ...]:
        sent = self.service_key or self.key
        return (("authorization", f"Bearer {sent}"),) if sent else ()


def derive_service_key(master: str) -> str:
    """A credential only services hold: from the master key, but not the master key (nor revealing it)."""
    if not master:
        return ""
    return "tys-" + hmac.new(master.encode(), b"tokenyard mesh service credential v1", hashlib.sha256).hexdigest()


def _config_internal_keys(env: Mapping[str, str]) -> tuple[InternalKey, ...]:
    from services.common import config_file

    path = config_file.config_path(env)
    if not path.exists():
        return ()
    return parse_internal_keys(config_file.load(path).get("internal_keys"))


def _pem(env: Mapping[str, str], name: str) -> bytes:
    path = env.get(name, "")
    if not path:
        return b""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read {path}: {exc.strerror}") from None
    if b"-----BEGIN " not in data:
        raise ConfigError(f"{name}: {path} is not a PEM file")
    return data


_REFUSAL = ("this gRPC API needs a key as `authorization: Bearer <key>` metadata: the master key "
            "(TOKENYARD_MASTER_KEY), the mesh's service credential, or an internal key minted for this client "
            "(virtual keys work on the HTTP API, where their limits and budgets apply)")


class KeyCheck(grpc.aio.ServerInterceptor):
    """Refuses every call but health and reflection unless it carries the master key, the service
    credential, or an internal key whose scopes cover the RPC (else PERMISSION_DENIED naming the scope)."""

    def __init__(self, key: str, service_key: str = "", internal_keys: tuple[InternalKey, ...] = ()) -> None:
        self._full = [f"Bearer {k}".encode() for k in (key, service_key) if k]
        self._scoped = {k.sha256: k for k in internal_keys}

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(_OPEN_PREFIXES):
            return handler
        given = _authorization(handler_call_details.invocation_metadata)
        if any(hmac.compare_digest(given, full) for full in self._full):
            return handler
        scoped = self._scoped.get(digest(given[7:].decode("utf-8", "replace"))) if given[:7] == b"Bearer " else None
        if scoped is None:
            return _refusal(handler)
        if scoped.allows(method):
            return handler
        return _refusal(handler, grpc.StatusCode.PERMISSION_DENIED,
                        f"the internal key `{scoped.name}` (scopes: {', '.join(scoped.scopes)}) may not call "
                        f"{method}; it needs a key with the `admin` scope")


def _authorization(metadata) -> bytes:
    for name, value in metadata or ():
        if name == "authorization":
            return value.encode() if isinstance(value, str) else value
    return b""


def _refusal(handler: grpc.RpcMethodHandler, code: grpc.StatusCode = grpc.StatusCode.UNAUTHENTICATED,
             message: str = _REFUSAL) -> grpc.RpcMethodHandler:
    """A handler of the same shape as the method's that ends the call with `code`."""
    async def refuse_unary(request_or_iterator, context):
        await context.abort(code, message)

    async def refuse_stream(request_or_iterator, context):
        await context.abort(code, message)
        yield  # pragma: no cover - abort raises; this makes the function a generator, as grpc expects

    kinds = {(False, False): grpc.unary_unary_rpc_method_handler,
             (False, True): grpc.unary_stream_rpc_method_handler,
             (True, False): grpc.stream_unary_rpc_method_handler,
             (True, True): grpc.stream_stream_rpc_method_handler}
    build = kinds[(handler.request_streaming, handler.response_streaming)]
    behaviour = refuse_stream if handler.response_streaming else refuse_unary
    # No request deserializer: a caller without the key does not get its bytes parsed.
    return build(behaviour, response_serializer=handler.response_serializer)
