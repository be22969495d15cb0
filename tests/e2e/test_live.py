"""The stream in a real browser: with the Overview and the Orders page open, an order filled through the API
shows on both within 2 s, without the page reloading (a marker set in the page survives); when the simulator
drops and refuses the websocket the sidebar says "Delayed · REST every N s" and an order still shows, read over
REST."""

from __future__ import annotations

import pytest

from tests.dashboard_harness import streamlit_app, wait_drawn
from tests.integration.stream_support import AppGateway, place_market_order

pytestmark = pytest.mark.e2e
AAPL = 265598

MARK = "() => { window.__liveMarker = 'set before the fill'; }"
MARKED = "() => window.__liveMarker === 'set before the fill'"
SIDEBAR_SAYS = "(text) => (document.querySelector('[data-testid=stSidebar]')?.innerText || '').includes(text)"
METRIC = """(label) => {
    const m = [...document.querySelectorAll('[data-testid=stMetric]')]
        .find(e => e.querySelector('[data-testid=stMetricLabel]')?.innerText.trim() === label);
    return m ? m.querySelector('[data-testid=stMetricValue]').innerText.trim() : null; }"""
CHANGED = f"([label, before]) => {{ const v = ({METRIC})(label); return v !== null && v !== before; }}"
CELL = "(text) => [...document.querySelectorAll('[role=gridcell]')].some(c => c.innerText.trim() === text)"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("live")
    with streamlit_app(tmp, sim_auto_login="true", refresh_seconds="30") as running:
        yield running


def open_page(browser, app: dict, path: str):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{app['url']}/{path}")
    wait_drawn(page)
    page.wait_for_function(SIDEBAR_SAYS, arg="Live", timeout=60_000)
    return page


def test_a_fill_shows_on_the_open_overview_and_orders_pages_within_2_s_without_a_reload(app, browser,
                                                                                         artifacts_dir):
    overview = open_page(browser, app, "")  # the first page starts the gateway (the simulator)
    orders = open_page(browser, app, "orders")
    gateway = AppGateway(app)
    account = gateway.admin("GET", "state")["accounts"][0]["id"]
    overview.get_by_text("Net liquidation").first.wait_for()
    orders.get_by_text("Trades, last 7 days").wait_for()
    orders.wait_for_function("() => /working of \\d+ in this brokerage session/.test(document.body.innerText)")
    before = overview.evaluate(METRIC, "Net liquidation")
    for page in (overview, orders):
        page.evaluate(MARK)

    order_id = place_market_order(gateway, account, AAPL, "BUY", 2000)  # filled when the answer comes back

    orders.wait_for_function(CELL, arg=str(order_id), timeout=2_000)
    overview.wait_for_function(CHANGED, arg=["Net liquidation", before], timeout=2_000)
    assert overview.evaluate(MARKED) and orders.evaluate(MARKED), "the page was reloaded"
    orders.screenshot(path=str(artifacts_dir / "live-orders-after-fill.png"), full_page=True)
    for page in (overview, orders):
        page.context.close()


def test_a_killed_stream_flips_the_indicator_and_the_rest_refresh_takes_over(app, browser, artifacts_dir):
    orders = open_page(browser, app, "orders")
    orders.evaluate(MARK)
    gateway = AppGateway(app)
    account = gateway.admin("GET", "state")["accounts"][0]["id"]
    try:
        gateway.admin("POST", "stream", json={"refuse": True})

        orders.wait_for_function(SIDEBAR_SAYS, arg="Delayed · REST every", timeout=20_000)
        orders.wait_for_function(SIDEBAR_SAYS, arg="Stream down", timeout=20_000)  # and why
        order_id = place_market_order(gateway, account, AAPL, "SELL", 5)
        orders.wait_for_function(CELL, arg=str(order_id), timeout=30_000)  # read over REST
        assert orders.evaluate(MARKED), "the page was reloaded"
        orders.screenshot(path=str(artifacts_dir / "live-delayed.png"), full_page=True)
    finally:
        gateway.admin("POST", "stream", json={"refuse": False})
    orders.wait_for_function(SIDEBAR_SAYS, arg="Live", timeout=60_000)
    orders.context.close()
