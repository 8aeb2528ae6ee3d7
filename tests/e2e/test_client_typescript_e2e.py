"""The TypeScript client (clients/typescript): its `node --test` suite against the real mesh, and its
committed dist/ (what `npm install ./clients/typescript` gets, no build step) checked against src/.

npm dependencies come from the lockfile (`npm ci`) the first time; the suite gets the mesh's service
environment so it can start and kill gateway (edge) processes of its own."""
from __future__ import annotations

import filecmp
import subprocess
import sys

import pytest

from services.launcher.mesh import ROOT
from tests.e2e.conftest import MASTER_KEY

TS = ROOT / "clients" / "typescript"


@pytest.fixture(scope="module")
def node_modules():
    installed = TS / "node_modules" / ".package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < (TS / "package-lock.json").stat().st_mtime:
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=TS, check=True, timeout=280,
                       capture_output=True)
    return TS / "node_modules"


@pytest.mark.timeout(300)
def test_dist_is_what_tsc_makes_of_src(node_modules, tmp_path):
    subprocess.run([str(node_modules / ".bin" / "tsc"), "-p", ".", "--outDir", str(tmp_path)], cwd=TS,
                   check=True, timeout=120)
    built = sorted(p.name for p in tmp_path.iterdir())
    assert built == sorted(p.name for p in (TS / "dist").iterdir())
    stale = [name for name in built if not filecmp.cmp(tmp_path / name, TS / "dist" / name, shallow=False)]
    assert stale == [], f"clients/typescript/dist is stale: run `npm run build` there ({stale})"


@pytest.mark.timeout(300)
def test_an_app_type_checks_against_the_published_types(node_modules):
    out = subprocess.run([str(node_modules / ".bin" / "tsc"), "-p", "test/tsconfig.json"], cwd=TS,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.timeout(300)
def test_node_suite_against_the_mesh(node_modules, mesh):
    env = {**mesh.service_env(), "TY_TEST_MASTER_KEY": MASTER_KEY, "TY_TEST_PYTHON": sys.executable,
           "TY_TEST_ROOT": str(ROOT), "NODE_OPTIONS": ""}
    env.pop("TOKENYARD_HTTP_PORT", None)
    out = subprocess.run(["npm", "test", "--silent"], cwd=TS, env=env,
                         capture_output=True, text=True, timeout=280)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    assert "# fail 0" in out.stdout and "# pass 13" in out.stdout, out.stdout[-3000:]
