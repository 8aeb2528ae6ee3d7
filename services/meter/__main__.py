"""`python -m services.meter`: load config, serve."""
from services.common.lean_process import keep_lean

keep_lean()  # before anything imports structlog

from services.common.service_main import run_service
from services.meter.config import MeterConfig
from services.meter.server import serve

if __name__ == "__main__":
    run_service("meter", MeterConfig.from_env, serve)
