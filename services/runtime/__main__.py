"""`python -m services.runtime`: load config, serve."""
from services.common.lean_process import keep_lean

keep_lean()  # before anything imports structlog

from services.common.service_main import run_service
from services.runtime.config import RuntimeConfig
from services.runtime.server import serve

if __name__ == "__main__":
    run_service("runtime", RuntimeConfig.from_env, serve)
