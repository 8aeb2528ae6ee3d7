"""The Redis Cluster options of the deploy files, checked offline: compose.cluster.yaml against the Compose
Specification, deploy/k8s/redis-cluster against the Kubernetes schemas, and both against each other and the
client: every service gets a cluster URL naming nodes that exist, and the cluster they start is 3 + 3."""
from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from services.common import redis_conn

ROOT = Path(__file__).resolve().parents[2]
OVERLAY = ROOT / "deploy" / "k8s" / "redis-cluster"
APP = ("meter", "router", "runtime", "edge")


@pytest.fixture(scope="module")
def override() -> dict:
    return yaml.safe_load((ROOT / "compose.cluster.yaml").read_text())


def test_the_compose_override_matches_the_compose_specification(override):
    schema = json.loads((resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json").read_text())
    errors = [e.message for e in jsonschema.validators.validator_for(schema)(schema).iter_errors(override)]
    assert errors == []


def test_compose_services_get_a_cluster_url_of_nodes_it_starts_and_wait_for_the_cluster(override):
    services = override["services"]
    nodes = {n for n, s in services.items() if "--cluster-enabled" in s.get("command", [])}
    assert len(nodes) == 6
    for name in APP:
        url = services[name]["environment"]["REDIS_URL"]
        client = redis_conn.connect(url)
        assert {f"{n.host}:{n.port}" for n in client.startup_nodes} <= {f"{n}:6379" for n in nodes}
        assert services[name]["depends_on"]["redis-cluster-init"]["condition"] == "service_completed_successfully"
    init = " ".join(services["redis-cluster-init"]["command"])
    assert "--cluster-replicas 1" in init and all(f"{n}:6379" in init for n in nodes)
    for n in nodes:  # each node announces the name the others and the clients resolve
        cmd = services[n]["command"]
        assert cmd[cmd.index("--cluster-announce-hostname") + 1] == n


OVERLAY_DOCS = [d for d in yaml.safe_load_all((OVERLAY / "redis-cluster.yaml").read_text()) if d]


@pytest.mark.parametrize("doc", OVERLAY_DOCS, ids=[d["kind"] for d in OVERLAY_DOCS])
def test_the_k8s_redis_cluster_objects_match_the_kubernetes_schema(doc):
    assert kubernetes_validate.validate(doc, "1.30", strict=True)


def test_the_k8s_overlay_adds_the_cluster_to_the_base_and_its_url_names_its_pods():
    kustomization = yaml.safe_load((OVERLAY / "kustomization.yaml").read_text())
    assert kustomization["resources"] == ["..", "redis-cluster.yaml"]
    kinds = {d["kind"]: d for d in OVERLAY_DOCS}
    sts, svc, job = kinds["StatefulSet"], kinds["Service"], kinds["Job"]
    assert sts["spec"]["replicas"] == 6 and sts["spec"]["serviceName"] == svc["metadata"]["name"]
    assert svc["spec"]["clusterIP"] == "None"
    pods = {f"{sts['metadata']['name']}-{i}.{svc['metadata']['name']}" for i in range(6)}
    url = re.search(r"REDIS_URL=(\S+)", (OVERLAY / "kustomization.yaml").read_text()).group(1)
    assert {n.host for n in redis_conn.connect(url).startup_nodes} <= pods
    script = job["spec"]["template"]["spec"]["containers"][0]["args"][0]
    assert "--cluster-replicas 1" in script and script.count("$N-") >= 6
