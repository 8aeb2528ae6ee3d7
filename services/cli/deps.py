"""What every command needs, built once in `main()` and handed to each command group (no globals)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Annotated, Callable

import typer

from services.cli.api import GatewayApi
from services.cli.output import Output

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@dataclass
class Deps:
    api: Callable[[], GatewayApi]
    """Built on first use, so `--help` works without TOKENYARD_API_KEY."""
    out: Output = field(default_factory=Output)
    sleep: Callable[[float], None] = time.sleep
