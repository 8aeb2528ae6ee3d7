"""Local supervisor: runs Redis and every service as its own process (`make run`, end-to-end tests)."""
