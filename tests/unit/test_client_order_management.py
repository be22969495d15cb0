"""Working orders: what-if, modify (the whole ticket), cancel, live orders (first call empty), status, trades."""

from __future__ import annotations

import pytest

from ibkr.errors import OrderRejected, OrderStatusUnknown, OrderValidationError
from ibkr.models import OrderAccepted
from ibkr.orders import ConidOrder, FutureOrder
from ibkr.sessions import new_brokerage_session
from tests.fixtures.cpapi_samples import load_sample, sample_text

ACCOUNT = "U1234567"
ACCEPTED = {"text": sample_text("POST_iserver_account_accountId_orders__orderSubmitSuccessExample.json")}


@pytest.fixture
def trading(gateway):
    gateway.add("GET", "/iserver/accounts", sample="GET_iserver_accounts.json")
    return gateway


def stop_limit() -> ConidOrder:
    return ConidOrder(account_id=ACCOUNT, conid=265598, side="SELL", quantity=10, order_type="STOP_LIMIT",
                      stop_price=140.0, limit_price=139.5, tif="GTC", outside_rth=True)


def test_whatif_previews_without_placing(client, trading):
    trading.add("POST", f"/iserver/account/{ACCOUNT}/orders/whatif",
                sample="POST_iserver_account_accountId_orders_whatif.json")
    trading.add("GET", "/iserver/marketdata/snapshot", json_body=[{"conid": 265598}])

    preview = client.whatif(stop_limit())

    assert preview.amount.amount == 1977.6 and preview.initial.change == 652.0
    (sent,) = trading.body("POST", f"/iserver/account/{ACCOUNT}/orders/whatif")["orders"]
    assert (sent["price"], sent["auxPrice"], sent["orderType"]) == (139.5, 140.0, "STOP_LIMIT")
    assert "cOID" not in sent
    assert trading.count("POST", f"/iserver/account/{ACCOUNT}/orders") == 0


def test_a_whatif_quotes_the_instrument_first_once_per_brokerage_session(client, trading):
    # IBKR: "Clients must query /iserver/marketdata/snapshot for the instrument prior to requesting /whatif".
    trading.add("POST", f"/iserver/account/{ACCOUNT}/orders/whatif",
                sample="POST_iserver_account_accountId_orders_whatif.json")
    trading.add("GET", "/iserver/marketdata/snapshot", json_body=[{"conid": 265598}])

    client.whatif(stop_limit())
    client.whatif(stop_limit())
    assert trading.count("GET", "/iserver/marketdata/snapshot") == 1
    assert trading.requests("GET", "/iserver/marketdata/snapshot")[0].qs["conids"] == [str(stop_limit().conid)]
    new_brokerage_session(client.settings.gateway_url)
    client.whatif(stop_limit())
    assert trading.count("GET", "/iserver/marketdata/snapshot") == 2


def test_modify_sends_the_whole_original_ticket_with_the_change(client, trading):
    trading.add("POST", f"/iserver/account/{ACCOUNT}/orders", ACCEPTED)
    trading.add("POST", f"/iserver/account/{ACCOUNT}/order/1370093239",
                sample="POST_iserver_account_accountId_order_orderId__orderModifySuccessExample.json")
    placed = client.place_order(stop_limit())

    result = client.modify(ACCOUNT, placed.order_id, {"limit_price": 138.0})

    body = trading.body("POST", f"/iserver/account/{ACCOUNT}/order/1370093239")
    assert isinstance(result, OrderAccepted)
    assert body == {"acctId": ACCOUNT, "conid": 265598, "secType": "265598:STK", "orderType": "STOP_LIMIT",
                    "side": "SELL", "quantity": 10.0, "tif": "GTC", "outsideRTH": True, "price": 138.0,
                    "auxPrice": 140.0}


def test_modify_an_order_placed_elsewhere_rebuilds_it_from_live_orders(client, trading):
    live = {**load_sample("GET_iserver_account_orders.json")["orders"][0], "orderId": 55, "conid": 265598,
            "secType": "STK", "side": "BUY", "origOrderType": "LIMIT", "price": "150.25", "totalSize": 20.0,
            "timeInForce": "GTC", "ticker": "AAPL"}
    trading.add("GET", "/iserver/account/orders", json_body={"orders": [live], "snapshot": True})
    trading.add("POST", f"/iserver/account/{ACCOUNT}/order/55", ACCEPTED)

    client.modify(ACCOUNT, 55, {"quantity": 25})

    body = trading.body("POST", f"/iserver/account/{ACCOUNT}/order/55")
    assert (body["conid"], body["side"], body["orderType"], body["price"], body["quantity"], body["tif"]) == (
        265598, "BUY", "LMT", 150.25, 25.0, "GTC")


def test_modify_with_an_invalid_change_sends_nothing(client, trading):
    trading.add("POST", f"/iserver/account/{ACCOUNT}/orders", ACCEPTED)
    placed = client.place_order(stop_limit())

    with pytest.raises(OrderValidationError, match="Quantity must be greater than zero"):
        client.modify(ACCOUNT, placed.order_id, {"quantity": 0})

    assert trading.count("POST", f"/iserver/account/{ACCOUNT}/order/{placed.order_id}") == 0


def test_modify_that_times_out_is_not_resent(client, trading):
    import requests

    trading.add("POST", f"/iserver/account/{ACCOUNT}/orders", ACCEPTED)
    trading.add("POST", f"/iserver/account/{ACCOUNT}/order/1370093239", exc=requests.exceptions.ReadTimeout)
    placed = client.place_order(stop_limit())

    with pytest.raises(OrderStatusUnknown, match="Check the order's status"):
        client.modify(ACCOUNT, placed.order_id, {"limit_price": 138.0})

    assert trading.count("POST", f"/iserver/account/{ACCOUNT}/order/1370093239") == 1


def test_cancel_acknowledges_and_errors_are_rejections(client, trading):
    trading.add("DELETE", f"/iserver/account/{ACCOUNT}/order/1370093239",
                sample="DELETE_iserver_account_accountId_order_orderId__orderCancelSuccessExample.json")
    trading.add("DELETE", f"/iserver/account/{ACCOUNT}/order/123456",
                sample="DELETE_iserver_account_accountId_order_orderId__orderCancelErrorExample.json")

    ack = client.cancel(ACCOUNT, 1370093239)
    with pytest.raises(OrderRejected, match="OrderID 123456 doesn't exist"):
        client.cancel(ACCOUNT, 123456)

    assert ack.msg == "Request was submitted" and ack.order_id == "1370093239"
    assert trading.count("DELETE") == 2


def test_cancelling_a_future_sends_the_manual_indicator(client, trading):
    trading.add("POST", f"/iserver/account/{ACCOUNT}/orders", ACCEPTED)
    trading.add("DELETE", f"/iserver/account/{ACCOUNT}/order/1370093239", json_body={"msg": "Request was submitted"})
    placed = client.place_order(FutureOrder(account_id=ACCOUNT, symbol="ES", contract_month="DEC25", side="BUY",
                                            quantity=1, order_type="LMT", limit_price=5000, conid=495512563))

    client.cancel(ACCOUNT, placed.order_id)

    assert trading.requests("DELETE")[0].qs == {"manualindicator": ["true"],
                                                 "extoperator": [client.settings.operator.lower()]}


def test_cancelling_an_order_placed_elsewhere_still_sends_the_cme_fields(client, trading):
    # IBKR: a futures cancel needs manualIndicator "regardless of original submission"; this process placed nothing.
    trading.add("DELETE", f"/iserver/account/{ACCOUNT}/order/77", json_body={"msg": "Request was submitted"})

    client.cancel(ACCOUNT, 77, operator="Jane Doe")

    assert trading.requests("DELETE")[0].qs == {"manualindicator": ["true"], "extoperator": ["jane doe"]}


def test_live_orders_ask_again_when_the_first_call_is_empty(client, trading):
    trading.add("GET", "/iserver/account/orders", {"json": {"orders": [], "snapshot": True}},
                {"text": sample_text("GET_iserver_account_orders.json")}, {"json": {"orders": [], "snapshot": True}})

    first = client.live_orders(ACCOUNT)
    later = client.live_orders(ACCOUNT)

    assert [o.order_id for o in first] == [1370093238] and later == []
    assert trading.count("GET", "/iserver/account/orders") == 3  # empty+data, then one call once warm


def test_trades_ask_again_when_the_first_call_of_the_brokerage_session_is_empty(client, trading):
    fills = load_sample("GET_iserver_account_trades.json")
    trading.add("GET", "/iserver/account/trades", {"json": []}, {"json": fills}, {"json": []}, {"json": []},
                {"json": fills})

    first = client.trades(days=7, account_id=ACCOUNT)
    later = client.trades(days=7, account_id=ACCOUNT)
    assert len(first) == len(fills) and later == []
    assert trading.count("GET", "/iserver/account/trades") == 3

    new_brokerage_session(client.settings.gateway_url)  # e.g. the keeper re-opened the session at night
    assert len(client.trades(days=7, account_id=ACCOUNT)) == len(fills)
    assert trading.count("GET", "/iserver/account/trades") == 5


def test_the_warm_up_is_tracked_per_brokerage_session_not_per_client(client, trading):
    trading.add("GET", "/iserver/account/orders", {"json": {"orders": []}})

    client.live_orders("U1")
    client.live_orders("U2")
    assert trading.count("GET", "/iserver/account/orders") == 3, "the session warms up once"
    new_brokerage_session(client.settings.gateway_url)  # the keeper primed a new session, or one ended
    client.live_orders("U1")
    assert trading.count("GET", "/iserver/account/orders") == 5


def test_live_orders_force_refreshes_then_reads(client, trading):
    trading.add("GET", "/iserver/account/orders", {"json": {"orders": []}},
                {"text": sample_text("GET_iserver_account_orders.json")})

    orders = client.live_orders(force=True)

    assert len(orders) == 1
    assert [r.qs.get("force") for r in trading.requests("GET", "/iserver/account/orders")] == [["true"], None]


def test_order_status_and_trades(client, trading):
    trading.add("GET", "/iserver/account/order/status/1799796559", sample="GET_iserver_account_order_status_orderId.json")
    trading.add("GET", "/iserver/account/trades", sample="GET_iserver_account_trades.json")

    status = client.order_status(1799796559)
    (trade,) = client.trades(days=3)

    assert status.order_status == "Filled" and status.total_size == 5.0
    assert trade.execution_id == "0000e0d5.6576fd38.01.01" and trade.size == 5.0
    assert trading.requests("GET", "/iserver/account/trades")[0].qs == {"days": ["3"]}
    with pytest.raises(ValueError, match="at most 7 days"):
        client.trades(days=8)


def test_suppress_questions_sends_the_ids(client, trading):
    trading.add("POST", "/iserver/questions/suppress", sample="POST_iserver_questions_suppress.json")

    result = client.suppress_questions(["o163", "o354", "o163"])

    assert result.status == "submitted"
    assert trading.body("POST", "/iserver/questions/suppress") == {"messageIds": ["o163", "o354"]}
