"""The console in a real browser: Debian's chromium driven by Playwright for Python (never Playwright's own
browser download, which cannot run here), against the whole mesh as processes.

Screenshots of each page go to tests/ui/output/<test>/ (git-ignored) for a person to look at.
"""
from __future__ import annotations

import base64
import os
import re
import secrets
import shutil
from pathlib import Path

import pytest

from services.launcher.mesh import Mesh

MASTER = "ty-ui-" + secrets.token_hex(16)
CHROMIUM = os.environ.get("TOKENYARD_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
OUTPUT = Path(__file__).resolve().parent / "output"


@pytest.fixture(scope="session")
def ui_mesh(tmp_path_factory, redis_server):
    tmp = tmp_path_factory.mktemp("ui-mesh")
    cfg = tmp / "tokenyard.yaml"
    cfg.write_text("""
deployments:
  - name: fake
    provider: fake
    models: [fake-echo, "fake-*"]
  - name: fake-backup
    provider: fake
    models: [fake-echo]
routing:
  retry: {attempts: 2, base: 0.01, cap: 0.05}
  groups:
    fake-error-503:
      fallbacks: [fake-echo]
pricing:
  models:
    fake-echo: {input: 2.5, output: 10}
""")
    m = Mesh(env={"TOKENYARD_MASTER_KEY": MASTER, "TOKENYARD_CONFIG": str(cfg), "REDIS_URL": redis_server.url,
                  "TOKENYARD_ENCRYPTION_KEY": base64.b64encode(os.urandom(32)).decode()},
             data_dir=tmp, log_dir=tmp / "logs")
    m.start()
    yield m
    m.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: `make test-ui` installs Debian's chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def shots(request):
    """save(page, name): a full-page screenshot under tests/ui/output/<test>/<name>.png."""
    folder = OUTPUT / re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)

    def save(page, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path
    return save


@pytest.fixture
def page(browser, ui_mesh):
    context = browser.new_context(base_url=f"http://127.0.0.1:{ui_mesh.http_port}", viewport={"width": 1360, "height": 900})
    context.set_default_timeout(15_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
