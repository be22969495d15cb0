"""The simulated gateway's market data: the snapshot preflight, IBKR's formatted strings (which must parse back to
the world's prices), position fields and greeks, unsubscribing, and history bars that end at the current price."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.spec_validation import SpecValidator
from tests.unit.test_sim_contracts import AAPL, Gateway, assert_like, sample

SPEC = SpecValidator.load()
PRICE_FIELDS = "31,84,86,70,71,7295,7741,7635"
ALL_FIELDS = ("31,84,85,86,88,7059,70,71,7295,7296,7741,82,83,87,7762,55,6004,6008,6070,7051,7219,7221,7635,"
              "73,74,75,76,77,78,79,80,7308,7309,7310,7311,7283,7633")


def number(text: str) -> float:
    """IBKR's formatted number ("1,234.50", "+1.20") as a float."""
    return float(text.replace(",", ""))


def snapshot(gw: Gateway, conids, fields: str = ALL_FIELDS) -> list[dict]:
    return gw.get("/iserver/marketdata/snapshot", conids=",".join(map(str, conids)), fields=fields)


def streaming(gw: Gateway, conids, fields: str = ALL_FIELDS) -> dict[int, dict]:
    """Preflight, then the snapshot with data, by conid."""
    snapshot(gw, conids, fields)
    return {e["conid"]: e for e in snapshot(gw, conids, fields)}


def one_of_each(gw: Gateway) -> dict[str, int]:
    world = gw.sim.world
    picks = {cls: next(c for c, i in world.instruments.items() if i.asset_class == cls)
             for cls in ("OPT", "FUT", "CASH", "BOND", "CRYPTO")}
    return {"STK": AAPL, **picks}


@pytest.fixture
def gw() -> Gateway:
    return Gateway()


def test_first_snapshot_only_starts_the_stream_then_fields_arrive(gw):
    first = snapshot(gw, [AAPL, 8314], "31,84,85,86,88,7059")
    second = snapshot(gw, [AAPL, 8314], "31,84,85,86,88,7059")

    assert first == [{"conid": AAPL, "conidEx": str(AAPL)}, {"conid": 8314, "conidEx": "8314"}]
    assert gw.sim.md_streaming >= {AAPL, 8314}
    assert [e["conid"] for e in second] == [AAPL, 8314]
    for entry in second:
        assert {"31", "84", "86", "_updated", "server_id", "6119", "6509"} <= set(entry)
        assert entry["6509"] == "RpB" and isinstance(entry["_updated"], int)
    assert_like(second[0], sample("GET_iserver_marketdata_snapshot__subsequent_call")[0])


def test_formatted_values_parse_back_to_the_worlds_prices(gw):
    conids = one_of_each(gw)

    data = streaming(gw, conids.values())

    world = gw.sim.world
    for cls, conid in conids.items():
        entry, inst = data[conid], world.instruments[conid]
        assert all(isinstance(v, str) for k, v in entry.items() if k not in ("conid", "_updated")), entry
        last = entry["31"]
        digits = len(last.partition(".")[2])
        assert abs(number(last) - inst.price) <= 0.5 * 10**-digits + 1e-9, (cls, last, inst.price)
        assert number(entry["84"]) <= number(last) <= number(entry["86"]), (cls, entry)
        assert number(entry["71"]) <= number(last) <= number(entry["70"]), (cls, entry)
        assert number(entry["7741"]) == pytest.approx(world.open_price[conid], abs=10**-digits)
        assert entry["6070"] == cls and entry["6008"] == str(conid)
    aapl = data[AAPL]
    assert aapl["55"] == "AAPL" and aapl["7051"] == "APPLE INC" and aapl["6004"] == "NASDAQ"
    assert re.fullmatch(r"\d+(\.\d+)?[KMB]?", aapl["87"]) and int(aapl["7762"]) > 0
    assert re.fullmatch(r"\d{1,3}(,\d{3})*\.\d{2}", aapl["31"])


def test_change_is_measured_from_the_prior_close(gw):
    streaming(gw, [AAPL])
    gw.sim.world.advance(200)

    entry = snapshot(gw, [AAPL])[0]

    prior = gw.sim.world.open_price[AAPL]
    now = gw.sim.world.price(AAPL)
    assert number(entry["31"]) == pytest.approx(now, abs=0.005)
    assert number(entry["82"]) == pytest.approx(now - prior, abs=0.011)
    assert number(entry["83"]) == pytest.approx((now - prior) / prior * 100, abs=0.011)
    assert entry["82"][0] in "+-" or number(entry["82"]) == 0


def test_position_fields_come_from_the_selected_accounts_holding(gw):
    acct = next(iter(gw.sim.world.accounts.values()))
    holding = next(h for h in acct.holdings.values() if gw.sim.world.instruments[h.conid].asset_class == "STK")

    entry = streaming(gw, [holding.conid])[holding.conid]

    world = gw.sim.world
    assert number(entry["76"]) == holding.position
    assert number(entry["73"]) == pytest.approx(world.market_value(holding), abs=0.01)
    assert number(entry["75"]) == pytest.approx(world.unrealized_pnl(holding), abs=0.01)
    assert number(entry["74"]) == pytest.approx(holding.avg_price, abs=0.01)


def test_options_carry_greeks_and_stocks_do_not(gw):
    spot = gw.sim.world.instruments[AAPL].price
    chain = [i for i in gw.sim.world.instruments.values() if i.asset_class == "OPT" and i.und_conid == AAPL]
    # the strikes nearest the money: a deep in-the-money option close to expiry has a delta that rounds to 1
    call = min((i for i in chain if i.right == "C"), key=lambda i: (abs(i.strike - spot), i.expiry))
    put = min((i for i in chain if i.right == "P"), key=lambda i: (abs(i.strike - spot), i.expiry))

    data = streaming(gw, [call.conid, put.conid, AAPL])

    assert 0 < number(data[call.conid]["7308"]) < 1 and -1 < number(data[put.conid]["7308"]) < 0
    for conid in (call.conid, put.conid):
        assert number(data[conid]["7309"]) > 0 and number(data[conid]["7311"]) > 0
        assert number(data[conid]["7310"]) < 0 and data[conid]["7633"].endswith("%")
    assert "7308" not in data[AAPL] and data[AAPL]["7283"].endswith("%")


def test_unsubscribing_means_the_next_snapshot_is_a_preflight_again(gw):
    streaming(gw, [AAPL, 8314])

    r = gw.call("POST", "/iserver/marketdata/unsubscribe", json={"conid": AAPL})
    after_one = snapshot(gw, [AAPL, 8314])
    everything = gw.get("/iserver/marketdata/unsubscribeall")
    after_all = snapshot(gw, [8314])

    assert r.status_code == 200 and r.json() == {"success": True}
    SPEC.validate("POST", "/iserver/marketdata/unsubscribe", 200, r.json())
    assert after_one[0] == {"conid": AAPL, "conidEx": str(AAPL)} and "31" in after_one[1]
    assert everything == {"unsubscribed": True}
    assert after_all == [{"conid": 8314, "conidEx": "8314"}]


def test_unknown_conids_never_get_data(gw):
    assert streaming(gw, [1]) == {1: {"conid": 1, "conidEx": "1"}}
    assert gw.call("GET", "/iserver/marketdata/snapshot", params={"conids": "abc"}).status_code == 400


def test_history_ends_at_the_current_price_and_repeats_itself(gw):
    history = gw.get("/iserver/marketdata/history", conid=str(AAPL), period="1w", bar="1d")
    again = gw.get("/iserver/marketdata/history", conid=str(AAPL), period="1w", bar="1d")

    bars = history["data"]
    assert bars and bars[-1]["c"] == round(gw.sim.world.price(AAPL), 2)
    assert history == again | {"travelTime": history["travelTime"], "chartPanStartTime": history["chartPanStartTime"]}
    assert [b["t"] for b in bars] == sorted(b["t"] for b in bars)
    assert all(b["l"] <= min(b["o"], b["c"]) and b["h"] >= max(b["o"], b["c"]) and b["v"] > 0 for b in bars)
    assert history["barLength"] == 86_400 and history["points"] == len(bars) - 1 and history["symbol"] == "AAPL"
    assert_like(history, sample("GET_iserver_marketdata_history__iserverHistoryLastSuccessExample"))


def test_history_follows_the_price_and_differs_between_contracts(gw):
    before = gw.get("/iserver/marketdata/history", conid=str(AAPL), period="2h", bar="5min")["data"]
    gw.sim.world.advance(100)
    after = gw.get("/iserver/marketdata/history", conid=str(AAPL), period="2h", bar="5min")["data"]
    other = gw.get("/iserver/marketdata/history", conid="272093", period="2h", bar="5min")["data"]

    assert len(before) == len(after) == 24
    assert after[-1]["c"] == round(gw.sim.world.price(AAPL), 2) != before[-1]["c"]
    moves = [b["c"] / a["c"] for a, b in zip(after, after[1:], strict=False)]
    assert moves != [b["c"] / a["c"] for a, b in zip(other, other[1:], strict=False)]


@pytest.mark.parametrize("source", ["Midpoint", "Bid_Ask"])
def test_history_quotes_sources_carry_no_volume(gw, source):
    history = gw.get("/iserver/marketdata/history", conid=str(AAPL), period="1w", bar="1d", source=source)

    assert all(b["v"] == 0 for b in history["data"])


def test_history_rejects_bad_bars_and_unknown_conids(gw):
    bad_bar = gw.call("GET", "/iserver/marketdata/history", params={"conid": AAPL, "period": "1d", "bar": "7x"})
    unknown = gw.call("GET", "/iserver/marketdata/history", params={"conid": 1, "period": "1d", "bar": "1h"})

    assert bad_bar.status_code == 400 and "error" in bad_bar.json()
    assert unknown.status_code == 500 and "error" in unknown.json()


def test_a_window_with_no_bars_answers_ibkrs_placeholder_bar_not_an_error(gw):
    # IBKR (docs/cpapi.md 5.2, [live]): points 0 and one bar without "t". startTime is the window's end, so the
    # day before Sunday 2024-01-07 00:00 UTC is a Saturday: no stock bars, while crypto trades round the clock.
    crypto = one_of_each(gw)["CRYPTO"]
    weekend = {"period": "1d", "bar": "1h", "startTime": "20240107-00:00:00"}
    before_the_data = {"period": "1w", "bar": "1h", "startTime": "20000107-00:00:00"}

    stock = gw.get("/iserver/marketdata/history", conid=str(AAPL), **weekend)
    coin = gw.get("/iserver/marketdata/history", conid=str(crypto), **weekend)
    ancient = gw.get("/iserver/marketdata/history", conid=str(AAPL), **before_the_data)

    assert (stock["points"], stock["data"]) == (0, [{"o": 0.0, "c": 0.0}]) and stock["symbol"] == "AAPL"
    assert (ancient["points"], ancient["data"]) == (0, [{"o": 0.0, "c": 0.0}])
    assert len(coin["data"]) == 24 and coin["data"][-1]["t"] == 1_704_585_600_000  # the bar at the window's end
    assert coin["data"][0]["t"] == 1_704_585_600_000 - 23 * 3_600_000


def test_history_reads_start_time_as_the_windows_end(gw):
    # IBKR ([live], 2026-08-05): "startTime is the END of the returned window, not the start".
    history = gw.get("/iserver/marketdata/history", conid=str(AAPL), period="1w", bar="1d",
                     startTime="20240112-20:00:00")

    days = [dt.datetime.fromtimestamp(b["t"] / 1000, dt.UTC).date() for b in history["data"]]
    assert days[-1] == dt.date(2024, 1, 12) and days[0] == dt.date(2024, 1, 8)


def test_upper_case_period_and_bar_are_silently_replaced(gw):
    # IBKR (docs/cpapi.md 5.2, [live]): upper-case period/bar values are silently replaced; the simulator's are
    # its defaults, one day of one-minute bars.
    history = gw.get("/iserver/marketdata/history", conid=str(AAPL), period="1W", bar="1D")

    assert history["timePeriod"] == "1d" and history["barLength"] == 60


def test_a_snapshot_of_more_than_100_conids_is_refused_as_ibkr_documents(gw):
    conids = ",".join(str(265598 + n) for n in range(101))
    r = gw.call("GET", "/iserver/marketdata/snapshot", params={"conids": conids, "fields": "31"})
    assert r.status_code == 400 and "at most 100 conids" in r.json()["error"]
