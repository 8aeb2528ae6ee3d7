"""The base of every config-file section model, and ValidationError -> one ConfigError naming the field.

Each section of the config file is a pydantic model that forbids unknown fields, so a typo
(`atempts:`) stops the service at start instead of being silently ignored. Errors name the field
path the way a user reads the file: `deployments[2].base_url: ...`, `routing.groups.gpt-4o.strategy: ...`.
"""
from __future__ import annotations

import re
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from services.common.env import ConfigError

M = TypeVar("M", bound=BaseModel)
_NAMES_FIELD = re.compile(r"^[A-Za-z_][\w\[\]\.-]*: ")


class Section(BaseModel):
    """A config mapping: unknown fields are errors, values are immutable once parsed."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


def field_path(where: str, loc: tuple) -> str:
    """`deployments` + (2, "base_url") -> `deployments[2].base_url`."""
    out = where
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-", "tagged-union", "union[")):
            continue  # pydantic's own validator names, not something the user wrote
        else:
            out += f".{part}" if out else str(part)
    return out


def describe(where: str, exc: ValidationError) -> str:
    """Every problem on its own line, each starting with the field path."""
    lines = []
    for err in exc.errors():
        path = field_path(where, tuple(err["loc"]))
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
        if _NAMES_FIELD.match(msg):  # a model validator's message that starts with the field it is about
            lines.append(f"{path}.{msg}" if path else msg)
        else:
            lines.append(f"{path}: {msg}")
    return "\n".join(dict.fromkeys(lines))


def parse(model: type[M], raw: object, where: str) -> M:
    """Validates one section; a ConfigError naming each bad field path otherwise."""
    try:
        return model.model_validate({} if raw is None else raw)
    except ValidationError as exc:
        raise ConfigError(describe(where, exc)) from None
