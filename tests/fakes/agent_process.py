"""A small agent program the runtime supervises in tests: `python agent_process.py MODE [ARG]`.

    serve           prints its environment summary, then runs until SIGTERM (exits 0)
    crash FILE      appends its start time to FILE and exits 3 at once
    stubborn        ignores SIGTERM and forks a helper child (stop must SIGKILL the whole group)
    openai MODEL    asks MODEL one question through OPENAI_BASE_URL with the official SDK, prints the answer,
                    then runs until SIGTERM
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time


def wait_for_term() -> None:
    signal.signal(signal.SIGTERM, lambda *_: (print("agent got SIGTERM", flush=True), sys.exit(0)))
    while True:
        time.sleep(0.1)


def main() -> None:
    mode = sys.argv[1]
    if mode == "crash":
        with open(sys.argv[2], "a") as f:
            f.write(f"{time.time()}\n")
        sys.exit(3)
    config = json.load(open(os.environ["TOKENYARD_AGENT_CONFIG"]))
    print(f"agent {config['agent']['id']} up; base={os.environ['OPENAI_BASE_URL']} "
          f"key_prefix={os.environ['OPENAI_API_KEY'][:3]} redis_visible={'REDIS_URL' in os.environ} "
          f"encryption_key_visible={'TOKENYARD_ENCRYPTION_KEY' in os.environ}", flush=True)
    if mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if os.fork() == 0:
            while True:
                time.sleep(0.1)
        while True:
            time.sleep(0.1)
    if mode == "openai":
        from openai import OpenAI

        client = OpenAI(max_retries=0, timeout=30)
        reply = client.chat.completions.create(model=sys.argv[2], messages=[{"role": "user", "content": "agent says hi"}],
                                               extra_headers={"x-request-id": f"agent-call-{config['agent']['id']}"})
        print(f"answer: {reply.choices[0].message.content}", flush=True)
    wait_for_term()


if __name__ == "__main__":
    main()
