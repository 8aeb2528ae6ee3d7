"""A non-transactional Redis pipeline of Lua script calls that costs one round trip, not two.

redis-py's `Script(..., client=pipeline)` makes every `execute()` send `SCRIPT EXISTS` for the
pipeline's scripts first and wait for the answer: a second round trip on every batch, on the hot
path of the meter (usage records) and the router (breaker outcomes). Here script calls go out as
plain EVALSHA; only when Redis answers NOSCRIPT (it restarted, or `SCRIPT FLUSH`) are the scripts
loaded and exactly those calls re-sent. A NOSCRIPT call ran nothing, so re-sending it cannot apply
anything twice.
"""
from __future__ import annotations

from redis.exceptions import NoScriptError


class ScriptPipeline:
    def __init__(self, client) -> None:
        self._client = client
        self._pipe = client.pipeline(transaction=False)
        self._calls: list[tuple | None] = []
        """Per queued command: (script, EVALSHA arguments) for script calls, None for the others."""

    def script(self, script, keys: list, args: list) -> None:
        """Queues `script` (from `client.register_script`) with its keys and arguments."""
        cmd = ("EVALSHA", script.sha, len(keys), *keys, *args)
        self._pipe.execute_command(*cmd)
        self._calls.append((script, cmd))

    def command(self, *args) -> None:
        """Queues any other command, e.g. `command("SADD", key, member)`."""
        self._pipe.execute_command(*args)
        self._calls.append(None)

    def __len__(self) -> int:
        return len(self._calls)

    async def execute(self) -> list:
        """Every command's reply in order; raises the first error, like `pipeline.execute()`."""
        results = await self._pipe.execute(raise_on_error=False)
        missing = [i for i, r in enumerate(results) if isinstance(r, NoScriptError) and self._calls[i] is not None]
        if missing:
            for script in {id(self._calls[i][0]): self._calls[i][0] for i in missing}.values():
                await self._client.script_load(script.script)
            retry = self._client.pipeline(transaction=False)
            for i in missing:
                retry.execute_command(*self._calls[i][1])
            for i, reply in zip(missing, await retry.execute(raise_on_error=False)):
                results[i] = reply
        for r in results:
            if isinstance(r, Exception):
                raise r
        return results
