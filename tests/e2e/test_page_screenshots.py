"""Every dashboard page in Chromium at 100 and at 5,000 positions per account, screenshots saved to test-artifacts/
(``pages-<positions>-<page>.png``) for a person to look at; each page must draw without an error or traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.dashboard_harness import streamlit_app, wait_drawn

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# page link in the sidebar -> text that is on the page once it has drawn its data
PAGES = {"Overview": "Largest currency exposures", "Positions": " positions · market value ",
         "Margin": "Maintenance utilisation", "Currency exposure": "What if a currency moves?",
         "Gateway": "Recent events"}


def settle(page) -> None:
    """Wait until Streamlit has finished running the script and plotly has drawn."""
    wait_drawn(page)


def shoot(page, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its main block, so the window is made as tall as that block."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')?.scrollHeight ?? 1000")
    page.set_viewport_size({"width": 1440, "height": max(1000, min(int(height) + 40, 8000))})
    wait_drawn(page)  # plotly redraws at the new width
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": 1440, "height": 1000})


@pytest.mark.parametrize("positions", [100, 5000])
def test_every_page_draws_at_scale(positions, browser, artifacts_dir, tmp_path):
    with streamlit_app(tmp_path, sim_auto_login="true", sim_positions=str(positions)) as app:
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(180_000)
        page.goto(app["url"])
        page.get_by_text(PAGES["Overview"]).wait_for()  # the default page, once the portfolio has loaded
        for link, marker in PAGES.items():
            page.get_by_role("link", name=link, exact=True).click()
            page.get_by_text(marker).first.wait_for()
            settle(page)
            main = page.inner_text("main")
            assert "Traceback" not in main and page.locator("[data-testid='stException']").count() == 0, link
            assert "Could not load" not in main and "Showing the last good data" not in main, link
            name = re.sub(r"\W+", "-", link.lower())
            shoot(page, artifacts_dir / f"pages-{positions}-{name}.png")
            if link == "Positions":
                state = app["truth"].get(f"{app['gateway']}/sim/state", timeout=60).json()
                count = sum(len(a["positions"]) for a in state["accounts"])
                assert re.search(rf"^{count:,} positions · market value", main, re.M), main[:300]
        context.close()
