"""End to end in Debian's Chromium: every page, three runs compared, a promotion, the map.

The browser may only reach the Streamlit server on loopback: every other request is aborted,
so the test also proves that the pages need no CDN or tile server.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from mlflow.tracking import MlflowClient

from dashboard.screenshots import CHROMIUM as CHROMIUM_PATH
from dashboard.screenshots import CHROMIUM_ARGS
from tests.conftest import REPO_ROOT, require
from tests.servers import LOOPBACK, free_port, start_process, stop_process, wait_for_http
from training import registry

pytestmark = pytest.mark.browser

CHROMIUM = Path(CHROMIUM_PATH)
ARTIFACTS = REPO_ROOT / "test-artifacts" / "dashboard"
TIMEOUT_MS = 90_000


@pytest.fixture
def dashboard_url(seeded_mlflow, trained_mlflow, shared_data_dir, tmp_path) -> Iterator[str]:
    """`streamlit run dashboard/Home.py` on loopback, over the seeded runs and trained models."""
    port = free_port()
    environment = {
        "MLFLOW_TRACKING_URI": trained_mlflow.url,
        "FIRE_EXPERIMENT_NAME": seeded_mlflow.experiment_name,
        "FIRE_MODEL_NAME": trained_mlflow.model_name,
        "FIRE_DATA_URI": str(shared_data_dir),
        "FIRE_DATA_CACHE_DIR": str(tmp_path / "data-cache"),
        "FIRE_SECRETS_FILE": str(tmp_path / "no-secrets"),
        "DASHBOARD_MAP_TILES": "none",
    }
    command = [
        sys.executable, "-m", "streamlit", "run", "dashboard/Home.py",
        "--server.port", str(port), "--server.address", LOOPBACK,
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--server.enableStaticServing", "true",
    ]  # fmt: skip
    log = tmp_path / "streamlit.log"
    process = start_process(command, log, environment, cwd=REPO_ROOT)
    url = f"http://{LOOPBACK}:{port}"
    try:
        wait_for_http(f"{url}/_stcore/health", process, log, timeout=60)
        yield url
    finally:
        stop_process(process)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(log, ARTIFACTS / "streamlit.log")


@pytest.fixture
def page(dashboard_url):
    """A Chromium page whose requests to anything but the dashboard are aborted."""
    require(CHROMIUM.is_file(), f"{CHROMIUM} is missing: apt-get install chromium")
    require(
        importlib.util.find_spec("playwright") is not None,
        "the playwright package is missing: pip install -r requirements-test.txt",
    )
    from playwright import sync_api as playwright_api

    allowed = urlparse(dashboard_url).netloc
    blocked: list[str] = []

    def only_dashboard(route):
        if urlparse(route.request.url).netloc == allowed:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.route("**/*", only_dashboard)
        browser_page = context.new_page()
        browser_page.set_default_timeout(TIMEOUT_MS)
        browser_page.blocked = blocked
        try:
            yield browser_page
        finally:
            context.close()
            browser.close()


def _screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _wait_idle(page) -> None:
    """Wait until Streamlit has finished the current script run."""
    page.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=TIMEOUT_MS)
    page.wait_for_timeout(500)


def _home(page, url: str) -> None:
    page.goto(url)
    page.get_by_text("Production model").wait_for()
    page.get_by_text("Latest runs").wait_for()
    _wait_idle(page)
    _screenshot(page, "home")


def _compare_three_runs(page, url: str, run_names: list[str]) -> None:
    page.goto(f"{url}/compare_runs")
    selector = page.get_by_role("combobox", name="Runs to compare (up to 100)")
    selector.wait_for()
    for name in run_names:
        selector.fill(name)
        page.get_by_role("option", name=re.compile(f"^{re.escape(name)} ")).click()
        _wait_idle(page)
    page.keyboard.press("Escape")
    page.get_by_test_id("stPlotlyChart").nth(3).wait_for()
    assert page.get_by_test_id("stPlotlyChart").count() == 4
    assert page.locator(".js-plotly-plot").count() == 4
    page.get_by_text("Curves and calibration").wait_for()
    _wait_idle(page)
    _screenshot(page, "compare_runs")


def _promote(page, url: str, model_name: str, version: int) -> None:
    page.goto(f"{url}/model_registry")
    page.get_by_role("button", name=f"Promote version {version} to production").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Reason, stored in the audit trail").wait_for()
    # The climatology version has a higher test_average_precision than the logistic one, so
    # the guard rejects one of the two directions and shows the override checkbox.
    override = dialog.get_by_text("Override the guard")
    if override.count():
        override.click()
        _wait_idle(page)
    dialog.get_by_label("Reason, stored in the audit trail").fill("promoted from the browser test")
    dialog.get_by_label("Reason, stored in the audit trail").press("Enter")
    _wait_idle(page)
    _screenshot(page, "promotion_dialog")
    dialog.get_by_role("button", name="Confirm").click()
    page.get_by_text(f"Version {version} is now in production").wait_for()
    _wait_idle(page)
    _screenshot(page, "model_registry")


def _map_shapes(page, url: str) -> int:
    page.goto(f"{url}/fire_map")
    frame = page.frame_locator("iframe[title*='st_folium']")
    # Commune polygons have the #444444 outline; fire markers are paths in the same pane.
    shapes = frame.locator(".leaflet-overlay-pane path.leaflet-interactive[stroke='#444444']")
    shapes.nth(359).wait_for(state="attached", timeout=TIMEOUT_MS)
    _wait_idle(page)
    page.wait_for_timeout(1500)
    _screenshot(page, "risk_map")
    return shapes.count()


def test_dashboard_in_chromium(page, dashboard_url, trained_mlflow):
    client = MlflowClient(trained_mlflow.url, trained_mlflow.url)
    name = trained_mlflow.model_name
    before = registry.get_state(client, name).production_version
    target = next(version for version in trained_mlflow.versions if version != before)

    try:
        _home(page, dashboard_url)
        _compare_three_runs(page, dashboard_url, ["baseline", "logistic-small-c", "forest"])
        _promote(page, dashboard_url, name, target)
        aliases = client.get_registered_model(name).aliases
        shape_count = _map_shapes(page, dashboard_url)
    finally:
        state = registry.get_state(client, name)
        if state.production_version != before:
            registry.rollback(client, "restore after the browser test", target, True, name)

    assert aliases == {"production": str(target)}
    assert shape_count == 360
    assert not [url for url in page.blocked if "leaflet" in url], page.blocked
