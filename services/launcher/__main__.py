"""`make run`: start the mesh locally, print how to use it, stop everything on Ctrl-C."""
from __future__ import annotations

import base64
import os
import secrets
import signal
import sys
import time

from services.launcher.mesh import ROOT, Mesh

LOCAL_ENCRYPTION_KEY = ROOT / ".data" / "encryption.key"


def encryption_key() -> tuple[str, str]:
    """TOKENYARD_ENCRYPTION_KEY, or a local one kept (mode 0600) in .data so BYOK works on a dev box and
    survives restarts. Returns (key, where it came from)."""
    given = os.environ.get("TOKENYARD_ENCRYPTION_KEY")
    if given:
        return given, "TOKENYARD_ENCRYPTION_KEY"
    if not LOCAL_ENCRYPTION_KEY.exists():
        LOCAL_ENCRYPTION_KEY.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(LOCAL_ENCRYPTION_KEY, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(base64.b64encode(secrets.token_bytes(32)).decode())
    return LOCAL_ENCRYPTION_KEY.read_text().strip(), str(LOCAL_ENCRYPTION_KEY)


def main() -> int:
    key = os.environ.get("TOKENYARD_MASTER_KEY") or "ty-" + secrets.token_urlsafe(24)
    port = int(os.environ.get("TOKENYARD_HTTP_PORT", "8080"))
    enc_key, enc_origin = encryption_key()
    mesh = Mesh(env={"TOKENYARD_MASTER_KEY": key, "TOKENYARD_ENCRYPTION_KEY": enc_key}, http_port=port,
                router_port=int(os.environ.get("TOKENYARD_ROUTER_PORT", "50051")),
                meter_port=int(os.environ.get("TOKENYARD_METER_PORT", "50052")),
                runtime_port=int(os.environ.get("TOKENYARD_RUNTIME_PORT", "50053")),
                log_dir=ROOT / ".data" / "logs")
    stopping = False

    def on_signal(_sig, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        mesh.start()
    except Exception as exc:
        print(f"tokenyard: failed to start: {exc}", file=sys.stderr)
        mesh.stop()
        return 1
    redis_where = (f"embedded redis-server from {mesh.redis.origin} ({mesh.redis.binary}), data in {mesh.redis.data_dir}"
                   if mesh.redis else f"REDIS_URL={mesh.redis_url}")
    print(f"""
Tokenyard is running.
  OpenAI base URL : http://127.0.0.1:{port}/v1
  Console         : http://127.0.0.1:{port}/ui/   (sign in with the API key)
  API key         : {key}{'' if os.environ.get('TOKENYARD_MASTER_KEY') else '   (generated; set TOKENYARD_MASTER_KEY to choose one)'}
  Redis           : {redis_where}
  Request log     : {os.environ.get('TOKENYARD_REQUEST_LOG_URL') and 'PostgreSQL (TOKENYARD_REQUEST_LOG_URL)' or mesh.data_dir / 'requests.db'}
  BYOK encryption : key from {enc_origin}
  Logs            : {mesh.log_dir}/{{edge,router,meter,runtime}}.log

Try it:
  curl http://127.0.0.1:{port}/v1/chat/completions -H "Authorization: Bearer {key}" \\
       -H "Content-Type: application/json" -d '{{"model":"fake-echo","messages":[{{"role":"user","content":"hello there"}}]}}'

Ctrl-C stops everything.
""", flush=True)
    exit_code = 0
    while not stopping:
        for name, proc in list(mesh.procs.items()):
            if proc.poll() is not None:
                print(f"tokenyard: {name} exited with {proc.returncode}; stopping (see its log)", file=sys.stderr)
                stopping, exit_code = True, 1
        time.sleep(0.2)
    print("tokenyard: stopping...", flush=True)
    mesh.stop()
    print("tokenyard: stopped.", flush=True)
    return exit_code


if __name__ == "__main__":
    raise SystemExit(main())
