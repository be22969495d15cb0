"""The simulated gateway's login page in a real browser: password, 2FA, "Client login succeeds"."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_a_person_logs_in_with_password_and_2fa(start_sim, page, artifacts_dir):
    sim = start_sim("--no-pacing")
    assert sim.api("POST", "/tickle").status_code == 401

    page.goto(f"{sim.url}/")
    assert "Demo credentials" in page.inner_text("body")
    page.fill("#user", "demo")
    page.fill("#password", "wrong")
    page.click("#submitForm")
    assert "Invalid username or password" in page.inner_text("#error")
    page.fill("#user", "demo")
    page.fill("#password", "demo")
    page.click("#submitForm")
    code = page.inner_text("#demo-code")
    page.fill("#code", code)
    page.click("#submit2fa")

    page.wait_for_selector("text=Client login succeeds")
    page.screenshot(path=str(artifacts_dir / "sim-login-succeeds.png"))
    tickle = sim.api("POST", "/tickle").json()
    assert tickle["iserver"]["authStatus"]["authenticated"] is True
