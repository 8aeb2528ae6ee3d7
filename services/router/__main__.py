"""`python -m services.router`: load config, serve."""
import sys

# This process writes JSON log lines only: structlog's console renderer would import rich (present in the dev
# venv for schemathesis) and keep ~3.4 MB of it resident in every service for nothing. None: "not installed".
sys.modules.setdefault("rich", None)

from services.common.service_main import run_service
from services.router.config import RouterConfig
from services.router.server import serve

if __name__ == "__main__":
    run_service("router", RouterConfig.from_env, serve)
