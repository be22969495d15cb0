"""ibkr.stream against the simulator over real TLS: a fill placed through REST reaches the stream's P&L, orders
and trades and matches what REST answers afterwards; the stream comes back by itself, subscriptions and all,
after the gateway is killed and restarted on the same port, and after the session is renewed."""

from __future__ import annotations

import requests

from ibkr import Settings
from ibkr.gateway import SimProcess
from ibkr.stream import StreamClient, StreamState, close_streams, shared_stream
from tests.integration.stream_support import place_market_order, wait_for

AAPL = 265598
FIELDS = ["31", "84", "86"]


def stream_of(sim, **options) -> StreamClient:
    return StreamClient(Settings(gateway_url=sim.url, verify_ssl=sim.cert), backoff_base=0.2, backoff_max=1.0,
                        **options).start()


def test_a_fill_through_rest_reaches_the_streams_pnl_orders_and_trades_as_rest_then_answers(sim):
    sim.prime()
    account = sim.state()["accounts"][0]["id"]
    stream = stream_of(sim)
    try:
        stream.subscribe_pnl()
        stream.subscribe_orders()
        stream.subscribe_trades()
        stream.subscribe_market_data(AAPL, FIELDS)
        assert stream.wait_until(lambda: account in stream.pnl() and bool(stream.market_data(AAPL)), 15)
        assert stream.health().state is StreamState.LIVE
        value_before = stream.pnl()[account].market_value

        order_id = place_market_order(sim, account, AAPL, "BUY", 7)

        assert stream.wait_until(lambda: order_id in stream.orders() and stream.orders()[order_id].status == "Filled"
                                 and any(t.order_id == order_id for t in stream.trades())
                                 and stream.pnl()[account].market_value != value_before, 15)
    finally:
        stream.close()
    order = stream.orders()[order_id]
    fill = next(t for t in stream.trades() if t.order_id == order_id)
    assert (order.conid, order.filled_quantity, order.side) == (AAPL, 7.0, "BUY")
    assert (fill.conid, fill.size) == (AAPL, 7.0)
    sim.api("GET", "/iserver/account/pnl/partitioned")
    rest = sim.api("GET", "/iserver/account/pnl/partitioned").json()["upnl"][f"{account}.Core"]
    streamed = stream.pnl()[account]
    assert (streamed.market_value, streamed.net_liquidation, streamed.daily_pnl) == (rest["mv"], rest["nl"],
                                                                                     rest["dpl"])
    position = sim.api("GET", f"/portfolio/{account}/position/{AAPL}").json()[0]
    truth = next(p for p in sim.state()["accounts"][0]["positions"] if p["conid"] == AAPL)
    assert position["position"] == truth["position"]
    snapshot = sim.api("GET", "/iserver/marketdata/snapshot", params={"conids": AAPL, "fields": ",".join(FIELDS)})
    assert {f: stream.market_data(AAPL)[f] for f in FIELDS} == {f: snapshot.json()[0][f] for f in FIELDS}


def test_the_stream_reconnects_and_resubscribes_after_the_gateway_is_killed_and_restarted(cert_dir, tmp_path):
    args = ["--auto-login", "--no-pacing", "--tick-seconds", "0"]
    first = SimProcess(["--port", "0", *args], cert_dir, log_path=tmp_path / "first.log")
    second: SimProcess | None = None
    first.start()
    port = first.url.rsplit(":", 1)[1]
    settings = Settings(gateway_url=first.url, verify_ssl=first.cert)
    stream = StreamClient(settings, backoff_base=0.2, backoff_max=1.0).start()
    try:
        stream.subscribe_pnl()
        stream.subscribe_market_data(AAPL, FIELDS)
        assert stream.wait_until(lambda: bool(stream.pnl()) and bool(stream.market_data(AAPL)), 15)
        assert first.proc is not None
        first.proc.kill()  # the gateway dies without a goodbye
        assert stream.wait_until(lambda: stream.health().state is not StreamState.LIVE, 15)
        first.stop()

        second = SimProcess(["--port", port, *args], cert_dir, log_path=tmp_path / "second.log")
        second.start()
        assert stream.wait_until(lambda: stream.health().live and stream.health().connects == 2, 30)

        with requests.Session() as http:  # the new gateway was asked for both again, by the stream alone
            http.verify, http.trust_env = str(second.cert), False

            def received() -> dict:
                return http.get(f"{second.url}/sim/stats", timeout=10).json()["ws"]["received"]

            assert wait_for(lambda: received().get("spl", 0) >= 1 and received().get("smd", 0) >= 1)
    finally:
        stream.close()
        first.stop()
        if second is not None:
            second.stop()
    assert stream.health().state is StreamState.DOWN


def test_the_stream_says_why_it_is_down_and_comes_back_with_a_renewed_session(own_sim):
    stream = stream_of(own_sim)
    try:
        assert stream.wait_until(lambda: stream.health().live, 15)
        own_sim.session_action("logout")
        assert stream.wait_until(lambda: stream.health().state is StreamState.DOWN
                                 and "no session" in stream.health().reason, 15)
        own_sim.session_action("login")  # a new session: a new token, which the stream reads again
        assert stream.wait_until(lambda: stream.health().live and stream.health().connects == 2, 15)
    finally:
        stream.close()


def test_one_stream_per_gateway_is_shared_by_every_consumer(sim):
    settings = Settings(gateway_url=sim.url, verify_ssl=sim.cert)
    try:
        first = shared_stream(settings)
        again = shared_stream(Settings(gateway_url=sim.url + "/", verify_ssl=sim.cert))
        assert again is first
        assert first.wait_until(lambda: first.health().live, 15)
    finally:
        close_streams()
    assert first.closed
    assert shared_stream(settings) is not first  # a closed stream is replaced
    close_streams()
