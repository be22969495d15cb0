"""A served dashboard (``python -m ibkr_desk``, as its systemd unit starts it) works from the moment it starts,
with no page open: the gateway is started and kept, the portfolio refresher records each account's history, and
the live-orders reader notifies a fill. A hosted instance that came up at machine boot does its job before anyone
looks at it."""

from __future__ import annotations

import sqlite3
import time

import pytest

from tests.dashboard_harness import streamlit_app
from tests.integration.test_notify import Receiver

pytestmark = pytest.mark.slow


def wait_for(what: str, check, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"never saw {what} within {timeout:.0f} s")


def history_rows(database) -> dict[str, int]:
    if not database.exists():
        return {}
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        try:
            return dict(db.execute("SELECT account, COUNT(*) FROM account_history GROUP BY account").fetchall())
        except sqlite3.OperationalError:  # the table is not there yet
            return {}


def _answers(truth, gateway: str) -> bool:
    try:
        return truth.get(f"{gateway}/sim/state", timeout=5).ok
    except (OSError, Exception):  # no certificate yet, or nothing listening yet
        return False


def test_with_no_page_open_the_dashboard_keeps_history_and_notifies_a_fill(tmp_path):
    from ibkr import ClientPortalClient, OrderAccepted, Settings, StockOrder
    from ibkr.pacing import PacingLimiter

    receiver = Receiver()
    try:
        with streamlit_app(tmp_path, sim_auto_login="true", history_minutes="0.05",
                           notify_webhook_url=receiver.url) as app:
            truth = app["truth"]
            # the gateway comes up on its own (the server answers first; the simulator writes its certificate)
            wait_for("the simulator started by the served dashboard", lambda: _answers(truth, app["gateway"]))
            accounts = [a["id"] for a in truth.get(f"{app['gateway']}/sim/state", timeout=10).json()["accounts"]]
            database = tmp_path / "state" / "ibkr-desk" / "desk.sqlite3"
            # Nobody opened a page: the refresher was started with the server and records every few seconds here.
            rows = wait_for("two history rows of every account",
                            lambda: (r := history_rows(database)) and all(r.get(a, 0) >= 2 for a in accounts) and r)
            assert set(rows) == set(accounts)
            # the live-orders reader reads each account's orders in turn: its baseline for the fills to come
            wait_for("every account's live orders read", lambda: truth.get(f"{app['gateway']}/sim/stats", timeout=10)
                     .json()["requests"].get("GET /iserver/account/orders", 0) >= len(accounts) + 1)

            # An order placed elsewhere (another platform on the same session) fills: the desk notifies it.
            # It shares the gateway's 10 requests a second with the dashboard, whose limiter keeps to 8: at one a
            # second this client leaves it those (with a limiter of its own at 8 too, the two made IBKR's 429).
            client = ClientPortalClient(Settings(gateway_url=app["gateway"], verify_ssl=truth.verify),
                                        limiter=PacingLimiter(global_limit=1))
            try:
                result = client.place_order(StockOrder(account_id=accounts[0], symbol="AAPL", side="BUY", quantity=5,
                                                       order_type="MKT"), accept={"o354", "o10151", "o10153"})
            finally:
                client.close()
            assert isinstance(result, OrderAccepted), result
            wait_for("the fill's notification", lambda: any("filled" in b["text"] for b in receiver.bodies))
            stats = truth.get(f"{app['gateway']}/sim/stats", timeout=10).json()
        assert stats["rate_limited"] == 0, stats["requests"]
        # (the simulated accounts' margin levels are notified too; the order's is the one fill, once)
        assert [b["text"] for b in receiver.bodies if "order" in b["text"]] == ["A buy order was filled."]
    finally:
        receiver.stop()
