"""An agent's state folder: its generated config file, its run file, and its captured output.

    <state>/<agent id>/agent.json   what the agent process reads (TOKENYARD_AGENT_CONFIG); no secrets
    <state>/<agent id>/run.json     pid, start time and key id of the running process (for re-adoption)
    <state>/<agent id>/output.log   stdout and stderr, appended
File work runs in a thread so a slow disk never stalls the event loop.
"""
from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
from google.protobuf import json_format

from tokenyard.runtime.v1 import runtime_pb2


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    tmp.replace(path)


def _tail(path: Path, lines: int) -> tuple[list[str], int]:
    try:
        with open(path, "rb") as f:
            kept = deque(f, maxlen=lines) if lines > 0 else deque()
            return [b.decode(errors="replace").rstrip("\n") for b in kept], f.tell()
    except FileNotFoundError:
        return [], 0


def _read_from(path: Path, offset: int) -> tuple[bytes, int]:
    try:
        size = path.stat().st_size
        if size < offset:  # rotated or truncated: start again from the top
            offset = 0
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read(1 << 20)
            return data, offset + len(data)
    except FileNotFoundError:
        return b"", 0


class AgentFiles:
    def __init__(self, state_dir: Path) -> None:
        self._dir = state_dir

    def folder(self, agent_id: str) -> Path:
        return self._dir / agent_id

    def config_path(self, agent_id: str) -> Path:
        return self.folder(agent_id) / "agent.json"

    def log_path(self, agent_id: str) -> Path:
        self.folder(agent_id).mkdir(parents=True, exist_ok=True)
        return self.folder(agent_id) / "output.log"

    async def write_config(self, agent: runtime_pb2.Agent, edge_url: str) -> None:
        public = json_format.MessageToDict(agent, preserving_proto_field_name=True)
        public.pop("llm", None)  # the process reaches its model through Tokenyard, never with the raw key
        doc = {"agent": public, "openai_base_url": f"{edge_url}/v1"}
        await asyncio.to_thread(_write, self.config_path(agent.id), orjson.dumps(doc, option=orjson.OPT_INDENT_2))

    async def remove_config(self, agent_id: str) -> None:
        await asyncio.to_thread(self.config_path(agent_id).unlink, True)

    async def write_run(self, agent_id: str, state: dict) -> None:
        await asyncio.to_thread(_write, self.folder(agent_id) / "run.json", orjson.dumps(state))

    async def remove_run(self, agent_id: str) -> None:
        await asyncio.to_thread((self.folder(agent_id) / "run.json").unlink, True)

    async def runs(self) -> list[tuple[str, dict]]:
        def scan() -> list[tuple[str, dict]]:
            out = []
            for path in sorted(self._dir.glob("*/run.json")):
                try:
                    out.append((path.parent.name, orjson.loads(path.read_bytes())))
                except (OSError, orjson.JSONDecodeError):
                    continue
            return out
        return await asyncio.to_thread(scan)

    async def logs(self, agent_id: str, tail: int, follow: bool, poll: float = 0.2) -> AsyncIterator[list[str]]:
        """The last `tail` lines, then (when following) new complete lines as they are written."""
        path = self.folder(agent_id) / "output.log"
        lines, offset = await asyncio.to_thread(_tail, path, tail)
        if lines:
            yield lines
        partial = b""
        while follow:
            data, offset = await asyncio.to_thread(_read_from, path, offset)
            if not data:
                await asyncio.sleep(poll)
                continue
            *complete, partial = (partial + data).split(b"\n")
            if complete:
                yield [c.decode(errors="replace") for c in complete]
