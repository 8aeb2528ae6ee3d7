"""Fake peers that tests run on loopback (upstream LLM servers speaking vendor wire formats)."""
