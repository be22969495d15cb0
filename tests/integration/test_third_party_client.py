"""A public third-party client (ibind) works against the simulator unchanged: session, portfolio, contracts,
market data and orders. ibind does not pace its requests (ibind #15), so this simulator runs without pacing."""

from __future__ import annotations

import pytest

ibind = pytest.importorskip("ibind")
from ibind import IbkrClient  # noqa: E402
from ibind.client.ibkr_utils import OrderRequest, QuestionType  # noqa: E402

YES_TO_ALL = {q: True for q in QuestionType}


@pytest.fixture(scope="module")
def pair(start_sim):
    sim = start_sim("--auto-login", "--no-pacing")
    client = IbkrClient(url=f"{sim.url}/v1/api/", cacert=str(sim.cert), use_session=True,
                        auto_register_shutdown=False)
    yield sim, client
    client.close()


def test_session_calls(pair):
    _, c = pair
    assert c.check_health() is True
    assert c.tickle().data["iserver"]["authStatus"]["authenticated"] is True
    assert c.initialize_brokerage_session().data["authenticated"] is True
    assert c.validate().data["RESULT"] is True


def test_portfolio_calls(pair):
    sim, c = pair
    truth = sim.state()
    accounts = c.portfolio_accounts().data
    assert [a["accountId"] for a in accounts] == [a["id"] for a in truth["accounts"]]
    c.receive_brokerage_accounts()
    acct = truth["accounts"][0]
    positions = c.positions(acct["id"], page=0).data
    assert {p["conid"] for p in positions} == {p["conid"] for p in acct["positions"]}
    summary = c.portfolio_summary(acct["id"]).data
    ledger = c.get_ledger(acct["id"]).data
    assert summary["netliquidation"]["amount"] == ledger["BASE"]["netliquidationvalue"]
    assert c.invalidate_backend_portfolio_cache(acct["id"]).data == {"message": "success"}


def test_contract_and_market_data_calls(pair):
    _, c = pair
    c.receive_brokerage_accounts()
    assert c.stock_conid_by_symbol("AAPL").data == {"AAPL": 265598}
    assert c.search_contract_by_symbol("AAPL").data[0]["conid"] == "265598"
    first = c.live_marketdata_snapshot(["265598"], ["31", "84", "86"]).data
    assert set(first[0]) == {"conid", "conidEx"}  # the preflight
    second = c.live_marketdata_snapshot(["265598"], ["31", "84", "86"]).data
    assert float(second[0]["31"].replace(",", "")) > 0
    assert c.marketdata_history_by_conid("265598", period="1d", bar="1h").data["data"]


def test_order_calls(pair):
    sim, c = pair
    c.receive_brokerage_accounts()
    acct = sim.state()["accounts"][0]["id"]
    limit = OrderRequest(conid=265598, side="BUY", quantity=10, order_type="LMT", price=150.0, acct_id=acct,
                         coid="third-party-lmt")
    placed = c.place_order(limit, answers=YES_TO_ALL, account_id=acct).data
    market = OrderRequest(conid=265598, side="SELL", quantity=5, order_type="MKT", acct_id=acct,
                          coid="third-party-mkt")
    filled = c.place_order(market, answers=YES_TO_ALL, account_id=acct).data
    order_id = int(placed["order_id"]) if isinstance(placed, dict) else int(placed[0]["order_id"])
    c.modify_order(order_id, OrderRequest(conid=265598, side="BUY", quantity=12, order_type="LMT", price=151.0,
                                          acct_id=acct), answers=YES_TO_ALL, account_id=acct)
    c.cancel_order(order_id, account_id=acct)
    c.live_orders(account_id=acct)  # clears the cancel
    orders = {o["cOID"]: o for o in sim.state()["orders"]}
    assert orders["third-party-lmt"]["status"] == "Cancelled" and orders["third-party-lmt"]["quantity"] == 12
    assert orders["third-party-mkt"]["status"] == "Filled"
    assert filled
    # IBKR answers the first trades call of a brokerage session empty, as the simulator does: ibind asks once, so a
    # caller of it asks again (the answer is for the selected account, which placed it)
    c.trades()  # the warm-up call
    assert any(t["order_ref"] == "third-party-mkt" for t in c.trades().data)
