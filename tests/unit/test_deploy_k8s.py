"""deploy/k8s validated offline: every object against the Kubernetes JSON schemas (strict, so a misspelt
field fails), then the references between objects that a schema cannot see: labels, ports, probes,
ConfigMap and Secret keys, the peer addresses, and the config file the pods mount."""
from __future__ import annotations

import copy
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
# Native gRPC probes are GA since 1.27; 1.30 is the oldest release still widely supported.
K8S_VERSION = "1.30"
SERVICES = sorted(p.parent.name for p in (ROOT / "services").glob("*/__main__.py") if p.parent.name != "launcher")
GRPC_SERVICES = [s for s in SERVICES if s != "edge"]
TEMPLATE_FILES = {"kustomization.yaml", "secret.example.yaml"}


def load(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


ALL_DOCS = [(path.name, doc) for path in sorted(K8S.glob("*.yaml")) if path.name != "kustomization.yaml"
            for doc in load(path)]


def objects(kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for _, doc in ALL_DOCS if doc["kind"] == kind}


def container(service: str) -> dict:
    return objects("Deployment")[f"tokenyard-{service}"]["spec"]["template"]["spec"]["containers"][0]


def settings() -> dict[str, str]:
    return objects("ConfigMap")["tokenyard-env"]["data"]


@pytest.mark.parametrize("doc", [d for _, d in ALL_DOCS], ids=[f"{f}:{d['kind']}" for f, d in ALL_DOCS])
def test_object_matches_the_kubernetes_schema(doc):
    assert kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_the_schema_check_rejects_a_misspelt_probe():
    broken = copy.deepcopy(objects("Deployment")["tokenyard-router"])
    probe = broken["spec"]["template"]["spec"]["containers"][0]
    probe["readinesProbe"] = probe.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_kustomization_applies_every_manifest_but_the_secret_template():
    kustomization = load(K8S / "kustomization.yaml")[0]
    shipped = {p.name for p in K8S.glob("*.yaml")} - TEMPLATE_FILES
    assert sorted(kustomization["resources"]) == sorted(shipped)
    assert kustomization["namespace"] == "tokenyard"
    image_names = {c["image"] for d in objects("Deployment").values() for c in d["spec"]["template"]["spec"]["containers"]}
    assert image_names == {img["name"] for img in kustomization["images"]}


def test_every_service_has_a_deployment_running_its_module():
    assert "runtime" in SERVICES
    assert set(objects("Deployment")) == {f"tokenyard-{s}" for s in SERVICES}
    for service in SERVICES:
        assert container(service)["command"] == ["python", "-m", f"services.{service}"]


@pytest.mark.parametrize("service", GRPC_SERVICES)
def test_grpc_services_are_ready_by_grpc_health_and_headless(service):
    port_var = f"TOKENYARD_{service.upper()}_PORT"
    port = int(settings()[port_var])
    c = container(service)
    assert c["readinessProbe"]["grpc"] == {"port": port}
    assert {p["name"]: p["containerPort"] for p in c["ports"]} == {"grpc": port}
    svc = objects("Service")[f"tokenyard-{service}"]["spec"]
    assert svc["clusterIP"] == "None"
    assert svc["ports"] == [{"name": "grpc", "port": port, "targetPort": "grpc", "appProtocol": "grpc"}]


def test_edge_is_ready_by_readyz_and_served_by_a_cluster_ip_service():
    c = container("edge")
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["ports"] == [{"name": "http", "containerPort": int(settings()["TOKENYARD_HTTP_PORT"])}]
    assert objects("Service")["tokenyard-edge"]["spec"].get("clusterIP") != "None"


def test_services_and_budgets_select_their_deployments_pods():
    deployments = {**objects("Deployment"), **objects("StatefulSet")}
    for kind in ("Service", "PodDisruptionBudget"):
        for name, obj in objects(kind).items():
            selector = obj["spec"]["selector"]
            selector = selector.get("matchLabels", selector)
            pod_labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
            assert selector.items() <= pod_labels.items(), (kind, name)
    for name, dep in deployments.items():
        assert dep["spec"]["selector"]["matchLabels"].items() <= dep["spec"]["template"]["metadata"]["labels"].items()


def test_edge_and_router_autoscale_on_cpu_they_request():
    hpas = objects("HorizontalPodAutoscaler")
    assert set(hpas) == {"tokenyard-edge", "tokenyard-router"}
    for name, hpa in hpas.items():
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert hpa["spec"]["minReplicas"] >= 2
        requests = objects("Deployment")[name]["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]
        assert "cpu" in requests


def test_peer_addresses_name_a_service_and_its_port():
    services = objects("Service")
    for var in ("TOKENYARD_ROUTER_ADDR", "TOKENYARD_METER_ADDR", "TOKENYARD_RUNTIME_ADDR"):
        host, port = settings()[var].rsplit(":", 1)
        assert int(port) in [p["port"] for p in services[host]["spec"]["ports"]], var
    edge_host_port = settings()["TOKENYARD_EDGE_URL"].removeprefix("http://")
    host, port = edge_host_port.rsplit(":", 1)
    assert int(port) in [p["port"] for p in services[host]["spec"]["ports"]]


def test_secrets_come_from_the_secret_whose_template_names_every_key():
    template = load(K8S / "secret.example.yaml")[0]
    keys = template["stringData"]
    assert all(v in ("REPLACE-ME", "") or "REPLACE-ME" in v for v in keys.values())  # no real secret in git
    for service in SERVICES:
        env = {e["name"]: e for e in container(service)["env"]}
        assert env["REDIS_URL"]["valueFrom"]["secretKeyRef"] == {"name": "tokenyard-secrets", "key": "REDIS_URL"}
        for e in env.values():
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["name"] == template["metadata"]["name"] and ref["key"] in keys, (service, e["name"])
    for service in SERVICES:  # the edge checks it on HTTP; every gRPC call between services carries it
        env = {e["name"]: e for e in container(service)["env"]}
        assert env["TOKENYARD_MASTER_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "TOKENYARD_MASTER_KEY", service
    assert "TOKENYARD_ENCRYPTION_KEY" in {e["name"] for e in container("runtime")["env"]}


def test_the_meter_logs_requests_to_the_postgres_it_ships_with():
    url = {e["name"]: e for e in container("meter")["env"]}["TOKENYARD_REQUEST_LOG_URL"]
    assert url["valueFrom"]["secretKeyRef"] == {"name": "tokenyard-secrets", "key": "TOKENYARD_REQUEST_LOG_URL"}
    template = load(K8S / "secret.example.yaml")[0]["stringData"]
    service = objects("Service")["tokenyard-postgres"]
    port = service["spec"]["ports"][0]["port"]
    assert template["TOKENYARD_REQUEST_LOG_URL"].endswith(f"@tokenyard-postgres:{port}/tokenyard")
    sts = objects("StatefulSet")["tokenyard-postgres"]
    assert sts["spec"]["serviceName"] == "tokenyard-postgres"
    assert service["spec"]["selector"] == sts["spec"]["selector"]["matchLabels"]
    pod = sts["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] in template


def test_pods_mount_the_config_file_where_tokenyard_config_points():
    config_path = Path(settings()["TOKENYARD_CONFIG"])
    for service in SERVICES:
        c = container(service)
        assert c["envFrom"] == [{"configMapRef": {"name": "tokenyard-env"}}]
        mount = next(m for m in c["volumeMounts"] if m["name"] == "config")
        assert mount["mountPath"] == str(config_path.parent)
        volumes = objects("Deployment")[f"tokenyard-{service}"]["spec"]["template"]["spec"]["volumes"]
        assert {"name": "config", "configMap": {"name": "tokenyard-config"}} in volumes
    assert config_path.name in objects("ConfigMap")["tokenyard-config"]["data"]


def test_the_mounted_config_file_loads_in_the_router(tmp_path, monkeypatch):
    from services.router.config import RouterConfig

    path = tmp_path / "tokenyard.yaml"
    path.write_text(objects("ConfigMap")["tokenyard-config"]["data"]["tokenyard.yaml"])
    secrets = {"REDIS_URL": "redis://redis:6379/0", "TOKENYARD_MASTER_KEY": "k" * 32}
    for var, value in {**settings(), "TOKENYARD_CONFIG": str(path), **secrets}.items():
        monkeypatch.setenv(var, value)
    for var in ("OPENAI_API_KEY", "OLLAMA_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    cfg = RouterConfig.from_env()
    assert [d.name for d in cfg.deployments] == ["fake"]
    assert cfg.listen == f"0.0.0.0:{settings()['TOKENYARD_ROUTER_PORT']}"


def test_pods_outlast_the_drain_and_never_run_as_root():
    grace = float(settings()["TOKENYARD_SHUTDOWN_GRACE"])
    for name, dep in objects("Deployment").items():
        pod = dep["spec"]["template"]["spec"]
        assert pod["terminationGracePeriodSeconds"] > grace, name
        assert pod["securityContext"]["runAsNonRoot"] is True
        for c in pod["containers"]:
            assert c["securityContext"]["allowPrivilegeEscalation"] is False
            assert c["securityContext"]["readOnlyRootFilesystem"] is True


# Where services write; their defaults point into the source tree, which is read-only in the pods.
WRITTEN_PATHS = {"router": ["TOKENYARD_USAGE_SPOOL"], "runtime": ["TOKENYARD_RUNTIME_STATE", "DRIVE_STORAGE_PATH"]}


@pytest.mark.parametrize("service", sorted(WRITTEN_PATHS))
def test_what_a_service_writes_lands_on_a_writable_volume(service):
    c = container(service)
    env = {e["name"]: e.get("value") for e in c["env"]}
    writable = [m["mountPath"] for m in c["volumeMounts"] if not m.get("readOnly")]
    for var in WRITTEN_PATHS[service]:
        assert any(Path(env[var]).is_relative_to(mount) for mount in writable), var
