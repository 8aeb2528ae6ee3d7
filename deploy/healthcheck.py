"""Container health probe for compose: exit 0 when the service says it can take work, 1 otherwise.

    python healthcheck.py grpc HOST:PORT [SERVICE]   # grpc.health.v1 Check; SERVING is healthy
    python healthcheck.py http URL                   # any 2xx is healthy

Docker's HEALTHCHECK has no native gRPC probe (Kubernetes has: the manifests use `grpc:` probes), and
the slim image has no curl, so the probe is Python with the grpcio the image already carries. One line on
stderr says why a check failed; `docker inspect` shows it.
"""
from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

TIMEOUT_S = 3.0
USAGE = "usage: healthcheck.py grpc HOST:PORT [SERVICE] | healthcheck.py http URL"


def check_grpc(address: str, service: str = "") -> str | None:
    """None when the server reports SERVING for `service` ("" is the whole server), else the reason."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with _channel(grpc, address) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=TIMEOUT_S)
        except grpc.RpcError as exc:
            return f"{address}: {exc.code().name}"
    if reply.status != health_pb2.HealthCheckResponse.SERVING:
        return f"{address}: {health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)}"
    return None


def _channel(grpc, address: str):
    """Plaintext, or TLS when the service has TOKENYARD_GRPC_TLS_CERT (the same variables as the services:
    services.common.mesh_security). Health needs no key. The probe dials 127.0.0.1, so the certificate
    must name it too."""
    cert = os.environ.get("TOKENYARD_GRPC_TLS_CERT")
    if not cert:
        return grpc.insecure_channel(address)

    def read(name: str) -> bytes | None:
        return Path(os.environ[name]).read_bytes() if os.environ.get(name) else None

    mutual = os.environ.get("TOKENYARD_GRPC_TLS_CLIENT_AUTH", "").strip().lower() in ("1", "true", "yes", "on", "require")
    creds = grpc.ssl_channel_credentials(read("TOKENYARD_GRPC_TLS_CA"),
                                         read("TOKENYARD_GRPC_TLS_KEY") if mutual else None,
                                         Path(cert).read_bytes() if mutual else None)
    return grpc.secure_channel(address, creds)


def check_http(url: str) -> str | None:
    """None on a 2xx answer, else the status or the connection error."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as reply:
            return None if 200 <= reply.status < 300 else f"{url}: HTTP {reply.status}"
    except urllib.error.HTTPError as exc:
        return f"{url}: HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return f"{url}: {getattr(exc, 'reason', exc)}"


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "grpc" and len(argv) <= 3:
        problem = check_grpc(argv[1], argv[2] if len(argv) == 3 else "")
    elif len(argv) == 2 and argv[0] == "http":
        problem = check_http(argv[1])
    else:
        print(USAGE, file=sys.stderr)
        return 1  # Docker reserves exit code 2
    if problem:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
