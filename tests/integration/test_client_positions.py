"""ClientPortalClient.all_positions against the simulated gateway over HTTPS with its certificate pinned.

3 accounts x 1,000 positions: every page of every account, equal to the simulator's truth, and the cache that
``fresh=True`` invalidates after a fill.
"""

from __future__ import annotations

from collections import Counter

import pytest

from ibkr import OrderAccepted, StockOrder
from tests.integration.client_support import client_for, holdings, quantity, requests_to
from tests.spec_validation import SpecValidator

SPEC = SpecValidator.load()
AAPL = 265598
MARKET_ORDER_QUESTIONS = {"o354", "o10151", "o10153"}


@pytest.fixture(scope="module")
def big(start_sim):
    handle = start_sim("--auto-login", "--positions", "1000", "--no-pacing")
    yield handle
    handle.close()


@pytest.fixture
def client(big):
    with client_for(big) as c:
        yield c


def by_account(positions) -> dict[str, dict[int, tuple[float, float, str]]]:
    out: dict[str, dict[int, tuple[float, float, str]]] = {}
    for p in positions:
        assert p.conid not in out.setdefault(p.acct_id, {}), f"{p.acct_id} lists conid {p.conid} twice"
        out[p.acct_id][p.conid] = (p.position, p.mkt_value, p.currency)
    return out


def truth_by_account(state: dict) -> dict[str, dict[int, tuple[float, float, str]]]:
    return {a["id"]: {p["conid"]: (p["position"], p["market_value"], p["currency"]) for p in a["positions"]}
            for a in state["accounts"]}


def test_all_positions_returns_every_page_of_every_account_as_the_gateway_holds_them(big, client):
    truth = truth_by_account(big.state())
    assert [len(rows) for rows in truth.values()] == [1000, 1000, 1000]

    positions = client.all_positions()

    got = by_account(positions)
    assert list(got) == list(truth), "one block per account, in the gateway's account order"
    for account_id, rows in truth.items():
        assert set(got[account_id]) == set(rows), f"{account_id}: conids differ from the gateway's"
        for conid, (qty, value, currency) in rows.items():
            assert got[account_id][conid] == (qty, pytest.approx(value, abs=0.005), currency), (account_id, conid)
    assert len(positions) == 3000
    assert Counter(p.asset_class for p in positions).keys() >= {"STK", "OPT", "FUT", "CASH", "BOND", "CRYPTO"}
    # Every page the client read is IBKR's shape (checked on the raw answer of one account's first page).
    first = big.api("GET", f"/portfolio/{next(iter(truth))}/positions/0")
    SPEC.validate("GET", first.url, 200, first.json())


SECDEF_FIELDS = ("ticker", "name", "full_name", "listing_exchange", "expiry", "strike", "put_or_call", "multiplier",
                 "und_conid", "increment_rules")


def test_rows_without_their_security_definition_are_completed_from_trsrv_secdef(big, client):
    # IBKR sends some rows without the secdef portion (no ticker, multiplier null, strike 0) even with
    # waitForSecDef=true; the labels and option terms of those rows were blank or wrong.
    complete = {(p.acct_id, p.conid): p for p in client.all_positions()}
    assert all(p.ticker for p in complete.values()), "asked with waitForSecDef=true, the simulator sends them whole"
    big.admin("POST", "session", json={"incomplete_secdef": True})
    try:
        bare = big.api("GET", f"/portfolio/{next(iter(complete))[0]}/positions/0",
                       params={"waitForSecDef": "true"}).json()
        assert any("ticker" not in row for row in bare), "the simulator now leaves definitions out"
        secdef_before = requests_to(big, "GET /trsrv/secdef")
        with client_for(big) as fresh:
            rows = fresh.all_positions()
            asked = requests_to(big, "GET /trsrv/secdef") - secdef_before
            incomplete = len({r["conid"] for r in bare if "ticker" not in r})
            assert 1 <= asked <= -(-3000 // 4 // 200) + 1, asked  # 200 conids a call, each conid once
            fresh.all_positions()
            assert requests_to(big, "GET /trsrv/secdef") - secdef_before == asked, "definitions are kept"
    finally:
        big.admin("POST", "session", json={"incomplete_secdef": False})
    assert incomplete
    for row in rows:
        whole = complete[(row.acct_id, row.conid)]
        for name in SECDEF_FIELDS:
            assert getattr(row, name) == getattr(whole, name), (row.conid, name)


def test_fresh_positions_show_a_fill_that_the_cached_endpoint_does_not(big, client):
    account_id = big.state()["accounts"][0]["id"]
    client.all_positions([account_id])  # IBKR's position cache now holds this account's positions
    before = quantity(big.state(), account_id, AAPL)

    placed = client.place_order(
        StockOrder(account_id=account_id, symbol="AAPL", side="BUY", quantity=7, order_type="MKT"),
        accept=MARKET_ORDER_QUESTIONS,
    )
    assert isinstance(placed, OrderAccepted)
    after = quantity(big.state(), account_id, AAPL)
    assert after == before + 7, "the market order filled in the simulated world"

    cached = {p.conid: p.position for p in client.all_positions([account_id])}
    invalidations = requests_to(big, f"POST /portfolio/{account_id}/positions/invalidate")
    fresh = client.all_positions([account_id], fresh=True)

    assert cached.get(AAPL, 0.0) == before, "IBKR's cached endpoint still shows the position before the fill"
    assert requests_to(big, f"POST /portfolio/{account_id}/positions/invalidate") == invalidations + 1
    got = {p.conid: (p.position, p.mkt_value) for p in fresh}
    truth = holdings(big.state(), account_id)
    assert got[AAPL][0] == after
    assert got == {c: (p["position"], pytest.approx(p["market_value"], abs=0.005)) for c, p in truth.items()}


def test_the_portfolio_read_shows_a_fill_at_once_through_portfolio2(big, client):
    # IBKR caches /portfolio/{acct}/positions (its spec: portfolio2 "removes caching"); the snapshot, which now
    # reads portfolio2, shows the new quantity on the next refresh without an invalidate.
    from ibkr.portfolio import load_portfolio

    account_id = big.state()["accounts"][1]["id"]
    client.all_positions([account_id])  # the cache holds the quantity before the fill
    before = quantity(big.state(), account_id, AAPL)
    placed = client.place_order(
        StockOrder(account_id=account_id, symbol="AAPL", side="BUY", quantity=3, order_type="MKT"),
        accept=MARKET_ORDER_QUESTIONS,
    )
    assert isinstance(placed, OrderAccepted)
    invalidations = requests_to(big, f"POST /portfolio/{account_id}/positions/invalidate")

    snap = load_portfolio(client)

    held = {p.conid: p.position for p in snap.positions if p.acct_id == account_id}
    assert held[AAPL] == before + 3 == quantity(big.state(), account_id, AAPL)
    assert requests_to(big, f"POST /portfolio/{account_id}/positions/invalidate") == invalidations
