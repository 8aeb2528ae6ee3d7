"""Runs a service's main coroutine on uvloop (measurably faster gRPC and HTTP here)."""
from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

import uvloop


def run(main: Coroutine[Any, Any, None]) -> None:
    uvloop.run(main)
