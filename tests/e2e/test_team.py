"""A team on one dashboard in Chromium: Streamlit's OIDC sign-in against a local OIDC provider (oidc-provider-mock),
a viewer who cannot send, a trader who does, an admin who reads both in the audit log."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import pytest

from tests.dashboard_harness import free_port, streamlit_app
from tests.e2e.orders_page import OrdersPage, orders, sim

pytestmark = pytest.mark.e2e

VIEWER, TRADER, ADMIN = "vera@desk.example", "tom@desk.example", "ada@desk.example"


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def team_app(tmp_path_factory, provider) -> Iterator[dict]:
    tmp = tmp_path_factory.mktemp("team")
    ui_port = free_port()
    secrets_file = tmp / "secrets.toml"
    secrets_file.write_text(f"""[auth]
redirect_uri = "http://localhost:{ui_port}/oauth2callback"
cookie_secret = "{secrets.token_hex(32)}"
client_id = "ibkr-desk"
client_secret = "{secrets.token_hex(16)}"
server_metadata_url = "{provider}/.well-known/openid-configuration"
""")
    secrets_file.chmod(0o600)
    with streamlit_app(tmp, args=["--secrets.files", str(secrets_file)], ui_port=ui_port, sim_auto_login="true",
                       trading_enabled="true", traders=TRADER, admins=ADMIN, tickle_seconds="5",
                       refresh_seconds="60", database_path=str(tmp / "desk.sqlite3"),
                       mask_accounts="true") as running:
        # the OIDC redirect names localhost: the browser must use that name for the session cookie to come back
        yield {**running, "url": f"http://localhost:{ui_port}"}


def sign_in(page, app, email: str) -> None:
    page.goto(app["url"])
    page.get_by_role("button", name="Sign in").click()
    page.locator("input[name=sub]").fill(email)
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    page.get_by_text(email).first.wait_for(timeout=60_000)


def masked(account: str) -> str:
    return account[:2] + "•••" + account[-3:]


def ticket_for(page, app, artifacts, shown=lambda account: account) -> OrdersPage:
    ticket = OrdersPage(page, app, artifacts).open(shown)
    ticket.type_in("Symbol", "AAPL")
    ticket.number("Quantity", 3)
    ticket.choose("Order type", "MKT · market")
    return ticket


def test_without_signing_in_nothing_but_the_sign_in_screen_shows(team_app, page):
    page.goto(team_app["url"])
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
    assert "Net liquidation" not in page.inner_text("body")
    page.goto(f"{team_app['url']}/orders")
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
    assert page.get_by_role("heading", name="Ticket").count() == 0


def test_a_viewer_reads_and_previews_but_cannot_submit(team_app, page, artifacts_dir):
    sign_in(page, team_app, VIEWER)
    assert "viewer" in page.get_by_test_id("stSidebar").inner_text()
    assert page.get_by_role("link", name="Audit log").count() == 0
    page.get_by_text("Net liquidation").first.wait_for(timeout=60_000)  # the gateway (simulator) is up
    accounts = [a["id"] for a in sim(team_app, "GET", "state")["accounts"]]
    page.wait_for_timeout(1000)
    shown = page.inner_text("body")
    assert masked(accounts[0]) in shown  # IBKR_MASK_ACCOUNTS: a viewer sees DU•••012, never the account id
    assert not any(a in shown for a in accounts), "an account id shown to a viewer"
    ticket = ticket_for(page, team_app, artifacts_dir, masked)
    ticket.click("Preview (what-if)")
    ticket.wait_text(r"Margin utilisation it would leave")
    submit = page.get_by_role("button", name="Submit order")
    assert submit.is_disabled()
    assert "only a trader" in ticket.main_text() or "a viewer" in ticket.main_text()
    ticket.shot("team-viewer")
    page.goto(f"{team_app['url']}/audit")  # not in a viewer's navigation; the address alone shows nothing
    page.wait_for_timeout(1500)
    assert "Download CSV" not in page.inner_text("body")


def test_a_trader_submits_and_the_admin_sees_both_in_the_audit_log(team_app, browser, artifacts_dir):
    trader = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        page = trader.new_page()
        page.set_default_timeout(30_000)
        sign_in(page, team_app, TRADER)
        before = orders(team_app)
        ticket = ticket_for(page, team_app, artifacts_dir)
        ticket.click("Submit order")
        while True:  # IBKR's questions, each answered yes, until the order is placed
            text = ticket.wait_text(r"IBKR asks before placing|placed: ")
            if re.search(r"Order \d+ placed", text):
                break
            ticket.click("Yes, I confirm")
        order_id, _ = ticket.placed()
        assert set(orders(team_app)) - set(before) == {order_id}
    finally:
        trader.close()

    admin = browser.new_context(viewport={"width": 1500, "height": 1000})
    try:
        page = admin.new_page()
        page.set_default_timeout(30_000)
        sign_in(page, team_app, ADMIN)
        page.get_by_role("link", name="Audit log").click()
        page.get_by_role("button", name="Download CSV").wait_for(timeout=60_000)
        page.wait_for_timeout(1000)
        page.screenshot(path=str(artifacts_dir / "team-audit-log.png"), full_page=True)
        with page.expect_download() as download:
            page.get_by_role("button", name="Download CSV").click()
        csv = download.value.path().read_text()
    finally:
        admin.close()
    assert f"{VIEWER},viewer,preview" in csv
    assert f"{TRADER},trader,submit" in csv and f"{TRADER},trader,answer" in csv
    assert f"placed: order {order_id}" in csv
