"""`python -m services.router`: load config, serve."""
from services.common.lean_process import keep_lean

keep_lean()  # before anything imports structlog

from services.common.service_main import run_service
from services.router.config import RouterConfig
from services.router.server import serve

if __name__ == "__main__":
    run_service("router", RouterConfig.from_env, serve)
