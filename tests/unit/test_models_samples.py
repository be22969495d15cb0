"""Every verbatim IBKR example payload parses into its model, and the parsed values are the ones a user sees."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import TypeAdapter

from ibkr.models import (
    Account,
    AccountSummary,
    AccountSwitch,
    Allocation,
    AuthStatus,
    CancelAck,
    ContractInfo,
    FuturesContract,
    HistoryBars,
    InvalidateResult,
    IserverAccounts,
    Ledger,
    LiveOrders,
    LiveSessionToken,
    LogoutResponse,
    OrderReply,
    OrderStatus,
    PartitionedPnl,
    Position,
    QuestionsSuppressed,
    SecdefInfo,
    SecdefResponse,
    SecdefSearchResult,
    Snapshot,
    SsoValidation,
    StockEntry,
    Strikes,
    TickleResponse,
    Trade,
    UnsubscribeAllResult,
    UnsubscribeResult,
    WhatIf,
)
from ibkr.orders import OrdersRequest
from tests.fixtures.cpapi_samples import load_sample, sample_names

ORDER_REPLIES = ("POST_iserver_account_accountId_order_orderId__", "POST_iserver_account_accountId_orders__",
                 "POST_iserver_reply_replyId__")

# Exact file names first, then name prefixes (for families of examples).
MODELS: dict[str, Any] = {
    "DELETE_iserver_account_accountId_order_orderId__": CancelAck,
    "GET_iserver_account_order_status_orderId.json": OrderStatus,
    "GET_iserver_account_orders.json": LiveOrders,
    "GET_iserver_account_pnl_partitioned__": PartitionedPnl,
    "GET_iserver_account_trades.json": list[Trade],
    "GET_iserver_accounts.json": IserverAccounts,
    "GET_iserver_contract_conid_info__": ContractInfo,
    "GET_iserver_marketdata_history__": HistoryBars,
    "GET_iserver_marketdata_snapshot__": list[Snapshot],
    "GET_iserver_marketdata_unsubscribeall.json": UnsubscribeAllResult,
    "GET_iserver_secdef_info.json": SecdefInfo,
    "GET_iserver_secdef_search.json": list[SecdefSearchResult],
    "GET_iserver_secdef_strikes.json": Strikes,
    "GET_portfolio2_accountId_positions.json": list[Position],
    "GET_portfolio_accountId_allocation.json": Allocation,
    "GET_portfolio_accountId_ledger.json": Ledger,
    "GET_portfolio_accountId_meta.json": Account,
    "GET_portfolio_accountId_positions_pageId.json": list[Position],
    "GET_portfolio_accountId_summary.json": AccountSummary,
    "GET_portfolio_accountid_position_conid__": list[Position],
    "GET_portfolio_accounts.json": list[Account],
    "GET_portfolio_positions_conid__": dict[str, list[Position]],
    "GET_portfolio_subaccounts.json": list[Account],
    "GET_sso_validate.json": SsoValidation,
    "GET_trsrv_futures.json": dict[str, list[FuturesContract]],
    "GET_trsrv_secdef.json": SecdefResponse,
    "GET_trsrv_stocks.json": dict[str, list[StockEntry]],
    "POST_iserver_account.json": AccountSwitch,
    "POST_iserver_account_accountId_orders__request_body_bracket.json": OrdersRequest,
    "POST_iserver_account_accountId_orders_whatif.json": WhatIf,
    "POST_iserver_auth_ssodh_init.json": AuthStatus,
    "POST_iserver_auth_status.json": AuthStatus,
    "POST_iserver_marketdata_unsubscribe.json": UnsubscribeResult,
    "POST_iserver_questions_suppress.json": QuestionsSuppressed,
    "POST_logout.json": LogoutResponse,
    "POST_oauth_live_session_token.json": LiveSessionToken,
    "POST_portfolio_accountId_positions_invalidate.json": InvalidateResult,
    "POST_tickle__": TickleResponse,
    **dict.fromkeys(ORDER_REPLIES, OrderReply),
}


def model_for(name: str) -> Any:
    if name in MODELS:
        return MODELS[name]
    prefixes = [p for p in MODELS if not p.endswith(".json") and name.startswith(p)]
    if not prefixes:
        raise KeyError(f"no model mapped for sample {name}")
    return MODELS[max(prefixes, key=len)]


def parse(name: str) -> Any:
    return TypeAdapter(model_for(name)).validate_python(load_sample(name))


def test_the_sample_folder_is_complete():
    names = sample_names()
    assert len(names) >= 60, names


@pytest.mark.parametrize("name", sample_names())
def test_every_sample_parses_into_its_model(name):
    parsed = parse(name)

    assert parsed is not None


def test_positions_page_normalises_strike_multiplier_and_types():
    btc, spy_call, ibm = parse("GET_portfolio_accountId_positions_pageId.json")

    assert (btc.asset_class, btc.position, btc.mkt_value, btc.multiplier) == ("CRYPTO", 0.00365831, 255.4, 1.0)
    assert btc.strike is None
    assert (spy_call.strike, spy_call.put_or_call, spy_call.multiplier) == (440.0, "C", 100.0)
    assert spy_call.expiry_date.isoformat() == "2025-01-17"
    assert spy_call.und_conid == 756733 and spy_call.description.startswith("SPY    JAN2025 440 C")
    assert (ibm.acct_id, ibm.conid, ibm.ticker, ibm.unrealized_pnl, ibm.avg_cost) == (
        "DU123456", 8314, "IBM", 57488.99, 144.46141)
    assert ibm.multiplier == 1.0 and ibm.strike is None
    assert ibm.chinese_name == "国际商业机器"


def test_position_without_secdef_keeps_unknown_multiplier_unknown():
    (meta,) = parse("GET_portfolio_accountid_position_conid__individualPositionWithNoSecDef.json")

    assert meta.asset_class == "OPT" and meta.position == -1.0
    assert meta.multiplier is None and meta.strike is None and meta.ticker is None
    assert meta.mkt_value == -78.01


def test_portfolio2_shape_maps_onto_position():
    (aapl,) = parse("GET_portfolio2_accountId_positions.json")

    assert (aapl.conid, aapl.mkt_price, aapl.mkt_value, aapl.description) == (
        265598, 256.39068603515625, 82292949.324646, "AAPL")
    assert aapl.asset_class == "STK" and aapl.unrealized_pnl == pytest.approx(-1878422.467854008)


def test_summary_reads_amount_for_money_and_value_for_the_rest():
    summary = parse("GET_portfolio_accountId_summary.json")

    assert summary.net_liquidation == 206415536.0
    assert summary.init_margin_req == 268478.1875 and summary.maint_margin_req == 235067.203125
    assert summary.excess_liquidity == 205300432.0 and summary.equity_with_loan_value == 205505520.0
    assert summary.cushion == pytest.approx(0.994598)
    assert summary.lookahead_next_change == 1712157300 and summary.day_trades_remaining == -1
    assert summary.currency == "USD" and summary.account_code == "DU123456"
    assert summary.amount("netliquidation-c") == 501733.09375
    assert summary.value("segmenttitle-s") == "US Securities"
    assert len(summary.raw) == 114


def test_ledger_maps_currencies_and_base():
    ledger = parse("GET_portfolio_accountId_ledger.json")

    assert set(ledger) == {"AUD", "BASE", "USD"}
    assert ledger.base.net_liquidation_value == 219449280.0 and ledger.base.is_base
    assert ledger["AUD"].cash_balance == 223911.11 and ledger["AUD"].exchange_rate == 0.650378
    assert set(ledger.currencies) == {"AUD", "USD"} and ledger["USD"].end_of_bundle == 1


def test_partitioned_pnl_rows_and_the_empty_first_answer():
    pnl = parse("GET_iserver_account_pnl_partitioned__success.json")
    empty = parse("GET_iserver_account_pnl_partitioned__can-be-empty-for-initial-request.json")

    row = pnl.for_account("U1234567")
    assert (row.acct_id, row.model, row.daily_pnl, row.net_liquidation, row.unrealized_pnl) == (
        "U1234567", "Core", -12510.0, 1290000.0, 256000.0)
    assert empty.is_empty and empty.rows == []


def test_snapshot_parses_formatted_values_and_detects_preflight():
    first = parse("GET_iserver_marketdata_snapshot__preflight_first_call.json")
    aapl, ibm = parse("GET_iserver_marketdata_snapshot__subsequent_call.json")

    assert all(s.is_preflight for s in first)
    assert not aapl.is_preflight
    assert (aapl.last_price, aapl.bid, aapl.ask, aapl.bid_size) == (168.42, 168.41, 168.42, 1300.0)
    assert aapl.availability == "RpB" and ibm.last_price == 189.60


def test_whatif_numbers_come_out_of_formatted_strings():
    whatif = parse("POST_iserver_account_accountId_orders_whatif.json")

    assert (whatif.amount.amount, whatif.amount.currency, whatif.amount.quantity) == (1977.6, "USD", 10.0)
    assert whatif.amount.commission == 1.0 and whatif.amount.total == 1978.6
    assert (whatif.equity.current, whatif.equity.change, whatif.equity.after) == (123456.0, -1.0, 123455.0)
    assert whatif.maintenance.change == 590.0 and whatif.initial.after == 1652.0
    assert whatif.warning.startswith("You are trying to submit an order without having market data")


def _reply_kind(name: str) -> str:
    for marker, kind in (("Success", "accepted"), ("ReplyMessage", "questions"), ("Prompt", "prompt"),
                         ("Error", "error"), ("NotFound", "error")):
        if marker in name:
            return kind
    raise KeyError(name)


@pytest.mark.parametrize("name", [n for n in sample_names() if n.startswith(ORDER_REPLIES) and "request_body" not in n])
def test_order_reply_shapes_are_told_apart(name):
    reply = parse(name)

    filled = {k for k in ("accepted", "questions", "prompt", "error") if getattr(reply, k)}
    assert filled == {_reply_kind(name)}


def test_order_reply_question_carries_ids_and_text():
    reply = parse("POST_iserver_account_accountId_orders__orderReplyMessageExample.json")

    (question,) = reply.questions
    assert question.reply_id == "99097238-9824-4830-84ef-46979aa22593"
    assert question.message_ids == ["o354"] and "without market data" in question.message[0]


def test_live_orders_trades_and_status_parse_strings_as_numbers():
    (order,) = parse("GET_iserver_account_orders.json").orders
    (trade,) = parse("GET_iserver_account_trades.json")
    status = parse("GET_iserver_account_order_status_orderId.json")

    assert (order.order_id, order.price, order.avg_price, order.total_size, order.status) == (
        1370093238, 0.9, 0.8908, 2806.46, "Filled")
    assert (trade.price, trade.commission, trade.net_amount, trade.order_ref) == (192.26, 1.01, 961.3, "Order123")
    assert (status.cum_fill, status.average_price, status.order_status, status.side) == (5.0, 192.26, "Filled", "S")


def test_contract_lookups_parse_ibkr_strings():
    search = parse("GET_iserver_secdef_search.json")
    info = parse("GET_iserver_contract_conid_info__opt-contract-info.json")
    stock_info = parse("GET_iserver_secdef_info.json")
    futures = parse("GET_trsrv_futures.json")

    assert search[0].conid == 8314 and "MAR24" in search[0].section("OPT").months
    assert search[0].opt[0] == "20240315" and search[2].issuers[0].id == "e5499005"
    assert (info.conid, info.strike, info.multiplier, info.right) == (685302909, 187.5, 100.0, "CALL")
    assert stock_info.right is None and stock_info.strike is None
    assert futures["ES"][0].expiration_date == 20241220


def test_secrets_stay_out_of_repr():
    tickle = parse("POST_tickle__success.json")
    sso = parse("GET_sso_validate.json")

    assert "bb665d0f55b6289d70bc7380089fc96f" not in repr(tickle)
    assert "user1234" not in repr(sso).replace("user_name='user1234'", "").replace("paper_user_name='user1234'", "")
    assert tickle.auth_status.authenticated and tickle.sso_expires == 460311
    assert sso.is_paper


def test_numbers_from_ibkr_sentinels_and_nan_become_none():
    row = Position.model_validate({"acctId": "U1", "conid": 1, "mktPrice": "NaN", "mktValue": 1.7976931348623157e308,
                                   "unrealizedPnl": "1,234.5", "avgCost": math.nan})

    assert row.mkt_price is None and row.mkt_value is None and row.avg_cost is None
    assert row.unrealized_pnl == 1234.5


def test_a_contracts_tick_comes_from_ibkrs_increment_rules_by_price():
    from ibkr.models import Contract

    tiered = Contract.model_validate({"conid": 1, "incrementRules": [
        {"lowerEdge": 0.0, "increment": 0.0001}, {"lowerEdge": 1.0, "increment": 0.01}]})
    assert tiered.increment_at(0.5) == 0.0001 and tiered.increment_at(228.5) == 0.01
    assert tiered.increment_at() == 0.0001  # no price: the lowest rule
    assert Contract.model_validate({"conid": 2}).increment_at(5.0) is None
    sample = Contract.model_validate(load_sample("GET_trsrv_secdef.json")["secdef"][0])
    assert sample.increment_at(100.0) == 0.01
