"""Order tickets: validation a trader understands, IBKR's body per order type, contract resolution per asset class."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import TypeAdapter

from ibkr.errors import OrderValidationError
from ibkr.orders import (
    BondOrder,
    ConidOrder,
    CryptoOrder,
    ForexOrder,
    FutureOrder,
    OptionOrder,
    OrderTicket,
    StockOrder,
)

ACCOUNT = "U1234567"
ACCEPTED = [{"order_id": "42", "order_status": "Submitted"}]


def stock(**kw) -> StockOrder:
    return StockOrder(**{"account_id": ACCOUNT, "symbol": "AAPL", "side": "BUY", "quantity": 10, **kw})


@pytest.mark.parametrize("changes, message", [
    ({"quantity": 0}, "Quantity must be greater than zero (got 0); to sell, choose side SELL."),
    ({"order_type": "LMT"}, "A limit (LMT) order needs a limit price."),
    ({"order_type": "STP"}, "A stop (STP) order needs a stop price."),
    ({"order_type": "STOP_LIMIT"}, "A stop-limit order needs both a stop price and a limit price."),
    ({"order_type": "STOP_LIMIT", "stop_price": 10}, "A stop-limit order needs a limit price."),
    ({"order_type": "TRAIL"}, "A trailing stop (TRAIL) order needs a trailing amount greater than zero."),
    ({"order_type": "TRAIL", "trailing_amount": 150, "trailing_type": "%"}, "A trailing percentage must be below 100%."),
    ({"limit_price": 100}, "A market (MKT) order takes no limit price; choose LMT or STOP_LIMIT to set one."),
    ({"order_type": "LMT", "limit_price": -1}, "The limit price must be greater than zero (got -1)."),
    ({"order_type": "STP", "stop_price": 99, "tif": "OPG"}, "OPG (at the opening auction) works only with market or limit orders."),
    ({"account_id": " "}, "Choose the account the order is for."),
])
def test_problems_are_sentences_a_trader_understands(changes, message):
    ticket = stock(**changes)

    assert message in ticket.problems()
    with pytest.raises(OrderValidationError, match="Order not sent"):
        ticket.check()


def test_a_complete_ticket_has_no_problems():
    assert stock(order_type="LMT", limit_price=150.5, tif="GTC", outside_rth=True).problems() == []


def test_wrong_values_are_refused_at_construction_in_plain_words():
    with pytest.raises(OrderValidationError, match="the side must be one of 'BUY' or 'SELL'"):
        stock(side="HOLD")
    with pytest.raises(OrderValidationError, match="the time in force must be one of"):
        stock(tif="FOREVER")
    with pytest.raises(OrderValidationError, match="'colour' is not a field"):
        stock(colour="red")


def test_pax_is_for_crypto_only_and_a_crypto_order_is_ioc_unless_told_otherwise():
    # IBKR v1 docs, Place Order, tif: "GTC, OPG, DAY, IOC, PAX (CRYPTO ONLY)"; the ticket had no PAX and sent
    # crypto as DAY.
    btc = {"account_id": ACCOUNT, "symbol": "BTC", "side": "BUY", "quantity": 0.01}

    plain, pax = CryptoOrder(**btc), CryptoOrder(**btc, tif="pax")
    by_conid = ConidOrder(account_id=ACCOUNT, conid=479624278, sec_type="CRYPTO", side="BUY", quantity=1, tif="PAX")

    assert plain.body(479624278, None)["tif"] == "IOC" and plain.describe().endswith("IOC")
    assert pax.problems() == [] and pax.body(479624278, None)["tif"] == "PAX"
    assert by_conid.problems() == []
    assert stock(tif="PAX").problems() == ["PAX is a time in force for crypto orders only; choose DAY, GTC, IOC or OPG."]
    assert stock().tif == "DAY", "other classes keep DAY"


def test_names_are_forgiving_about_case_and_spelling():
    ticket = stock(side="sell", order_type="stop limit", stop_price=9, limit_price=8.5, tif="gtc")

    assert (ticket.side.value, ticket.order_type.value, ticket.tif.value) == ("SELL", "STOP_LIMIT", "GTC")


@pytest.mark.parametrize("fields, expected", [
    ({"order_type": "MKT"}, {"orderType": "MKT"}),
    ({"order_type": "LMT", "limit_price": 150}, {"orderType": "LMT", "price": 150}),
    ({"order_type": "STP", "stop_price": 140}, {"orderType": "STP", "price": 140}),
    ({"order_type": "STOP_LIMIT", "stop_price": 140, "limit_price": 139}, {"price": 139, "auxPrice": 140}),
    ({"order_type": "TRAIL", "trailing_amount": 2.5}, {"trailingAmt": 2.5, "trailingType": "amt"}),
    ({"order_type": "TRAIL", "trailing_amount": 1, "trailing_type": "%", "stop_price": 145},
     {"trailingAmt": 1, "trailingType": "%", "price": 145}),
])
def test_each_order_type_fills_ibkrs_price_fields(fields, expected):
    body = stock(**fields).body(265598, "c1")

    assert {k: body[k] for k in expected} == expected
    assert set(body) & {"price", "auxPrice", "trailingAmt"} == set(expected) & {"price", "auxPrice", "trailingAmt"}


def test_tickets_from_dicts_are_told_apart_by_kind():
    ticket = TypeAdapter(OrderTicket).validate_python(
        {"kind": "CASH", "account_id": ACCOUNT, "pair": "eur/usd", "side": "BUY", "quantity": 20000})

    assert isinstance(ticket, ForexOrder) and ticket.pair == "EUR.USD"


# -- resolution per asset class, through place_order -------------------------------------------------------------

@pytest.fixture
def trading(gateway):
    gateway.add("GET", "/iserver/accounts", sample="GET_iserver_accounts.json")
    gateway.add("POST", f"/iserver/account/{ACCOUNT}/orders", json_body=ACCEPTED)
    return gateway


def sent(trading) -> dict:
    (order,) = trading.body("POST", f"/iserver/account/{ACCOUNT}/orders")["orders"]
    return order


def es_futures(trading) -> None:
    """IBKR's futures workflow for ES: the search lists its contract months, secdef/info the month's contract."""
    trading.add("GET", "/iserver/secdef/search", json_body=[
        {"conid": "11004968", "symbol": "ES", "description": "CME",
         "sections": [{"secType": "IND", "exchange": "CME;"}, {"secType": "FUT", "months": "DEC25;MAR26",
                                                              "exchange": "CME"}]}])
    trading.add("GET", "/iserver/secdef/info", json_body=[
        {"conid": 495512563, "symbol": "ES", "secType": "FUT", "maturityDate": "20251219", "exchange": "CME"}])


def test_option_is_resolved_through_search_strikes_and_info(client, trading):
    search = [{"conid": "8314", "symbol": "IBM", "description": "NYSE",
               "sections": [{"secType": "STK"}, {"secType": "OPT", "months": "FEB30;MAR30", "exchange": "SMART;CBOE"}]}]
    trading.add("GET", "/iserver/secdef/search", json_body=search)
    trading.add("GET", "/iserver/secdef/strikes", json_body={"call": [180.0, 187.5, 190.0], "put": [180.0]})
    trading.add("GET", "/iserver/secdef/info", json_body=[
        {"conid": 900001, "symbol": "IBM", "secType": "OPT", "right": "C", "strike": 187.5, "maturityDate": "20300308"},
        {"conid": 900002, "symbol": "IBM", "secType": "OPT", "right": "C", "strike": 187.5, "maturityDate": "20300315"},
    ])
    ticket = OptionOrder(account_id=ACCOUNT, underlying="IBM", expiry="20300315", strike=187.5, right="CALL",
                         side="BUY", quantity=2, order_type="LMT", limit_price=3.2)

    client.place_order(ticket)

    assert sent(trading)["conid"] == 900002 and sent(trading)["secType"] == "900002:OPT"
    strikes_query = trading.requests("GET", "/iserver/secdef/strikes")[0].qs
    assert strikes_query == {"conid": ["8314"], "sectype": ["opt"], "month": ["mar30"], "exchange": ["smart"]}
    assert trading.requests("GET", "/iserver/secdef/info")[0].qs["right"] == ["c"]


def test_an_unlisted_option_strike_is_explained(client, trading):
    trading.add("GET", "/iserver/secdef/search", json_body=[
        {"conid": "8314", "symbol": "IBM", "sections": [{"secType": "OPT", "months": "MAR30"}]}])
    trading.add("GET", "/iserver/secdef/strikes", json_body={"call": [180.0, 185.0, 190.0], "put": []})
    ticket = OptionOrder(account_id=ACCOUNT, underlying="IBM", expiry=dt.date(2030, 3, 15), strike=187.5, right="C",
                         side="BUY", quantity=1)

    with pytest.raises(OrderValidationError, match="IBM MAR30 has no 187.5 strike; nearest: 185, 190"):
        client.place_order(ticket)

    assert trading.count("POST", f"/iserver/account/{ACCOUNT}/orders") == 0


def test_an_expired_option_is_refused_before_any_lookup(client, trading):
    ticket = OptionOrder(account_id=ACCOUNT, underlying="IBM", expiry="20200117", strike=100, right="P",
                         side="SELL", quantity=1)

    with pytest.raises(OrderValidationError, match="expiry 2020-01-17 is in the past"):
        client.place_order(ticket)

    assert trading.count() == 0


def test_future_by_contract_month_sends_manual_indicator_and_the_operator(client, trading):
    es_futures(trading)

    client.place_order(FutureOrder(account_id=ACCOUNT, symbol="ES", contract_month="DEC25", side="SELL", quantity=1))

    assert sent(trading)["conid"] == 495512563 and sent(trading)["manualIndicator"] is True
    assert sent(trading)["extOperator"] == client.settings.operator and client.settings.operator


def test_an_automated_caller_marks_its_future_orders_not_manual_and_names_itself(client, trading):
    es_futures(trading)

    client.place_order(FutureOrder(account_id=ACCOUNT, symbol="ES", contract_month="DEC25", side="SELL", quantity=1),
                       manual=False, operator="rebalancer-bot")

    assert (sent(trading)["manualIndicator"], sent(trading)["extOperator"]) == (False, "rebalancer-bot")


def test_orders_other_than_futures_carry_no_cme_fields(client, trading):
    trading.add("GET", "/trsrv/stocks", sample="GET_trsrv_stocks.json")

    client.place_order(stock(symbol="IBM"))

    assert "manualIndicator" not in sent(trading) and "extOperator" not in sent(trading)


def test_a_missing_future_month_lists_ibkrs_contract_months(client, trading):
    es_futures(trading)

    with pytest.raises(OrderValidationError, match=r"no ES future for MAR25; contract months: DEC25 \(202512\), "
                                                   r"MAR26 \(202603\)"):
        client.place_order(FutureOrder(account_id=ACCOUNT, symbol="ES", contract_month="202503", side="BUY",
                                       quantity=1))

    assert trading.count("POST") == 0


def test_a_cl_contract_month_is_ibkrs_month_not_the_expiry_month(client, trading):
    # CME: CL trading terminates in the month BEFORE the contract month, so CL JAN27 expires on 2026-12-17 and the
    # contract expiring in January 2027 is CL FEB27. A month derived from the expiry would trade the wrong one.
    trading.add("GET", "/iserver/secdef/search", json_body=[
        {"conid": "17340715", "symbol": "CL", "sections": [{"secType": "FUT", "months": "JAN27;FEB27",
                                                            "exchange": "NYMEX"}]}])
    trading.add("GET", "/iserver/secdef/info", json_body=[
        {"conid": 212921504, "symbol": "CL", "secType": "FUT", "maturityDate": "20261222", "exchange": "NYMEX"}])
    trading.add("GET", "/trsrv/futures", json_body={"CL": [
        {"symbol": "CL", "conid": 212921504, "expirationDate": 20261222},
        {"symbol": "CL", "conid": 212921505, "expirationDate": 20270120}]})

    client.place_order(FutureOrder(account_id=ACCOUNT, symbol="CL", contract_month="JAN27", side="BUY", quantity=1))

    assert sent(trading)["conid"] == 212921504
    assert trading.requests("GET", "/iserver/secdef/info")[0].qs["month"] == ["jan27"]
    assert trading.count("GET", "/trsrv/futures") == 0, "the expiry list is no contract month"


def test_a_future_by_expiry_date_is_found_in_trsrv_futures(client, trading):
    trading.add("GET", "/trsrv/futures", sample="GET_trsrv_futures.json")

    client.place_order(FutureOrder(account_id=ACCOUNT, symbol="ES", contract_month="20251219", side="BUY",
                                   quantity=1))

    assert sent(trading)["conid"] == 495512563


def test_forex_pair_goes_to_idealpro(client, trading):
    trading.add("GET", "/iserver/currency/pairs", json_body={"EUR": [{"symbol": "EUR.GBP", "conid": 1},
                                                                     {"symbol": "EUR.USD", "conid": 12087792}]})

    client.place_order(ForexOrder(account_id=ACCOUNT, pair="EUR.USD", side="BUY", quantity=25000))

    order = sent(trading)
    assert (order["conid"], order["secType"], order["listingExchange"]) == (12087792, "12087792:CASH", "IDEALPRO")


def test_forex_falls_back_to_secdef_search_when_pairs_are_not_served(client, trading):
    trading.add("GET", "/iserver/currency/pairs", status=404, text="Not Found")
    trading.add("GET", "/iserver/secdef/search", json_body=[
        {"conid": "12087792", "symbol": "EUR.USD", "description": "IDEALPRO",
         "sections": [{"secType": "CASH", "exchange": "IDEALPRO;"}]}])

    client.place_order(ForexOrder(account_id=ACCOUNT, pair="EUR.USD", side="SELL", quantity=1000))

    assert sent(trading)["conid"] == 12087792


def test_crypto_resolves_on_paxos(client, trading):
    trading.add("GET", "/iserver/secdef/search", json_body=[
        {"conid": "479624278", "symbol": "BTC", "description": "PAXOS",
         "sections": [{"secType": "CRYPTO", "exchange": "PAXOS;"}]}])

    client.place_order(CryptoOrder(account_id=ACCOUNT, symbol="BTC", side="BUY", quantity=0.01, order_type="LMT",
                                   limit_price=60000, tif="IOC"))

    order = sent(trading)
    assert (order["conid"], order["listingExchange"], order["tif"]) == (479624278, "PAXOS", "IOC")


def test_stock_on_a_named_exchange(client, trading):
    trading.add("GET", "/trsrv/stocks", sample="GET_trsrv_stocks.json")

    client.place_order(stock(symbol="IBM", exchange="LSE"))

    assert sent(trading)["conid"] == 41645598


def test_a_stock_not_listed_there_is_explained(client, trading):
    trading.add("GET", "/trsrv/stocks", sample="GET_trsrv_stocks.json")

    with pytest.raises(OrderValidationError, match="IBM is not listed on SEHK"):
        client.place_order(stock(symbol="IBM", exchange="SEHK"))


def test_bond_needs_its_conid(client, trading):
    with pytest.raises(OrderValidationError, match="needs the bond's conid"):
        client.place_order(BondOrder(account_id=ACCOUNT, side="BUY", quantity=10))

    client.place_order(BondOrder(account_id=ACCOUNT, conid=716812549, side="BUY", quantity=10, order_type="LMT",
                                 limit_price=98.5))

    assert sent(trading)["secType"] == "716812549:BOND"


def test_conid_order_for_any_asset_class():
    body = ConidOrder(account_id=ACCOUNT, conid=5, sec_type="FUT", side="BUY", quantity=1).body(5, None)

    assert body["secType"] == "5:FUT" and "cOID" not in body
