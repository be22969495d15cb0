"""ibkr.stream's book without a network: IBKR's messages in, typed state and callbacks out."""

from __future__ import annotations

import threading

from ibkr.stream import StreamBook, StreamState


def test_an_order_update_with_only_the_changed_fields_keeps_what_earlier_ones_said():
    book = StreamBook()
    book.dispatch({"topic": "sor", "args": [{"orderId": 7, "conid": 265598, "side": "BUY", "totalSize": 10,
                                             "status": "Submitted", "filledQuantity": 0}]})
    book.dispatch({"topic": "sor", "args": [{"orderId": 7, "status": "Filled", "filledQuantity": 10}]})
    order = book.orders()[7]
    assert (order.status, order.filled_quantity, order.conid, order.side) == ("Filled", 10.0, 265598, "BUY")


def test_pnl_rows_are_kept_per_account_and_market_data_fields_merge_per_conid():
    book = StreamBook()
    book.dispatch({"topic": "spl", "args": {"DU1.Core": {"rowType": 1, "dpl": -58.28, "nl": 1020000.0,
                                                         "upl": 4600.0, "el": 1010000.0, "uel": 1005353.88,
                                                         "mv": 37910.0}}})
    book.dispatch({"topic": "smd+265598", "conid": 265598, "31": "228.50", "84": "228.45"})
    book.dispatch({"topic": "smd+265598", "conid": 265598, "31": "229.00"})
    row = book.pnl()["DU1"]
    assert (row.daily_pnl, row.net_liquidation, row.unrounded_excess_liquidity) == (-58.28, 1020000.0, 1005353.88)
    assert book.market_data(265598) == {"31": "229.00", "84": "228.45"}


def test_executions_are_kept_once_and_callbacks_get_typed_items_until_removed():
    book = StreamBook()
    heard: list = []
    remove = book.on("str", heard.append)
    execution = {"execution_id": "e1", "order_id": 7, "conid": 265598, "size": 10, "price": "228.50",
                 "trade_time_r": 1}
    book.dispatch({"topic": "str", "args": [execution]})
    book.dispatch({"topic": "str", "args": [execution]})  # str repeats the day's executions after a reconnect
    remove()
    book.dispatch({"topic": "str", "args": [{**execution, "execution_id": "e2"}]})
    assert [t.execution_id for t in heard] == ["e1", "e1"]
    assert [t.execution_id for t in book.trades()] == ["e1", "e2"]


def test_a_failing_callback_does_not_stop_the_others_and_health_changes_are_told():
    book = StreamBook()
    states: list = []
    book.on("health", lambda _: 1 / 0)
    book.on("health", lambda health: states.append(health.state))
    book.set_health(StreamState.LIVE, "streaming", connected=True)
    book.dispatch({"topic": "sts", "args": {"authenticated": False, "competing": True}})
    assert states == [StreamState.LIVE]
    assert book.health.connects == 1 and book.health.authenticated is False
    assert book.status is not None and book.status.competing is True


def test_wait_until_returns_when_a_message_makes_the_condition_true():
    book = StreamBook()
    later = threading.Timer(0.2, lambda: book.dispatch({"topic": "spl", "args": {"DU1.Core": {"dpl": 1.0}}}))
    later.start()
    try:
        assert book.wait_until(lambda: "DU1" in book.pnl(), timeout=10)
    finally:
        later.cancel()
    assert not book.wait_until(lambda: "DU2" in book.pnl(), timeout=0.3)
