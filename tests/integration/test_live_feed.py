"""The dashboard's live data against the simulator over real TLS, without Streamlit: the process's feed goes
live once the gateway is ready, follows a fill, goes down when the simulator drops and refuses its sockets
(``/sim/stream``) and comes back when it takes them again; the positions' marks reader fills every conid's
daily P&L by stream and snapshot, stays inside its own pace and gives the snapshot lines back."""

from __future__ import annotations

import time

import pytest

from ibkr import ClientPortalClient, Settings
from ibkr.live import LiveFeed
from ibkr.position_marks import PositionMarks
from ibkr.stream import StreamClient, close_streams
from tests.integration.stream_support import place_market_order, wait_for

AAPL = 265598


def settings_of(sim) -> Settings:
    return Settings(gateway_url=sim.url, verify_ssl=sim.cert)


def quick_stream(settings: Settings) -> StreamClient:
    return StreamClient(settings, backoff_base=0.2, backoff_max=1.0).start()


@pytest.fixture
def feed(own_sim):
    ready = {"now": False}
    made = LiveFeed(settings_of(own_sim), ready=lambda: ready["now"], open_stream=quick_stream, look_seconds=0.2)
    made.ready = ready  # type: ignore[attr-defined]
    yield made.start()
    made.stop()
    close_streams()


def test_the_feed_opens_once_the_gateway_is_ready_and_follows_a_fill(own_sim, feed):
    time.sleep(0.6)
    assert feed.stream is None and not feed.live  # no session yet: nothing opened
    feed.ready["now"] = True
    assert wait_for(lambda: feed.live and feed.pnl_rows(), 15), "the feed live with P&L rows"
    account = own_sim.state()["accounts"][0]["id"]
    orders_before, trades_before = feed.version("sor"), feed.version("str")

    order_id = place_market_order(own_sim, account, AAPL, "BUY", 3)

    assert wait_for(lambda: order_id in feed.orders()[0] and any(t.order_id == order_id for t in feed.trades()),
                    15), "the fill on the feed"
    assert feed.version("sor") > orders_before and feed.version("str") > trades_before
    assert feed.orders()[1][order_id] > 0  # when the stream spoke of it: REST reads older than this give way
    partitioned = feed.partitioned()
    assert partitioned is not None and partitioned.for_account(account) is not None


def test_dropped_and_refused_sockets_take_the_feed_down_and_it_comes_back(own_sim, feed):
    feed.ready["now"] = True
    assert wait_for(lambda: feed.live, 15), f"the feed live: {feed.health()}"
    connects = feed.health().connects

    answer = own_sim.admin("POST", "stream", json={"refuse": True})

    assert answer["dropped"] == 1 and answer["refusing"] is True
    assert wait_for(lambda: not feed.live, 10), "the feed down"
    assert feed.partitioned() is None  # the REST read takes over
    time.sleep(1.5)
    assert not feed.live  # refused while the knob is on
    own_sim.admin("POST", "stream", json={"refuse": False})
    assert wait_for(lambda: feed.live and feed.health().connects > connects, 15), f"live again: {feed.health()} {own_sim.stats()['ws']}"
    assert own_sim.stats()["ws"]["refused"] >= 1


def test_the_marks_reader_reads_every_conid_by_stream_and_snapshot_within_its_pace(own_sim, feed):
    feed.ready["now"] = True
    assert wait_for(lambda: feed.live, 15), "the feed live"
    client = ClientPortalClient(settings_of(own_sim))
    truth = own_sim.state()
    accounts = [a["id"] for a in truth["accounts"]]
    positions = client.current_positions(accounts)
    conids = {p.conid for p in positions}
    marks = PositionMarks(client, lambda: positions, stream=lambda: feed.stream, live=lambda: feed.live,
                          lines=5, per_second=5.0, cycle_seconds=60.0)
    marks.start()
    try:
        assert wait_for(lambda: set(marks.marks()) >= conids, 60), "a mark for every conid"
    finally:
        marks.stop()
    status = marks.status()
    assert status.streamed == 5 and len(feed.stream.market_data_conids()) == 5
    sources = {m.source for m in marks.marks().values()}
    assert sources == {"stream", "snapshot"}
    batches = -(-(len(conids) - 5) // 100)
    assert status.calls["unsubscribeall"] == 0  # it would end the order ticket's quote stream too
    assert batches <= status.calls["snapshot"] <= 3 * batches  # the preflight asked again, at most twice
    assert status.filled_after is not None
    # the daily P&L per unit times the quantity is the simulator's daily P&L of the selected account's position
    selected = client.iserver_accounts().selected_account or accounts[0]
    mine = next(p for p in positions if p.acct_id == selected and p.conid in marks.marks())
    snap = client.marketdata_snapshot([mine.conid], ["78"])
    snap = snap if not snap[0].is_preflight else client.marketdata_snapshot([mine.conid], ["78"])
    mark = marks.marks()[mine.conid]
    assert mark.daily_pnl_per_unit * mine.position == pytest.approx(snap[0].value("78"), abs=0.02)
