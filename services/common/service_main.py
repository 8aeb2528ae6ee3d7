"""The shared `python -m services.X` entry point: configure logging, load config, serve on uvloop."""
from __future__ import annotations

import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from services.common import logs, runloop
from services.common.env import ConfigError

C = TypeVar("C")


def run_service(name: str, load: Callable[[], C], serve: Callable[[C], Coroutine[Any, Any, None]]) -> None:
    """A configuration error exits 2 with one line naming the setting, never a stack trace."""
    logs.configure(name)
    try:
        cfg = load()
    except ConfigError as exc:
        print(f"{name}: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    runloop.run(serve(cfg))
