"""Market data: the snapshot preflight, history bars, unsubscribe."""

from __future__ import annotations

from ibkr.models import DEFAULT_FIELDS
from tests.fixtures.cpapi_samples import sample_text

PREFLIGHT = {"text": sample_text("GET_iserver_marketdata_snapshot__preflight_first_call.json")}
DATA = {"text": sample_text("GET_iserver_marketdata_snapshot__subsequent_call.json")}


def test_snapshot_asks_again_after_the_preflight(client, gateway, sleeps):
    gateway.add("GET", "/iserver/marketdata/snapshot", PREFLIGHT, DATA)

    aapl, ibm = client.snapshot([265598, 8314], ["31", "84", "86"])

    assert (aapl.conid, aapl.last_price, ibm.last_price) == (265598, 168.42, 189.60)
    assert gateway.count("GET", "/iserver/marketdata/snapshot") == 2
    assert gateway.requests()[0].qs == {"conids": ["265598,8314"], "fields": ["31,84,86"]}
    assert sleeps == [client.snapshot_poll_interval]


def test_snapshot_with_data_is_one_call_and_keeps_the_requested_order(client, gateway):
    gateway.add("GET", "/iserver/marketdata/snapshot", DATA)

    ibm, aapl = client.snapshot([8314, 265598])

    assert (ibm.conid, aapl.conid) == (8314, 265598)
    assert gateway.count() == 1
    assert gateway.requests()[0].qs["fields"] == [",".join(DEFAULT_FIELDS)]


def test_snapshot_polls_are_bounded(client, gateway):
    gateway.add("GET", "/iserver/marketdata/snapshot", PREFLIGHT)

    result = client.snapshot([265598, 8314], polls=3)

    assert all(s.is_preflight for s in result)
    assert gateway.count() == 3


def test_history_bars(client, gateway):
    gateway.add("GET", "/iserver/marketdata/history",
                sample="GET_iserver_marketdata_history__iserverHistoryLastSuccessExample.json")

    history = client.history(265598, period="1w", bar="1d", outside_rth=False)

    assert history.symbol == "AAPL" and len(history.bars) == 4 and history.bar_length == 86400
    assert history.bars[0].close == 212.33 and history.bars[0].at.year == 2025
    assert gateway.requests()[0].qs == {"conid": ["265598"], "period": ["1w"], "bar": ["1d"], "outsiderth": ["false"]}


def test_a_window_ibkr_has_no_data_for_is_no_bars_not_an_invalid_response(client, gateway):
    # IBKR answers an empty window with points 0 and one placeholder bar without "t" (docs/cpapi.md 5.2, [live]);
    # the client raised InvalidResponse "data.0.t: Field required".
    empty = {"symbol": "AAPL", "text": "APPLE INC", "barLength": 3600, "points": 0, "timePeriod": "1d",
             "startTime": "20240106-00:00:00", "data": [{"o": 0.0, "c": 0.0}]}
    gateway.add("GET", "/iserver/marketdata/history", {"json": empty})

    history = client.history(265598, period="1d", bar="1h", start_time="20240107-00:00:00")

    assert history.bars == [] and history.points == 0 and history.symbol == "AAPL"


def test_history_sends_period_and_bar_in_lower_case(client, gateway):
    # IBKR silently replaces upper-case period and bar values (docs/cpapi.md 5.2): "1W" would not be a week.
    gateway.add("GET", "/iserver/marketdata/history",
                sample="GET_iserver_marketdata_history__iserverHistoryLastSuccessExample.json")

    client.history(265598, period="1W", bar="1D")

    query = gateway.requests()[0].url.split("?", 1)[1]
    assert "period=1w" in query and "bar=1d" in query


def test_unsubscribe_one_and_all(client, gateway):
    gateway.add("POST", "/iserver/marketdata/unsubscribe", sample="POST_iserver_marketdata_unsubscribe.json")
    gateway.add("GET", "/iserver/marketdata/unsubscribeall", sample="GET_iserver_marketdata_unsubscribeall.json")

    one = client.unsubscribe(265598)
    everything = client.unsubscribe_all()

    assert one.success and everything.unsubscribed
    assert gateway.body("POST", "/iserver/marketdata/unsubscribe") == {"conid": 265598}


def test_a_snapshot_of_more_than_100_conids_goes_out_in_batches_of_100(requests_mock):
    # IBKR: "A maximum of 100 conids may be specified"; the client sent 250 in one request.
    from ibkr import ClientPortalClient, Settings
    from ibkr.pacing import PacingLimiter

    base = "https://gw.test:5000/v1/api"
    requests_mock.get(f"{base}/iserver/accounts", json={"accounts": ["DU1"]})
    seen: list[int] = []

    def answer(request, context):
        ids = [int(c) for c in request.qs["conids"][0].split(",")]
        seen.append(len(ids))
        return [{"conid": c, "conidEx": str(c), "31": "1.0"} for c in ids]

    requests_mock.get(f"{base}/iserver/marketdata/snapshot", json=answer)
    client = ClientPortalClient(Settings(_env_file=None, gateway_mode="external", gateway_url="https://gw.test:5000",
                                         allow_insecure_gateway=True),
                                limiter=PacingLimiter(rules=()))
    found = client.marketdata_snapshot(range(1, 251), fields=["31"])
    assert seen == [100, 100, 50] and [s.conid for s in found] == list(range(1, 251))
