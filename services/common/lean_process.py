"""Called first by every service's `__main__`: keeps modules a service never uses out of its memory.

A service writes JSON log lines only, but structlog imports `rich` for its console renderer whenever it is
installed (the dev venv has it, for schemathesis): ~3.4 MB resident in each of the four services, for
nothing. Marking it absent (None in sys.modules makes `import rich` raise ImportError) before structlog
loads keeps it out. Only the service processes call this; tests and tools are unaffected.
"""
import sys


def keep_lean() -> None:
    sys.modules.setdefault("rich", None)
