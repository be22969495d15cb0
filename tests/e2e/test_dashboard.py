"""The dashboard in a real browser against `streamlit run app.py` in sim mode, starting logged out."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    """Streamlit with the gateway manager starting the simulator itself (no auto-login); both stopped after."""
    tmp = tmp_path_factory.mktemp("dashboard")
    gw_port, ui_port = free_port(), free_port()
    env = dict(os.environ, IBKR_GATEWAY_MODE="sim", IBKR_GATEWAY_URL=f"https://localhost:{gw_port}",
               IBKR_SIM_CERT_DIR=str(tmp / "cert"), IBKR_SIM_TICK_SECONDS="0", IBKR_SIM_AUTO_LOGIN="false",
               IBKR_TICKLE_SECONDS="2", IBKR_REFRESH_SECONDS="30", XDG_STATE_HOME=str(tmp / "state"),
               XDG_CACHE_HOME=str(tmp / "cache"))
    log = open(tmp / "streamlit.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(ui_port),
                             "--server.headless", "true"], cwd=ROOT, env=env, stdout=log, stderr=log,
                            start_new_session=True)
    url = f"http://127.0.0.1:{ui_port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/_stcore/health", timeout=2).ok:
                break
        except requests.RequestException:
            time.sleep(0.3)
    yield {"url": url, "gateway": f"https://localhost:{gw_port}", "cert": tmp / "cert" / "cert.pem"}
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
    log.close()
    # The manager stops the simulator it started; make sure nothing is left listening.
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", gw_port)) != 0, "the simulated gateway outlived the dashboard"


def sim_state(dash) -> dict:
    return requests.get(f"{dash['gateway']}/sim/state", verify=str(dash["cert"]), timeout=10).json()


def shot(page, artifacts: Path, name: str) -> None:
    page.wait_for_timeout(1500)
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def test_login_prompt_then_every_page(dashboard, page, artifacts_dir):
    page.goto(dashboard["url"])
    prompt = page.get_by_text(re.compile("Log in to IBKR at"))
    prompt.wait_for(timeout=60_000)
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
