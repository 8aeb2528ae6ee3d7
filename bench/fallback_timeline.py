"""`python -m bench.fallback_timeline`: the Python client's fallback timeline with real processes and
real time (no injected clock): a mesh of its own, a fake local fallback, a client calling every
`--every` seconds; the gateway (edge) is SIGKILLed, then started again on the same port.

Prints: gateway death -> first fallback answer; gateway listening again -> first gateway answer
(bounded by the cooldown, default 30 s, plus one /healthz probe); and the slowest call of each phase."""
from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from pathlib import Path

from services.launcher.mesh import Mesh
from tests.e2e.gateway_process import GatewayProcess
from tests.fakes.fallback_server import ThreadedFallback
from tokenyard_client import TokenyardClient

CONFIG = 'deployments:\n  - name: fake\n    provider: fake\n    models: [fake-echo, "fake-*"]\n'


def call(client: TokenyardClient) -> tuple[str, float, float]:
    """(who answered, when it returned, how long it took)."""
    start = time.monotonic()
    answer = client.chat.completions.create(model="fake-echo", messages=[{"role": "user", "content": "ping"}])
    end = time.monotonic()
    return ("fallback" if answer.choices[0].message.content.startswith("local") else "gateway"), end, end - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cooldown", type=float, default=30.0)
    parser.add_argument("--every", type=float, default=0.1, help="seconds between calls")
    parser.add_argument("--down", type=float, default=3.0, help="seconds the gateway stays dead")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="ty-timeline-"))
    (tmp / "tokenyard.yaml").write_text(CONFIG)
    key = "ty-timeline-" + secrets.token_hex(16)
    mesh = Mesh(env={"TOKENYARD_MASTER_KEY": key, "TOKENYARD_CONFIG": str(tmp / "tokenyard.yaml")},
                data_dir=tmp, log_dir=tmp / "logs").start()
    fallback = ThreadedFallback()
    server = fallback.start()
    gateway = GatewayProcess(mesh).start()
    client = TokenyardClient(gateway.base_url, key, fallback_base_url=server.base_url,
                             fallback_model_map={"fake-echo": "llama3.2"}, cooldown=args.cooldown, timeout=10)
    try:
        for _ in range(20):  # warm: connections open, first-call costs paid
            assert call(client)[0] == "gateway"
        gateway.kill()
        died = time.monotonic()
        slowest_down = 0.0
        while True:
            who, end, took = call(client)
            slowest_down = max(slowest_down, took)
            if who == "fallback":
                to_fallback = end - died
                break
        restart_at = died + args.down
        while time.monotonic() < restart_at:
            who, _, took = call(client)
            assert who == "fallback"
            slowest_down = max(slowest_down, took)
            time.sleep(args.every)
        gateway.start()
        back = time.monotonic()
        slowest_back = 0.0
        while True:
            who, end, took = call(client)
            slowest_back = max(slowest_back, took)
            if who == "gateway":
                to_gateway = end - back
                break
            time.sleep(args.every)
        print(f"gateway killed -> first fallback answer: {to_fallback * 1000:.0f} ms "
              f"(3 tries, backoff 250 + 500 ms)")
        print(f"gateway listening again -> first gateway answer: {to_gateway:.2f} s "
              f"(cooldown {args.cooldown:g} s from the failover, gateway dead for {args.down:g} s)")
        print(f"slowest call while down: {slowest_down * 1000:.0f} ms; while coming back: {slowest_back * 1000:.0f} ms")
        print(f"fallback usage: {client.fallback_usage().calls} calls")
    finally:
        gateway.stop()
        fallback.stop()
        mesh.stop()


if __name__ == "__main__":
    main()
