"""The Orders page under AppTest against the simulator: every inline validation message, and the preview-only mode.

The dashboard runs in ``external`` gateway mode against a simulator started by the ``sim`` fixture (logged in,
no pacing), so nothing here starts a gateway process. Streamlit's caches are cleared around every test, after the
cached GatewayManager's keep-alive thread is stopped.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ibkr import LIMITER, ClientPortalClient, StockOrder
from ibkr.orders import month_code
from tests.dashboard_harness import APP, run_until
from tests.integration.client_support import client_for

RUN_TIMEOUT = 60


@pytest.fixture(scope="module")
def working_orders(sim) -> dict[str, int]:
    """One resting order in every account, so no account's live orders are empty (IBKR's empty answer would be
    asked twice, 5 s apart): account -> order id."""
    placed: dict[str, int] = {}
    with client_for(sim) as client:
        for account in client.tradable_account_ids():
            ticket = StockOrder(account_id=account, symbol="IBM", side="BUY", quantity=1, order_type="LMT",
                                limit_price=210)
            placed[account] = int(client.place_order(ticket, accept={"o354"}).order_id)
        first = next(iter(placed))
        assert client.live_orders(first), "the simulator answers the first live-orders call of a session empty"
    return placed


@pytest.fixture(scope="module")
def working_order(working_orders) -> int:
    """The resting order of the first account."""
    return next(iter(working_orders.values()))


def test_with_every_account_shown_each_accounts_live_orders_are_read_for_that_account(orders_page, working_orders,
                                                                                     sim):
    # Without accountId IBKR answers for the selected account only (or falsely empty): the other accounts'
    # orders, and their Cancel buttons, were missing from the "all accounts" view.
    at = orders_page(book=True)
    assert not at.exception, [e.value for e in at.exception]
    working = " | ".join(at.selectbox(key="order_book_pick").options)
    for account, order_id in working_orders.items():
        assert str(order_id) in working and account in working, (account, order_id, working)


@pytest.fixture
def orders_page(sim, working_order, monkeypatch, tmp_path) -> Iterator:
    """A function that runs the app on the Orders page (``trading=False`` for the preview-only mode)."""
    LIMITER.reset()  # the app's own client paces through the process-wide limiter; each test starts it afresh
    st.cache_data.clear()
    st.cache_resource.clear()

    booted: list = []

    def open_page(trading: bool = True, book: bool = False) -> AppTest:
        """The Orders page; ``book=True`` waits until the live orders of every account were read once."""
        for name, value in {"IBKR_GATEWAY_MODE": "external", "IBKR_GATEWAY_URL": sim.url,
                            "IBKR_VERIFY_SSL": str(sim.cert), "IBKR_TRADING_ENABLED": str(trading).lower(),
                            "IBKR_TICKLE_SECONDS": "60", "XDG_STATE_HOME": str(tmp_path / "state"),
                            "XDG_CACHE_HOME": str(tmp_path / "cache")}.items():
            monkeypatch.setenv(name, value)
        from ibkr.gateway import AuthState
        from ibkr_desk.ui import services

        booted.append(services.gateway())  # the app's cached manager; its keep-alive must not outlive the test
        assert booted[-1].wait_for(AuthState.AUTHENTICATED, timeout=30), booted[-1].state
        at = AppTest.from_file(str(APP), default_timeout=RUN_TIMEOUT)
        at.run()
        at.switch_page("app_pages/orders.py").run()
        if book:
            assert services.order_book().live.wait(0, RUN_TIMEOUT), "the live orders were read once"
            at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    yield open_page
    from ibkr_desk.ui import services

    if booted:
        services.order_book().stop()
    for manager in booted:
        manager.stop()
    st.cache_data.clear()
    st.cache_resource.clear()


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def warnings(at: AppTest) -> list[str]:
    return [w.value for w in at.warning]


def stock_ticket(at: AppTest, symbol: str = "AAPL", quantity: float | None = 10) -> AppTest:
    account = at.selectbox(key="order_account")
    if account.value is None:  # the ticket never picks an account by itself
        account.set_value(account.options[0]).run()
    at.text_input(key="order_symbol_STK").input(symbol).run()
    if quantity is not None:
        at.number_input(key="order_quantity").set_value(quantity).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def submit_disabled(at: AppTest) -> bool:
    return next(b for b in at.button if b.label == "Submit order").disabled


def test_no_quantity(orders_page):
    at = stock_ticket(orders_page(), quantity=None)
    assert "Enter the quantity." in errors(at)
    assert submit_disabled(at)


def test_zero_quantity(orders_page):
    at = stock_ticket(orders_page(), quantity=0)
    assert any(e.startswith("Quantity must be greater than zero") for e in errors(at)), errors(at)
    assert submit_disabled(at)


def test_limit_order_without_a_price(orders_page):
    at = stock_ticket(orders_page())
    assert at.number_input(key="order_limit").value == pytest.approx(228.5), "starts at the last price"
    at.number_input(key="order_limit").set_value(None).run()
    assert "A limit (LMT) order needs a limit price." in errors(at)
    assert submit_disabled(at)


def test_stop_limit_needs_both_prices(orders_page):
    at = stock_ticket(orders_page())
    at.selectbox(key="order_type").set_value("STOP_LIMIT").run()
    at.number_input(key="order_limit").set_value(None).run()
    assert "A stop-limit order needs both a stop price and a limit price." in errors(at)


def test_price_far_from_the_market_warns_but_does_not_block(orders_page):
    at = stock_ticket(orders_page())
    at.number_input(key="order_limit").set_value(250.0).run()
    far = [w for w in warnings(at) if "above the last price" in w]
    assert far and re.search(r"The limit price 250 is 9\.4% above the last price 228\.5", far[0]), warnings(at)
    assert not errors(at)
    assert not submit_disabled(at)


@pytest.mark.parametrize("asset_class, key, symbol, message", [
    ("STK", "order_symbol_STK", "ZZZZ", "Unknown symbol: IBKR knows no stock with the symbol ZZZZ."),
    ("FUT", "order_symbol_FUT", "AAPL", "Unknown symbol: IBKR lists no futures for AAPL."),
    ("OPT", "order_symbol_OPT", "IBM", "Unknown symbol: IBKR lists no options on IBM."),
])
def test_unknown_symbol(orders_page, asset_class, key, symbol, message):
    at = orders_page()
    at.segmented_control(key="order_asset_class").set_value(asset_class).run()
    at.text_input(key=key).input(symbol).run()
    assert message in errors(at)
    assert submit_disabled(at)


def test_the_futures_picker_offers_ibkrs_contract_months_and_shows_the_earlier_expiry(orders_page, sim):
    # CL expires in the month before its contract month: the picker lists IBKR's months and the ticket trades
    # the contract IBKR files under the chosen month, whose last trading day is shown beside it.
    at = orders_page()
    at.segmented_control(key="order_asset_class").set_value("FUT").run()
    at.text_input(key="order_symbol_FUT").input("CL").run()
    picker = at.selectbox(key="order_pick_FUT_CL_month")
    front = sim.api("GET", "/trsrv/futures", params={"symbols": "CL"}).json()["CL"][0]
    info = sim.api("GET", f"/iserver/contract/{front['conid']}/info").json()
    assert picker.options[0] == month_code(info["contract_month"])
    expiry = dt.datetime.strptime(str(front["expirationDate"]), "%Y%m%d").date()
    assert picker.options[0] != expiry.strftime("%b%y").upper(), "the month is IBKR's, not the expiry's"
    captions = " ".join(c.value for c in at.caption)
    assert f"CL {picker.options[0]}: last trading day {expiry.isoformat()} · conid {front['conid']}" in captions


def test_pax_is_offered_for_crypto_only_and_the_tif_shown_is_the_tif_on_the_ticket(orders_page):
    # IBKR: "PAX (CRYPTO ONLY)". A TIF chosen for one asset class gives way to the next class's default, so a
    # stock's OPG never rides on a crypto order unseen, nor PAX on a stock.
    at = stock_ticket(orders_page())
    at.selectbox(key="order_tif").set_value("OPG").run()

    def ticket_line() -> str:
        return next(c.value for c in at.caption if c.value.startswith("Ticket:"))

    assert at.selectbox(key="order_tif").value == "OPG" and "OPG" in ticket_line()
    at.segmented_control(key="order_asset_class").set_value("CRYPTO").run()
    at.text_input(key="order_symbol_CRYPTO").input("BTC").run()
    at.number_input(key="order_quantity").set_value(0.01).run()
    crypto = at.selectbox(key="order_tif")
    assert crypto.value == "IOC" and [o.split(" ")[0] for o in crypto.options] == ["IOC", "GTC", "PAX"]
    assert ticket_line().endswith(" IOC · account " + at.selectbox(key="order_account").value), ticket_line()
    crypto.set_value("PAX").run()
    assert " PAX · account " in ticket_line() and not errors(at)
    at.segmented_control(key="order_asset_class").set_value("STK").run()
    stock = at.selectbox(key="order_tif")
    assert stock.value == "DAY" and "PAX" not in " ".join(stock.options)
    assert not at.exception, [e.value for e in at.exception]


def test_account_the_session_may_not_trade(orders_page, sim, monkeypatch):
    accounts = [a["id"] for a in sim.state()["accounts"]]
    view_only = accounts[-1]
    real = ClientPortalClient.tradable_account_ids
    monkeypatch.setattr(ClientPortalClient, "tradable_account_ids",
                        lambda self, refresh=False: [a for a in real(self, refresh) if a != view_only])
    at = orders_page()
    account = at.selectbox(key="order_account")
    assert view_only in account.options[-1] and "view only" in account.options[-1]
    account.set_value(view_only).run()
    stock_ticket(at)
    assert any(e.startswith(f"You may not trade in account {view_only}") for e in errors(at)), errors(at)
    assert submit_disabled(at)


def test_preview_only_when_trading_is_disabled(orders_page, working_order):
    at = stock_ticket(orders_page(trading=False, book=True))
    assert not errors(at)
    assert submit_disabled(at)
    assert any("IBKR_TRADING_ENABLED=false" in i.value for i in at.info)
    for action in ("Cancel", "Modify"):
        assert next(b for b in at.button if b.label == f"{action} order {working_order}").disabled
    next(b for b in at.button if b.label == "Preview (what-if)").click().run()
    text = " ".join(m.value for m in at.markdown)
    assert re.search(r"Commission \*\*1\.00 USD\*\*", text), text
    assert any("Margin utilisation it would leave" in s.value for s in at.success)


def test_during_ibkrs_penalty_the_live_orders_and_their_cancel_stay_with_their_time_and_a_countdown(
        orders_page, working_order):
    # In the penalty box the Orders page lost its live orders and Cancel buttons for 10 minutes.
    from ibkr_desk.ui.orders import lookups

    at = orders_page(book=True)
    assert next(b for b in at.button if b.label == f"Cancel order {working_order}")
    LIMITER.pause(600)  # what the transport does after IBKR's 429
    try:
        lookups.refresh()  # the reader's next round meets the penalty

        def penalty_note(at: AppTest) -> list[str]:
            return [w for w in warnings(at) if w.startswith("Showing the live orders as of ")]

        run_until(at, penalty_note, timeout=30, what="the penalty note")
        assert not at.exception, [e.value for e in at.exception]
        notes = penalty_note(at)
        assert notes and "rate-limited" in notes[0], warnings(at)
        cancel = next(b for b in at.button if b.label == f"Cancel order {working_order}")
        assert not cancel.disabled
        countdown = [c.value for c in at.sidebar.caption if "requests resume in" in c.value]
        assert countdown and re.search(r"resume in (59\d|600) s", countdown[0]), countdown
    finally:
        LIMITER.reset()


def test_while_ibkr_waits_for_an_answer_no_other_order_request_goes_out(orders_page, working_order, sim):
    # IBKR cancels an order whose question is not answered at once, and other order requests cancel it too; the
    # live orders kept polling every 8 s and Preview, Modify and Cancel stayed live beside the question.
    at = stock_ticket(orders_page(book=True), "MSFT", 600)  # above IBKR's size limit: IBKR asks first
    next(b for b in at.button if b.label == "Submit order").click().run()
    run_until(at, lambda at: any("IBKR asks before placing" in m.value for m in at.markdown), timeout=30,
              what="IBKR's question")
    polled = sim.stats()["requests"].get("GET /iserver/account/orders", 0)
    at.run()
    assert any("Not refreshed while IBKR waits for the answer" in c.value for c in at.caption)
    assert sim.stats()["requests"].get("GET /iserver/account/orders", 0) == polled
    assert next(b for b in at.button if b.label == "Preview (what-if)").disabled
    assert next(b for b in at.button if b.label == f"Cancel order {working_order}").disabled

    next(b for b in at.button if b.label == "No, do not place it").click().run()
    run_until(at, lambda at: any("Not placed" in i.value for i in at.info), timeout=30, what="IBKR's answer")
    assert not any("Not refreshed while IBKR waits" in c.value for c in at.caption)
    assert not next(b for b in at.button if b.label == f"Cancel order {working_order}").disabled
