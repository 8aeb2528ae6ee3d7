"""Request and completion ids on the hot path.

They must be unique, not secret: drawn from the process's seeded PRNG rather than `uuid4()`, which makes a
getrandom syscall and a UUID object per id (two ids per request on the edge showed up in its profile).
"""
from __future__ import annotations

import random

_bits = random.Random().getrandbits  # its own instance, seeded from os.urandom at start


def new_id(prefix: str, hex_chars: int = 32) -> str:
    """`prefix` followed by `hex_chars` random hex digits (32: as many as a uuid4 hex)."""
    return f"{prefix}{_bits(hex_chars * 4):0{hex_chars}x}"
