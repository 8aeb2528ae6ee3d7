"""Tokenyard's Python client: the official OpenAI SDK with retries and a local fallback.

    from tokenyard_client import TokenyardClient
    client = TokenyardClient("http://127.0.0.1:8080/v1", api_key, fallback_model_map={"gpt-4o-mini": "llama3.2"})
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    client.get_status()   # Status(gateway=True, fallback="up", mode="gateway", ...)
"""
from tokenyard_client.async_client import AsyncTokenyardClient
from tokenyard_client.client import TokenyardClient
from tokenyard_client.config import OLLAMA_V1, ClientConfig
from tokenyard_client.errors import FallbackFailedError
from tokenyard_client.ledger import FallbackUsage
from tokenyard_client.status import Status
from tokenyard_client.streams import AsyncChunkStream, ChunkStream

__all__ = ["AsyncChunkStream", "AsyncTokenyardClient", "ChunkStream", "ClientConfig", "FallbackFailedError",
           "FallbackUsage", "OLLAMA_V1", "Status", "TokenyardClient"]
