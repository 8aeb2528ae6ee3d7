"""`python -m services.edge`: load config, serve."""
from services.common.lean_process import keep_lean

keep_lean()  # before anything imports structlog

from services.common.service_main import run_service
from services.edge.config import EdgeConfig
from services.edge.server import serve

if __name__ == "__main__":
    run_service("edge", EdgeConfig.from_env, serve)
