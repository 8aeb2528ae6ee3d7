"""`make run`: start the mesh locally, print how to use it, stop everything on Ctrl-C."""
from __future__ import annotations

import os
import secrets
import signal
import sys
import time

from services.launcher.mesh import ROOT, Mesh


def main() -> int:
    key = os.environ.get("TOKENYARD_MASTER_KEY") or "ty-" + secrets.token_urlsafe(24)
    port = int(os.environ.get("TOKENYARD_HTTP_PORT", "8080"))
    mesh = Mesh(env={"TOKENYARD_MASTER_KEY": key}, http_port=port,
                router_port=int(os.environ.get("TOKENYARD_ROUTER_PORT", "50051")),
                meter_port=int(os.environ.get("TOKENYARD_METER_PORT", "50052")),
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
  API key         : {key}{'' if os.environ.get('TOKENYARD_MASTER_KEY') else '   (generated; set TOKENYARD_MASTER_KEY to choose one)'}
  Redis           : {redis_where}
  Logs            : {mesh.log_dir}/{{edge,router,meter}}.log

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
