"""compose.yaml, Dockerfile, .dockerignore and `make up/down`, checked offline (no Docker engine here).

compose.yaml is validated against the Compose Specification's JSON schema (the copy check-jsonschema ships),
then against the things a schema cannot see: every service of the repo is in it, peers and health checks
point at ports that are really served, and the image really contains what the file expects of it.
"""
from __future__ import annotations

import base64
import copy
import json
import re
import subprocess
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
# Every `python -m services.X` service; the launcher is the local-processes runner, not a service.
SERVICES = sorted(p.parent.name for p in (ROOT / "services").glob("*/__main__.py") if p.parent.name != "launcher")
PORT_VAR = {"edge": "TOKENYARD_HTTP_PORT", "router": "TOKENYARD_ROUTER_PORT", "meter": "TOKENYARD_METER_PORT",
            "runtime": "TOKENYARD_RUNTIME_PORT"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def compose_validator() -> jsonschema.protocols.Validator:
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text())
    return jsonschema.validators.validator_for(schema)(schema)


def app_services(compose: dict) -> dict[str, dict]:
    return {name: svc for name, svc in compose["services"].items() if name not in ("redis", "postgres", "jaeger")}


def test_compose_file_matches_the_compose_specification(compose, compose_validator):
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in compose_validator.iter_errors(compose)]
    assert errors == []


@pytest.mark.parametrize("culprit", ["service_ready", "intervall"])
def test_the_schema_check_rejects_a_broken_compose_file(compose, compose_validator, culprit):
    broken = copy.deepcopy(compose)
    if culprit == "service_ready":
        broken["services"]["edge"]["depends_on"]["router"]["condition"] = culprit
    else:
        broken["services"]["router"]["healthcheck"][culprit] = "5s"
    messages = [e.message for e in compose_validator.iter_errors(broken)]
    assert any(culprit in m for m in messages), messages


def test_compose_runs_every_service_from_the_one_image(compose):
    assert "runtime" in SERVICES and set(app_services(compose)) == set(SERVICES)
    for name, svc in app_services(compose).items():
        assert svc["command"] == ["python", "-m", f"services.{name}"]
        assert svc["build"] == {"context": ".", "dockerfile": "Dockerfile"} and svc["image"] == "tokenyard:local"
        assert svc["environment"]["TOKENYARD_GRPC_HOST"] == svc["environment"]["TOKENYARD_HTTP_HOST"] == "0.0.0.0"


def test_peer_addresses_point_at_a_service_that_serves_that_port(compose):
    services = app_services(compose)
    for name, svc in services.items():
        addrs = {k: v for k, v in svc["environment"].items() if k.startswith("TOKENYARD_") and k.endswith("_ADDR")}
        assert set(addrs) == {"TOKENYARD_ROUTER_ADDR", "TOKENYARD_METER_ADDR", "TOKENYARD_RUNTIME_ADDR"}, name
        for var, addr in addrs.items():
            host, port = addr.rsplit(":", 1)
            assert host in services and services[host]["environment"][PORT_VAR[host]] == port, (name, var)


def test_health_checks_probe_the_port_each_service_serves(compose):
    for name, svc in app_services(compose).items():
        port = svc["environment"][PORT_VAR[name]]
        if name == "edge":
            expected = ["CMD", "python", "/app/healthcheck.py", "http", f"http://127.0.0.1:{port}/healthz"]
        else:
            expected = ["CMD", "python", "/app/healthcheck.py", "grpc", f"127.0.0.1:{port}"]
        assert svc["healthcheck"]["test"] == expected
    assert compose["services"]["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def test_services_start_after_what_they_need_is_healthy(compose):
    services = compose["services"]
    for name, svc in app_services(compose).items():
        deps = svc["depends_on"]
        assert deps["redis"]["condition"] == "service_healthy"
        for dep, how in deps.items():
            assert dep in services
            assert how["condition"] == ("service_healthy" if "healthcheck" in services[dep] else "service_started")
    assert {"router", "meter", "runtime"} <= set(services["edge"]["depends_on"])
    assert "meter" in services["router"]["depends_on"] and "router" in services["runtime"]["depends_on"]


def test_redis_persists_with_aof_and_jaeger_takes_otlp(compose):
    redis, jaeger = compose["services"]["redis"], compose["services"]["jaeger"]
    assert redis["image"].startswith("redis:7")
    assert redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    volume = redis["volumes"][0].split(":")
    assert volume[1] == "/data" and volume[0] in compose["volumes"]
    assert jaeger["image"].startswith("jaegertracing/all-in-one:")
    assert jaeger["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"
    published = {p.rsplit(":", 1)[-1] for p in jaeger["ports"]}
    assert {"4317", "16686"} <= published
    for svc in app_services(compose).values():
        assert svc["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4317"


def test_everything_shares_the_named_network(compose):
    assert compose["networks"]["tokenyard"]["name"] == "tokenyard"
    for name, svc in compose["services"].items():
        assert svc["networks"] == ["tokenyard"], name


def test_make_up_writes_every_secret_compose_requires(compose, tmp_path):
    """`make up` first writes .env; compose refuses to start without the `${VAR:?}` values."""
    required = set(re.findall(r"\$\{(\w+):\?", (ROOT / "compose.yaml").read_text()))
    assert required == {"TOKENYARD_MASTER_KEY", "TOKENYARD_ENCRYPTION_KEY", "TOKENYARD_POSTGRES_PASSWORD"}
    subprocess.run(["make", "-s", "-f", str(ROOT / "Makefile"), ".env"], cwd=tmp_path, check=True,
                   capture_output=True, timeout=30)
    env_file = tmp_path / ".env"
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    assert set(values) == required
    assert len(values["TOKENYARD_MASTER_KEY"]) >= 16
    assert len(base64.b64decode(values["TOKENYARD_ENCRYPTION_KEY"], validate=True)) == 32
    assert len(values["TOKENYARD_POSTGRES_PASSWORD"]) >= 32
    assert env_file.stat().st_mode & 0o077 == 0  # keys readable by the owner only


def test_make_up_and_down_drive_docker_compose():
    def dry_run(target: str) -> str:
        return subprocess.run(["make", "-n", target], cwd=ROOT, check=True, capture_output=True, text=True,
                              timeout=30).stdout
    assert "docker compose up --build --detach --wait" in dry_run("up")
    assert "docker compose down" in dry_run("down")
    help_text = subprocess.run(["make", "help"], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout
    described = {m[0] for m in re.findall(r"^\s*(\S+)\s+(\S.*)$", re.sub(r"\x1b\[[0-9;]*m", "", help_text), re.M)}
    assert {"up", "down"} <= described


def test_every_setting_the_deploy_files_pass_is_one_the_code_reads(compose):
    """A misspelt variable would be silently ignored and the service would run on its default."""
    code = "\n".join(p.read_text() for p in (ROOT / "services").rglob("*.py"))
    code += (ROOT / "config" / "tokenyard.yaml").read_text()
    passed = {var for svc in app_services(compose).values() for var in svc["environment"]}
    for path in (ROOT / "deploy" / "k8s").glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == "tokenyard-env":
                passed |= set(doc["data"])
            if doc and doc["kind"] == "Deployment":
                passed |= {e["name"] for c in doc["spec"]["template"]["spec"]["containers"] for e in c["env"]}
    # OTEL_* are read by the OpenTelemetry SDK; TOKENYARD_RUNTIME_ADDR is the edge's runtime peer (issue 8).
    unread = {v for v in passed if not v.startswith("OTEL_") and not re.search(rf"\b{v}\b", code)}
    assert unread <= {"TOKENYARD_RUNTIME_ADDR"}


def test_what_a_service_writes_lands_on_a_named_volume(compose):
    written = {"router": ["TOKENYARD_USAGE_SPOOL"], "runtime": ["TOKENYARD_RUNTIME_STATE", "DRIVE_STORAGE_PATH"]}
    for name, variables in written.items():
        svc = compose["services"][name]
        mounts = [v.split(":") for v in svc["volumes"]]
        assert all(volume in compose["volumes"] for volume, _ in mounts)
        for var in variables:
            assert any(Path(svc["environment"][var]).is_relative_to(path) for _, path in mounts), var


def test_the_meter_logs_requests_to_the_composed_postgres(compose):
    postgres, meter = compose["services"]["postgres"], compose["services"]["meter"]
    assert postgres["image"].startswith("postgres:") and "ports" not in postgres  # not published to the host
    assert postgres["volumes"][0].split(":") == ["postgres-data", "/var/lib/postgresql/data"]
    url = meter["environment"]["TOKENYARD_REQUEST_LOG_URL"]
    assert url.startswith("postgresql://tokenyard:${TOKENYARD_POSTGRES_PASSWORD:?") and url.endswith("@postgres:5432/tokenyard")
    assert meter["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_every_service_gets_the_master_key_its_grpc_calls_carry(compose):
    for name, svc in app_services(compose).items():
        assert svc["environment"]["TOKENYARD_MASTER_KEY"].startswith("${TOKENYARD_MASTER_KEY:?"), name
