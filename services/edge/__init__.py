"""Edge service: the only public surface, OpenAI-compatible HTTP/SSE in, gRPC out."""
