"""The dashboard with its stream, under AppTest against the simulator its own GatewayManager starts: the sidebar
says "Live" while the stream is healthy and REST's pnl/partitioned rests; when the simulator drops and refuses
the websocket the sidebar says "Delayed · REST every N s" with the reason, and the REST refresh takes over
(pnl/partitioned is read again, the live orders are read again); the Positions page shows a daily P&L per
position."""

from __future__ import annotations

import re
import time

from tests.dashboard_harness import DashboardHarness, run_until

PNL = "GET /iserver/account/pnl/partitioned"
ORDERS = "GET /iserver/account/orders"


def sidebar_text(at) -> str:
    return " ".join(str(m.value) for m in at.sidebar.markdown) + " " + " ".join(
        str(c.value) for c in at.sidebar.caption)


def requests(dash: DashboardHarness, key: str) -> int:
    return dash.admin("GET", "stats")["requests"].get(key, 0)


def test_the_indicator_says_live_then_delayed_when_the_stream_is_down_and_rest_takes_over(tmp_path):
    from ibkr_desk.ui import services

    with DashboardHarness(tmp_path, refresh_seconds="2") as dash:
        at = dash.boot()
        feed = services.live()
        assert feed.stream is not None and feed.stream.wait_until(lambda: feed.live, 30), feed.health()
        run_until(at, lambda at: "Live" in sidebar_text(at), 30, "the Live indicator")
        book = services.order_book()  # the order readers: one REST round, then they rest while the stream is live
        assert book.live.wait(0, 60) and book.trades.wait(0, 60)
        time.sleep(2)
        pnl_live, orders_live = requests(dash, PNL), requests(dash, ORDERS)
        time.sleep(6)
        assert requests(dash, PNL) == pnl_live  # daily P&L comes from the stream: no REST read of it
        assert requests(dash, ORDERS) == orders_live  # nor of the live orders

        dash.admin("POST", "stream", json={"refuse": True})

        assert feed.stream.wait_until(lambda: not feed.live, 15)
        try:
            at = run_until(at, lambda at: re.search(r"Delayed · REST every \d+ s", sidebar_text(at)), 30,
                           "the Delayed indicator")
        finally:
            print(sidebar_text(at))
        assert "Stream " in sidebar_text(at)  # with the reason
        deadline = time.monotonic() + 30
        while (requests(dash, PNL) == pnl_live or requests(dash, ORDERS) == orders_live) \
                and time.monotonic() < deadline:
            time.sleep(0.5)
        assert requests(dash, PNL) > pnl_live and requests(dash, ORDERS) > orders_live  # REST took over

        dash.admin("POST", "stream", json={"refuse": False})
        assert feed.stream.wait_until(lambda: feed.live, 30)
        run_until(at, lambda at: "Live" in sidebar_text(at) and "Delayed" not in sidebar_text(at), 30,
                  "the Live indicator again")


def test_the_positions_page_shows_each_positions_daily_pnl(tmp_path):
    from ibkr_desk.ui import services

    with DashboardHarness(tmp_path) as dash:
        at = dash.boot()
        at = dash.page(at, "positions")
        marks = services.position_marks()
        run_until(at, lambda at: marks.status().conids > 0 and marks.status().read == marks.status().conids, 60,
                  "every position's daily P&L read")
        at = dash.page(at, "positions")
        table = at.dataframe[0].value
        assert {"daily_pnl_report", "daily_pnl_age"} <= set(table.columns)
        assert table["daily_pnl_report"].notna().all() and (table["daily_pnl_age"] != "—").all()
