"""What the stream changes on the pages, against numbers worked out by hand (the world of test_analytics):
the spl rows over the totals and margin, each position's mark over the positions frame, the order and trade
merges, the marks reader's plan and pace, the order readers resting while the stream is live."""

from __future__ import annotations

import math
from collections import Counter

import pandas as pd
import pytest

from ibkr.analytics import TOTAL_LABEL, account_totals, margin_table, positions_frame
from ibkr.analytics.live import overlay_marks, overlay_pnl
from ibkr.live import merge_orders, merge_trades
from ibkr.models import Order, PnlRow, Snapshot, Trade
from ibkr.position_marks import Mark, PositionMarks, mark_from_fields, plan
from tests.unit.test_analytics import AS_OF, BASES, LEDGERS, PNL, U1_POSITIONS, U2_POSITIONS, summary

SUMMARIES = {
    "U1": summary("USD", netliquidation=103_125, equitywithloanvalue=100_000, initmarginreq=30_000,
                  maintmarginreq=20_000, excessliquidity=80_000, grosspositionvalue=60_000),
    "U2": summary("EUR", netliquidation=19_800, equitywithloanvalue=19_000, initmarginreq=6_000,
                  maintmarginreq=4_000, excessliquidity=15_000, grosspositionvalue=12_000),
}


@pytest.fixture
def frames():
    positions = positions_frame(U1_POSITIONS + U2_POSITIONS, LEDGERS, BASES, as_of=AS_OF, report_currency="USD")
    totals = account_totals(positions, LEDGERS, BASES, pnl=PNL, summaries=SUMMARIES, report_currency="USD")
    margin = margin_table(SUMMARIES, LEDGERS, BASES, "USD")
    return positions, totals, margin


def at(frame: pd.DataFrame, account: str) -> pd.Series:
    return frame[frame["account"] == account].iloc[0]


def spl(account: str, **values: float) -> PnlRow:
    return PnlRow.model_validate({"key": f"{account}.Core", "rowType": 1, **values})


# ---- spl over totals and margin -------------------------------------------------------------------------------------
def test_spl_rows_replace_net_liquidation_daily_and_unrealised_pnl_and_the_total_follows(frames):
    _, totals, margin = frames
    rows = {"U2": spl("U2", dpl=-900.0, nl=20_500.0, upl=1_700.0, el=14_000.0, mv=12_500.0)}

    live, _ = overlay_pnl(totals, margin, rows)

    u2 = at(live, "U2")
    # U2 is in EUR; the report currency USD: rate(EUR -> USD) = 1 / 0.8 = 1.25
    assert (u2["net_liquidation"], u2["daily_pnl"], u2["unrealized_pnl"]) == (20_500.0, -900.0, 1_700.0)
    assert u2["net_liquidation_report"] == pytest.approx(25_625.0)
    assert u2["daily_pnl_report"] == pytest.approx(-1_125.0)
    total = at(live, TOTAL_LABEL)
    assert total["net_liquidation_report"] == pytest.approx(103_125.0 + 25_625.0)
    assert total["daily_pnl_report"] == pytest.approx(1_200.0 - 1_125.0)
    assert math.isnan(total["net_liquidation"])  # two base currencies: no base-currency total
    assert at(live, "U1")["net_liquidation"] == at(totals, "U1")["net_liquidation"]  # no row: the snapshot's
    assert at(totals, "U2")["daily_pnl"] == -400.0  # the input is not changed


def test_spl_rows_move_excess_liquidity_and_so_the_cushion_and_status_but_not_the_requirements(frames):
    _, totals, margin = frames
    rows = {"U1": spl("U1", nl=100_000.0, el=-5_000.0, mv=70_000.0)}

    _, live = overlay_pnl(totals, margin, rows, warning=0.7, danger=0.9)

    u1 = at(live, "U1")
    assert u1["excess_liquidity"] == -5_000.0 and u1["gross_position_value"] == 70_000.0
    assert u1["cushion"] == pytest.approx(-0.05)
    assert u1["status"] == "danger"  # negative excess liquidity is danger whatever the ratio says
    assert u1["maint_margin"] == at(margin, "U1")["maint_margin"]  # the stream does not carry requirements
    total = at(live, TOTAL_LABEL)
    assert total["excess_liquidity"] == pytest.approx(-5_000.0 + 15_000.0 * 1.25)
    assert total["cushion"] == pytest.approx(total["excess_liquidity"] / total["net_liquidation"])


def test_no_rows_change_nothing(frames):
    _, totals, margin = frames
    live_totals, live_margin = overlay_pnl(totals, margin, {})
    pd.testing.assert_frame_equal(live_totals, totals)
    pd.testing.assert_frame_equal(live_margin, margin)


# ---- marks over positions -------------------------------------------------------------------------------------------
def test_a_mark_moves_price_market_value_and_unrealised_pnl_and_gives_daily_pnl_per_quantity(frames):
    positions, _, _ = frames
    moved = AS_OF.timestamp() + 5
    marks = {265598: Mark(265598, 210.0, 3.0, 1_700_000_000.0, "stream", moved_at=moved),  # AAPL 100 @ 200 -> 210
             14204: Mark(14204, None, -0.5, 1_700_000_000.0, "snapshot")}  # SAP: daily P&L only

    live = overlay_marks(positions, marks)

    aapl = live[live["conid"] == 265598].iloc[0]
    assert (aapl["price"], aapl["market_value"], aapl["unrealized_pnl"]) == (210.0, 21_000.0, 6_000.0)
    assert aapl["daily_pnl"] == 300.0 and aapl["daily_pnl_report"] == 300.0
    assert aapl["daily_pnl_at"] == pd.Timestamp(1_700_000_000, unit="s", tz="UTC")
    sap = live[live["conid"] == 14204].iloc[0]
    assert sap["price"] == 150.0 and sap["daily_pnl"] == -50.0
    assert sap["daily_pnl_report"] == pytest.approx(-50.0 * 1.25)  # EUR in a USD account
    rounded = overlay_marks(positions, {76792991: Mark(76792991, 180.004, None, 1.0, "stream", 0.005, moved)})
    assert rounded[rounded["conid"] == 76792991].iloc[0]["price"] == 180.0  # the same price, only rounded
    older = overlay_marks(positions, {265598: Mark(265598, 210.0, None, 1.0, "stream", 0.005, moved - 60)})
    assert older[older["conid"] == 265598].iloc[0]["price"] == 200.0  # moved before the snapshot: it is newer
    unread = live[live["conid"] == 76792991].iloc[0]
    assert math.isnan(unread["daily_pnl"]) and pd.isna(unread["daily_pnl_at"])  # never 0 before it is read


def test_daily_pnl_per_unit_comes_from_fields_78_and_76_else_the_change_times_the_multiplier():
    assert mark_from_fields(1, {"31": "C101.50", "76": "200", "78": "-1,300.00"}, 1.0, 5.0, "snapshot") == Mark(
        1, 101.5, -6.5, 5.0, "snapshot", 0.005)
    assert mark_from_fields(2, {"31": "5.10", "82": "+0.20"}, 100.0, 5.0, "stream").daily_pnl_per_unit == \
        pytest.approx(20.0)  # no position in the reported account: the day's change per contract
    assert mark_from_fields(3, {"31": "7"}, None, 5.0, "stream").daily_pnl_per_unit is None


# ---- merges ---------------------------------------------------------------------------------------------------------
def order(order_id: int, **fields) -> Order:
    return Order.model_validate({"orderId": order_id, "acct": "U1", "ticker": "AAPL", "status": "Submitted",
                                 "totalSize": 10, "filledQuantity": 0, **fields})


def test_the_streams_changes_go_over_the_rest_read_and_older_ones_give_way():
    rest = [order(1), order(2)]
    streamed = {1: Order.model_validate({"orderId": 1, "status": "Filled", "filledQuantity": 10}),
                2: Order.model_validate({"orderId": 2, "status": "Cancelled"}),
                3: order(3, acct="U2"), 4: order(4)}
    heard = {1: 200.0, 2: 50.0, 3: 200.0, 4: 200.0}

    in_order = merge_orders(rest, streamed, heard, read_at=100.0, accounts=["U1"])
    merged = {o.order_id: o for o in in_order}
    assert [o.order_id for o in in_order] == [4, 1, 2]  # a new order first, the read's in its order

    assert (merged[1].status, merged[1].filled_quantity, merged[1].ticker) == ("Filled", 10.0, "AAPL")
    assert merged[2].status == "Submitted"  # the stream said it before the read: the read is newer
    assert 3 not in merged and 4 in merged  # another account's order is not added


def test_trades_are_merged_once_each():
    rest = [Trade.model_validate({"execution_id": "e1", "account": "U1", "trade_time_r": 1})]
    streamed = [Trade.model_validate({"execution_id": e, "account": "U1", "trade_time_r": t}) for e, t in
                (("e1", 1), ("e2", 2))]
    assert [t.execution_id for t in merge_trades(rest, streamed)] == ["e2", "e1"]


# ---- the marks reader's plan and pace -------------------------------------------------------------------------------
def held(conid: int, value: float, account: str = "U1"):
    from tests.unit.test_analytics import position

    return position(account, conid, str(conid), "STK", "USD", 1, value, value)


def test_the_largest_positions_stream_and_the_rest_are_polled_each_conid_once():
    positions = [held(1, 10.0), held(2, 500.0), held(3, 40.0), held(3, 40.0, "U2"), held(4, 70.0)]
    assert plan(positions, lines=2) == ([2, 3], [4, 1])  # conid 3: 80 over two accounts


class FakeClient:
    """Snapshots with IBKR's preflight (a conid's first answer has no fields), every call counted."""

    def __init__(self) -> None:
        self.started: set[int] = set()
        self.calls: Counter[str] = Counter()
        self.batches: list[int] = []

    def marketdata_snapshot(self, conids, fields):
        self.calls["snapshot"] += 1
        self.batches.append(len(conids))
        out = []
        for c in conids:
            out.append(Snapshot.model_validate({"conid": c, **({"31": "10", "76": "1", "78": "2"}
                                                               if c in self.started else {})}))
            self.started.add(c)
        return out


def test_15000_positions_are_read_in_batches_of_100_at_the_readers_pace_with_the_preflight_asked_again():
    positions = [held(c, float(c)) for c in range(1, 15_001)]
    client, clock = FakeClient(), {"now": 0.0}
    marks = PositionMarks(client, lambda: positions, lines=100, per_second=2.0, clock=lambda: clock["now"])
    marks._stop.wait = lambda seconds: clock.__setitem__("now", clock["now"] + seconds) or False  # type: ignore

    marks.run_round()  # the stream is not live: every conid by snapshot

    assert max(client.batches) == 100
    assert client.calls == {"snapshot": 300}  # preflight + read per batch; no unsubscribeall (the ticket's quote)
    assert len(marks.marks()) == 15_000 and marks.version == 15_000
    assert clock["now"] == pytest.approx((300 - 1) / 2.0)  # 2 requests a second: every call spaced 0.5 s
    assert marks.status().filled_after == pytest.approx(clock["now"])


def test_while_the_stream_is_live_the_largest_are_streamed_not_polled():
    class FakeStream:
        def __init__(self) -> None:
            self.kept: dict[int, tuple] = {}

        def on(self, topic, callback):
            return lambda: None

        def market_data_conids(self):
            return list(self.kept)

        def subscribe_market_data(self, conid, fields):
            self.kept[conid] = tuple(fields)

        def unsubscribe_market_data(self, conid):
            self.kept.pop(conid, None)

    positions = [held(c, float(c)) for c in range(1, 251)]
    client, stream = FakeClient(), FakeStream()
    marks = PositionMarks(client, lambda: positions, stream=lambda: stream, live=lambda: True, lines=100,
                          per_second=1000.0)

    marks.run_round()

    assert sorted(stream.kept) == list(range(151, 251))  # the 100 largest
    assert sum(client.batches) == 2 * 150 and max(client.batches) == 100
    assert not set(marks.marks()) & set(stream.kept)  # nothing polled that streams


# ---- the order readers while the stream is live ---------------------------------------------------------------------
def test_the_order_readers_rest_while_the_stream_is_live_and_read_after_each_reconnect(monkeypatch):
    from ibkr.stream import StreamHealth, StreamState
    from ibkr_desk.ui import services

    class Feed:
        live, connects = True, 1

        def health(self):
            return StreamHealth(state=StreamState.LIVE, connects=self.connects)

    class Api:
        tradable_account_ids = staticmethod(lambda: ["U1"])

    feed, now = Feed(), {"t": 1000.0}
    monkeypatch.setattr(services.time, "monotonic", lambda: now["t"])
    book = services.OrderBook(Api(), ready=lambda: True, feed=feed)  # type: ignore[arg-type]

    assert book._wanted("live")  # never read: the stream sends changes only
    book._rounds["live"] = book._mark()
    assert not book._wanted("live")  # read at this connect: the stream says the rest
    now["t"] += services.STREAMING_SECONDS
    assert book._wanted("live")  # now and then a check
    book._rounds["live"] = book._mark()
    feed.connects = 2
    assert book._wanted("live")  # reconnected: what changed meanwhile is read
    book._rounds["live"] = book._mark()
    assert not book._wanted("live")
    book.live.request = book.trades.request = lambda account=None: None  # type: ignore[method-assign]
    book.request("U1")
    assert book._wanted("live") and book._wanted("trades")  # an order was sent: read it over REST too
    book._rounds["live"] = book._mark()
    book._asked.clear()
    feed.live = False
    assert book._wanted("live")  # the stream is down: REST takes over


def test_a_long_positions_table_redraws_less_often_while_live():
    from ibkr_desk.ui import live

    assert live.table_seconds(300) == live.LIVE_TABLE_SECONDS
    assert live.table_seconds(15_000) == 15.0


def test_the_live_redraws_stretch_with_the_viewers_beyond_five_and_forget_a_viewer_gone_for_30_s(monkeypatch):
    from types import SimpleNamespace

    from ibkr_desk.ui import live

    clock = [1000.0]
    session = ["s0"]
    monkeypatch.setattr(live.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(live, "get_script_run_ctx", lambda: SimpleNamespace(session_id=session[0]))
    monkeypatch.setattr(live, "_viewers", {})
    assert live.viewers() == 1 and live.paced(0.5) == 0.5  # nobody seen yet: the one asking
    for i in range(5):
        session[0] = f"s{i}"
        live.seen()
        live.seen()  # a viewer counts once however often its scripts run
    assert live.viewers() == 5 and live.paced(0.5) == 0.5
    for i in range(5, 20):
        session[0] = f"s{i}"
        live.seen()
    assert live.viewers() == 20 and live.paced(0.5) == 2.0 and live.paced(3.0) == 12.0
    clock[0] += live.VIEWER_SECONDS + 1
    session[0] = "s0"
    live.seen()  # the others closed their pages
    assert live.viewers() == 1 and live.paced(0.5) == 0.5 and list(live._viewers) == ["s0"]


def test_epoch_seconds_become_the_same_utc_times_as_pandas_gives_with_nat_where_none():
    from ibkr.analytics.live import utc_times

    seconds = pd.Series([1_796_690_954.325, float("nan"), 0.5, 1_796_690_954.0], index=[7, 8, 9, 10])
    got = utc_times(seconds)
    want = pd.to_datetime(seconds, unit="s", utc=True)
    assert list(got.index) == [7, 8, 9, 10] and str(got.dtype) == "datetime64[ns, UTC]"
    assert got.isna().tolist() == [False, True, False, False]
    assert (got - want).abs().max() < pd.Timedelta(microseconds=1)  # float seconds hold no more than that
    assert utc_times(pd.Series([], dtype=float)).empty
