"""Take the README's screenshots of a running dashboard with Debian's Chromium.

    .venv/bin/python -m dashboard.screenshots [http://127.0.0.1:8501] [--output assets/screenshots]

Run it against `make run` (or any dashboard on real data); it needs the test requirements
(playwright) and /usr/bin/chromium. Every request to a host other than the dashboard's is
aborted, so the pictures show no base map tiles and nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urlparse

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGES = {
    "home": "Home",
    "compare_runs": "Compare runs",
    "model_registry": "Model registry",
    "risk_map": "Risk map",
}
SETTLE_MS = 6_000
RUNS_TO_COMPARE = 4


def wait_idle(page) -> None:
    """Wait until Streamlit has finished the current script run, then let charts draw."""
    page.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=90_000)
    page.wait_for_timeout(SETTLE_MS)


def select_runs(page) -> None:
    """Select the first runs offered on the Compare runs page, so that its charts appear."""
    selector = page.get_by_role("combobox", name="Runs to compare (up to 100)")
    for _ in range(RUNS_TO_COMPARE):
        selector.click()
        options = page.get_by_role("option")
        if options.count() == 0:
            break
        options.first.click()
        wait_idle(page)
    page.keyboard.press("Escape")


def take_screenshots(base_url: str, output: Path) -> list[Path]:
    """Open each page from the sidebar and save a 1400 x 1000 PNG of it in `output`."""
    from playwright.sync_api import sync_playwright

    allowed_host = urlparse(base_url).hostname
    output.mkdir(parents=True, exist_ok=True)
    saved = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.route(
            "**/*",
            lambda route: (
                route.continue_()
                if urlparse(route.request.url).hostname == allowed_host
                else route.abort()
            ),
        )
        page.goto(base_url, wait_until="networkidle")
        for name, label in PAGES.items():
            page.get_by_role("link", name=label).first.click()
            wait_idle(page)
            if name == "compare_runs":
                select_runs(page)
            path = output / f"{name}.png"
            page.screenshot(path=str(path))
            saved.append(path)
            if name == "compare_runs":
                page.get_by_test_id("stPlotlyChart").nth(1).scroll_into_view_if_needed()
                page.wait_for_timeout(SETTLE_MS)
                path = output / "compare_runs_charts.png"
                page.screenshot(path=str(path))
                saved.append(path)
        browser.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default="http://127.0.0.1:8501", help="dashboard URL")
    parser.add_argument(
        "--output", type=Path, default=Path("assets/screenshots"), help="folder for the PNG files"
    )
    args = parser.parse_args(argv)
    for path in take_screenshots(args.url, args.output):
        print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
