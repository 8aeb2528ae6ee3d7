"""`python -m services.router`: load config, serve."""
from services.common.service_main import run_service
from services.router.config import RouterConfig
from services.router.server import serve

if __name__ == "__main__":
    run_service("router", RouterConfig.from_env, serve)
