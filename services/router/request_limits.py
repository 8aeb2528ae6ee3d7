"""The `request_limits:` section: how much of one request the router will hold, so no single caller can
take the process's memory (a prompt to `fake-echo` or a non-streamed answer used to grow it without bound).

The router checks a request's prompt before any attempt (413 naming `messages`) and the answer it holds
for a non-streamed request as it grows (413, `answer_too_large`); streamed answers are relayed, never held.
"""
from __future__ import annotations

import grpc
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.common.env import ConfigError
from services.common.errors import GatewayError

MIB = 1024 * 1024
MAX_MODEL_NAME = 256


def check_model_name(model: str) -> None:
    """400 naming `model` for a name no deployment could serve: control characters (a NUL byte ends C
    strings in upstream servers and log pipelines) or absurd length; before any state is made for it."""
    if len(model) > MAX_MODEL_NAME or not model.isprintable():
        raise GatewayError(grpc.StatusCode.INVALID_ARGUMENT,
                           f"`model` must be at most {MAX_MODEL_NAME} printable characters (no control "
                           "characters such as NUL).", "invalid_request_error", "invalid_model", 400, "model")


class RequestLimits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_prompt_bytes: int = Field(8 * MIB, gt=0)
    """Largest request (messages, tools and fields, as encoded for the router) any model accepts."""
    max_answer_bytes: int = Field(16 * MIB, gt=0)
    """Largest answer the router assembles for a client that does not stream."""
    max_embedding_input_bytes: int = Field(1 * MIB, gt=0)
    """Largest single embeddings input (OpenAI's models take 8,192 tokens, about 32 KB; this leaves room for
    long-context embedding models and refuses a 5 MB input with a 413 naming `input`)."""
    models: dict[str, int] = Field(default_factory=dict)
    """Per public model name, a lower (or higher) prompt limit in bytes, e.g. `{fake-echo: 65536}`."""

    @classmethod
    def from_config(cls, raw: object) -> "RequestLimits":
        try:
            limits = cls.model_validate(raw or {})
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise ConfigError(f"request_limits.{where}: {err['msg']}") from None
        bad = next((name for name, n in limits.models.items() if n <= 0), None)
        if bad is not None:
            raise ConfigError(f"request_limits.models.{bad}: must be a positive number of bytes")
        return limits

    def prompt_limit(self, model: str) -> int:
        return self.models.get(model, self.max_prompt_bytes)

    def check_embedding_inputs(self, texts) -> None:
        for i, text in enumerate(texts):
            if len(text) > self.max_embedding_input_bytes:
                raise GatewayError(grpc.StatusCode.INVALID_ARGUMENT,
                                   f"`input[{i}]` is {len(text)} characters; each input may hold at most "
                                   f"{self.max_embedding_input_bytes}. Split it.", "invalid_request_error",
                                   "input_too_large", 413, "input")

    def check_prompt(self, model: str, size: int) -> None:
        """Raises a 413 GatewayError naming `messages` when a request of `size` bytes is too large for `model`."""
        limit = self.prompt_limit(model)
        if size > limit:
            raise GatewayError(grpc.StatusCode.INVALID_ARGUMENT,
                               f"The request is {size} bytes; model `{model}` accepts at most {limit}. "
                               "Shorten the messages.", "invalid_request_error", "prompt_too_large", 413, "messages")
