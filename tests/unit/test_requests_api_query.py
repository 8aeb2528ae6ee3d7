"""The explorer's query parameters (REQUESTS_API.md) -> the meter query: every filter, bad values refused
with the parameter named, and a virtual key silently held to its own workspace."""
from __future__ import annotations

import pytest

from services.edge.auth import Principal
from services.edge.requests_api import BadQuery, list_request, record_json
from tokenyard.common.v1 import common_pb2
from tokenyard.meter.v1 import meter_pb2

MASTER = Principal(common_pb2.Caller(key_id="master"), None)


def virtual(workspace: str, key_id: str = "key_1") -> Principal:
    from services.common.keystore import KeyRecord

    return Principal(common_pb2.Caller(key_id=key_id, workspace=workspace), KeyRecord(key_id=key_id, workspace=workspace))


def test_every_filter_reaches_the_meter():
    q = list_request({"limit": "7", "cursor": "abc", "key_id": "k", "workspace": "w", "agent_id": "a", "model": "m",
                      "deployment": "d", "status": "error", "has_fallback": "true", "min_cost_usd": "0.0000015",
                      "since": "2026-05-01T00:00:00Z", "until": "1777593600000"}, MASTER)
    assert (q.limit, q.cursor, q.key_id, q.workspace, q.agent_id, q.model, q.deployment, q.status) == (
        7, "abc", "k", "w", "a", "m", "d", "error")
    assert q.has_fallback == meter_pb2.ListRequestLogRequest.FALLBACK_ONLY
    assert q.min_cost_micros == 2  # rounded up: "at least" never lets a cheaper request in
    assert (q.since_ms, q.until_ms) == (1777593600000, 1777593600000)
    assert list_request({}, MASTER).limit == 50


@pytest.mark.parametrize("query,param", [({"limit": "0"}, "limit"), ({"limit": "501"}, "limit"),
                                         ({"limit": "ten"}, "limit"), ({"status": "fine"}, "status"),
                                         ({"has_fallback": "yes"}, "has_fallback"), ({"min_cost_usd": "-1"}, "min_cost_usd"),
                                         ({"min_cost_usd": "NaN"}, "min_cost_usd"), ({"min_cost_usd": "lots"}, "min_cost_usd"),
                                         ({"since": "last week"}, "since"), ({"format": "xml"}, "format")])
def test_bad_values_name_their_parameter(query, param):
    with pytest.raises(BadQuery) as bad:
        list_request(query, MASTER)
    assert bad.value.param == param


def test_a_virtual_key_is_held_to_its_workspace_silently():
    own = list_request({}, virtual("acme"))
    assert (own.workspace, own.key_id) == ("acme", "")
    other = list_request({"workspace": "rival"}, virtual("acme"))
    assert other.workspace == "acme" and other.key_id == "\x00"  # matches nothing, says nothing
    loose = list_request({}, virtual("", key_id="key_9"))
    assert (loose.workspace, loose.key_id) == ("", "key_9")  # no workspace: only its own requests


def test_a_record_follows_the_contract_shape():
    e = meter_pb2.RequestLogEntry(request_id="r", key_id="k", model="m", model_requested="m", status="ok",
                                  http_status=200, cost_micros=125, cost_known=True, started_at_ms=1777593600123,
                                  attempts=[meter_pb2.RequestAttempt(deployment="d", model="m", kind="first",
                                                                     outcome="ok", latency_ms=5)])
    rec = record_json(e)
    assert rec["cost_usd"] == "0.000125" and rec["started_at"] == "2026-05-01T00:00:00.123Z"
    assert rec["client_request_id"] is None and rec["attempts"][0]["cause"] is None
    assert record_json(meter_pb2.RequestLogEntry(cost_micros=0, cost_known=False))["cost_usd"] is None
