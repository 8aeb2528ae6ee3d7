"""The one way a service opens a channel to another: TLS when the mesh has certificates, the master key
on every call, a CLIENT span per call when tracing is on. Long-lived: one per peer per process."""
from __future__ import annotations

import grpc

from services.common.grpc_server import CHANNEL_OPTIONS
from services.common.mesh_security import MeshSecurity
from services.common.tracing import Tracing


def open_channel(target: str, security: MeshSecurity, tracing: Tracing | None = None, options=CHANNEL_OPTIONS):
    creds = security.channel_credentials()
    if creds is not None:
        channel = grpc.aio.secure_channel(target, creds, options=options)
    else:
        channel = grpc.aio.insecure_channel(target, options=options)
    if tracing is not None:
        channel = tracing.wrap_channel(channel)
    metadata = security.call_metadata()
    return KeyedChannel(channel, metadata) if metadata else channel


class KeyedChannel:
    """A channel whose calls all carry `metadata` (the key) ahead of the caller's own metadata."""

    def __init__(self, channel, metadata: tuple[tuple[str, str], ...]) -> None:
        # Built once: grpc.aio converts a plain tuple into a Metadata object on every call, and only
        # reads the one it is given, so one instance serves every call that adds nothing of its own.
        self._channel, self._metadata = channel, grpc.aio.Metadata(*metadata)

    def unary_unary(self, method: str, *args, **kwargs):
        return _Keyed(self._channel.unary_unary(method, *args, **kwargs), self._metadata)

    def unary_stream(self, method: str, *args, **kwargs):
        return _Keyed(self._channel.unary_stream(method, *args, **kwargs), self._metadata)

    def stream_unary(self, method: str, *args, **kwargs):
        return _Keyed(self._channel.stream_unary(method, *args, **kwargs), self._metadata)

    def stream_stream(self, method: str, *args, **kwargs):
        return _Keyed(self._channel.stream_stream(method, *args, **kwargs), self._metadata)

    def __getattr__(self, name: str):
        return getattr(self._channel, name)


class _Keyed:
    __slots__ = ("_inner", "_metadata")

    def __init__(self, inner, metadata: grpc.aio.Metadata) -> None:
        self._inner, self._metadata = inner, metadata

    def __call__(self, *args, metadata=None, **kwargs):
        # No named request argument: a client-streaming call may be opened empty and fed with write().
        carried = grpc.aio.Metadata(*self._metadata, *metadata) if metadata else self._metadata
        return self._inner(*args, metadata=carried, **kwargs)
