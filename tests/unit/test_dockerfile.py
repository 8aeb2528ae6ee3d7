"""The Dockerfile and .dockerignore, read as text (no Docker engine here): one non-root image built with
`pip install .`, whose build context carries what the image copies and never local secrets or state."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1]) for ln in lines]


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


def dockerignore_excludes(path: str) -> bool:
    """Docker's rule: the last pattern matching the path, or one of its parent folders, decides."""
    excluded = False
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        regex = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        parts = path.split("/")
        if any(re.fullmatch(regex, "/".join(parts[:i])) for i in range(1, len(parts) + 1)):
            excluded = not negate
    return excluded


def test_every_stage_is_python_311_slim_and_the_image_runs_as_a_non_root_uid():
    assert [args.split()[0] for op, args in instructions() if op == "FROM"] == ["python:3.11-slim"] * 2
    users = [args for op, args in final_stage() if op == "USER"]
    assert users and users[-1].split(":")[0].isdigit() and int(users[-1].split(":")[0]) >= 1000
    k8s_uid = yaml.safe_load((ROOT / "deploy/k8s/router.yaml").read_text().split("\n---")[0])
    assert k8s_uid["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == int(users[-1].split(":")[0])


def test_the_project_is_installed_with_pip_install_dot():
    runs = [args for op, args in instructions() if op == "RUN"]
    assert any(re.search(r"pip install (--no-deps )?\.$", run) for run in runs)
    cmd = next(args for op, args in reversed(final_stage()) if op == "CMD")
    assert yaml.safe_load(cmd)[:2] == ["python", "-m"] and yaml.safe_load(cmd)[2].startswith("services.")


def test_the_image_holds_the_default_config_and_the_health_probe_compose_calls():
    steps = final_stage()
    env = " ".join(args for op, args in steps if op == "ENV")
    workdir = [args for op, args in steps if op == "WORKDIR"][-1]
    copies = {shlex.split(args)[-2]: shlex.split(args)[-1] for op, args in steps if op == "COPY" and "--from" not in args}
    assert copies["config"] == "./config" and "TOKENYARD_CONFIG=/app/config/tokenyard.yaml" in env
    assert workdir == "/app" and copies["deploy/healthcheck.py"] == "./healthcheck.py"
    compose = (ROOT / "compose.yaml").read_text()
    assert "/app/healthcheck.py" in compose


@pytest.mark.parametrize("path", ["pyproject.toml", "services/edge/app.py", "tokenyard/router/v1/router_pb2.py",
                                  "config/tokenyard.yaml", "deploy/healthcheck.py"])
def test_the_build_context_carries_what_the_image_copies(path):
    assert (ROOT / path).exists() and not dockerignore_excludes(path)


def test_every_copied_source_survives_the_dockerignore():
    for op, args in instructions():
        if op == "COPY" and "--from" not in args:
            for src in shlex.split(args)[:-1]:
                assert not dockerignore_excludes(src.rstrip("/")), src


@pytest.mark.parametrize("path", [".env", ".venv/bin/python", ".data/redis/appendonly.aof", ".git/HEAD",
                                  "services/edge/__pycache__/app.cpython-311.pyc", "tests/conftest.py"])
def test_secrets_and_local_state_stay_out_of_the_build_context(path):
    assert dockerignore_excludes(path)
