"""The dashboard in a real browser against `python -m ibkr_desk` in sim mode, starting logged out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests

from tests.dashboard_harness import streamlit_app, wait_drawn

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    """Streamlit with the gateway manager starting the simulator itself (no auto-login); both stopped after."""
    tmp = tmp_path_factory.mktemp("dashboard")
    with streamlit_app(tmp, sim_auto_login="false", tickle_seconds="2", refresh_seconds="30") as running:
        yield {**running, "cert": tmp / "cert" / "cert.pem"}


def sim_state(dash) -> dict:
    return requests.get(f"{dash['gateway']}/sim/state", verify=str(dash["cert"]), timeout=10).json()


def shot(page, artifacts: Path, name: str) -> None:
    wait_drawn(page)
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def test_login_prompt_then_every_page(dashboard, page, artifacts_dir):
    page.goto(dashboard["url"])
    prompt = page.get_by_text(re.compile("Log in to IBKR at"))
    prompt.wait_for(timeout=120_000)  # the suite's first page: in a fresh clone every module is compiled first
    shot(page, artifacts_dir, "dashboard-login-prompt")
    link = page.get_by_role("link", name="Open the gateway login page")
    login_url = link.get_attribute("href")
    assert login_url.startswith(dashboard["gateway"])

    gw = page.context.new_page()
    gw.goto(login_url)
    gw.fill("#user", "demo")
    gw.fill("#password", "demo")
    gw.click("#submitForm")
    gw.fill("#code", gw.inner_text("#demo-code"))
    gw.click("#submit2fa")
    gw.wait_for_selector("text=Client login succeeds")
    gw.close()

    page.get_by_text("Net liquidation").first.wait_for(timeout=60_000)
    shot(page, artifacts_dir, "dashboard-overview")

    truth = sim_state(dashboard)
    count = sum(len(a["positions"]) for a in truth["accounts"])
    page.get_by_role("link", name="Positions").click()
    caption = page.get_by_text(re.compile(r"^[\d,]+ positions · market value"))
    caption.wait_for(timeout=30_000)
    assert caption.inner_text().startswith(f"{count:,} positions")
    shot(page, artifacts_dir, "dashboard-positions")

    page.get_by_role("link", name="Margin").click()
    page.get_by_role("heading", name="Margin", exact=True).wait_for(timeout=30_000)
    page.get_by_text("Maintenance utilisation").first.wait_for(timeout=30_000)
    assert re.search(r"\d+\.\d %", page.inner_text("main"))
    shot(page, artifacts_dir, "dashboard-margin")

    page.get_by_role("link", name="Currency exposure").click()
    page.get_by_role("heading", name="Currency exposure", exact=True).wait_for(timeout=30_000)
    page.get_by_text("Net FX exposure by currency").first.wait_for(timeout=30_000)  # the chart's title
    shot(page, artifacts_dir, "dashboard-currency")

    page.get_by_role("link", name="Gateway").click()
    page.get_by_role("heading", name="Gateway", exact=True).wait_for(timeout=30_000)
    page.get_by_text("Recent events").wait_for(timeout=30_000)
    assert "authenticated" in page.inner_text("main")
    shot(page, artifacts_dir, "dashboard-gateway")
