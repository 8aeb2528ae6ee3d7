"""The no-leak check itself can fail: a connect to a non-loopback address is seen (UDP `connect()`
sends no packet, an empty datagram to TEST-NET-1 goes nowhere, so this test leaves nothing on the network)."""
from __future__ import annotations

import sys

import pytest

from tests.agents.conftest import run_traced

pytestmark = pytest.mark.agents

PROBE = """
import socket
for family, addr in ((socket.AF_INET, ("192.0.2.1", 9)), (socket.AF_INET6, ("2001:db8::1", 9)),
                     (socket.AF_INET, ("127.0.0.1", 9))):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.connect(addr)
    s.close()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"", ("192.0.2.2", 53))
"""


def test_traced_run_reports_non_loopback_connects(tmp_path):
    run = run_traced([sys.executable, "-c", PROBE], {}, tmp_path, timeout=30)
    assert run.proc.returncode == 0, run.proc.stderr
    assert run.remote == ["192.0.2.1:9", "2001:db8::1:9", "192.0.2.2:53"]
