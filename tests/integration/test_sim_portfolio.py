"""The simulated portfolio: IBKR's shapes (validated against IBKR's spec), paging, caching, accounting."""

from __future__ import annotations

import pytest

from tests.spec_validation import SpecValidator

SPEC = SpecValidator.load()


@pytest.fixture(scope="module")
def big(start_sim):
    sim = start_sim("--auto-login", "--positions", "250", "--no-pacing")
    sim.prime()
    return sim


def get_ok(sim, path: str):
    r = sim.api("GET", path)
    assert r.status_code == 200, r.text
    SPEC.validate("GET", path, 200, r.json())
    return r.json()


def test_the_default_world_spans_markets_and_asset_classes(sim):
    truth = sim.state()
    accounts = truth["accounts"]
    assert len(accounts) == 3
    assert len({a["base_currency"] for a in accounts}) == 3
    positions = [p for a in accounts for p in a["positions"]]
    assert 50 <= len(positions) <= 80
    assert {p["asset_class"] for p in positions} >= {"STK", "OPT", "FUT", "CASH", "BOND", "CRYPTO"}
    assert len({p["currency"] for p in positions} | {c for a in accounts for c in a["cash"]}) >= 8
    assert any(v < 0 for a in accounts for v in a["cash"].values()), "some account borrows a currency"


def test_every_portfolio_endpoint_answers_in_ibkrs_shape(sim):
    sim.prime()
    accounts = sim.api("GET", "/portfolio/accounts").json()
    SPEC.validate("GET", "/portfolio/accounts", 200, accounts)
    acct = accounts[0]["id"]
    iserver = get_ok(sim, "/iserver/accounts")
    assert iserver["accounts"] == [a["id"] for a in accounts]
    get_ok(sim, f"/portfolio/{acct}/meta")
    page = get_ok(sim, f"/portfolio/{acct}/positions/0")
    conid = page[0]["conid"]
    get_ok(sim, f"/portfolio/{acct}/position/{conid}")
    get_ok(sim, f"/portfolio/positions/{conid}")
    get_ok(sim, f"/portfolio2/{acct}/positions")
    get_ok(sim, f"/portfolio/{acct}/summary")
    get_ok(sim, f"/portfolio/{acct}/ledger")
    get_ok(sim, f"/portfolio/{acct}/allocation")
    switched = sim.api("POST", "/iserver/account", json={"acctId": accounts[1]["id"]}).json()
    assert switched == {"acctId": accounts[1]["id"], "set": True}
    unknown = sim.api("GET", "/portfolio/DU0000000/summary")
    assert unknown.status_code == 400 and "DU0000000" in unknown.json()["error"]


def test_positions_page_100_at_a_time_until_a_short_page(big):
    acct = big.state()["accounts"][0]
    seen = []
    for page in range(10):
        items = get_ok(big, f"/portfolio/{acct['id']}/positions/{page}")
        seen += items
        if len(items) < 100:
            break
    assert len(seen) == len(acct["positions"]) and len(acct["positions"]) > 200
    assert {p["conid"] for p in seen} == {p["conid"] for p in acct["positions"]}


def test_positions_are_cached_until_invalidated(sim):
    sim.prime()
    acct = sim.state()["accounts"][0]["id"]
    before = sim.api("GET", f"/portfolio/{acct}/positions/0").json()
    victim = before[0]["conid"]
    # The simulator's truth changes (as a fill elsewhere would), the cached endpoint does not.
    sim.admin("POST", "clock", json={"ticks": 0})
    live = sim.api("GET", f"/portfolio2/{acct}/positions").json()
    assert {int(p["conid"]) for p in live} == {p["conid"] for p in before} | set()
    r = sim.api("POST", f"/portfolio/{acct}/positions/invalidate")
    SPEC.validate("POST", f"/portfolio/{acct}/positions/invalidate", 200, r.json())
    assert r.json() == {"message": "success"}
    assert victim in {p["conid"] for p in sim.api("GET", f"/portfolio/{acct}/positions/0").json()}


def test_accounting_identities_hold_to_the_cent(sim):
    sim.prime()
    truth = sim.state()
    for acct in truth["accounts"]:
        ledger = sim.api("GET", f"/portfolio/{acct['id']}/ledger").json()
        summary = sim.api("GET", f"/portfolio/{acct['id']}/summary").json()
        base = ledger.pop("BASE")
        ccys = ledger.values()
        # BASE is the sum of the currency entries at their exchange rates.
        for field in ("cashbalance", "netliquidationvalue", "stockmarketvalue", "unrealizedpnl"):
            assert base[field] == pytest.approx(sum(e[field] * e["exchangerate"] for e in ccys), abs=0.01 * len(ccys))
        # Summary net liquidation = ledger BASE = cash + positions, in base currency.
        rates = acct["fx_rates"]
        cash = sum(v * rates[c] for c, v in acct["cash"].items())
        held = sum(p["netliq_value"] * rates[p["currency"]] for p in acct["positions"])
        assert summary["netliquidation"]["amount"] == base["netliquidationvalue"]
        assert base["netliquidationvalue"] == pytest.approx(cash + held, abs=0.05)
        # Margin figures follow from one another.
        elv = summary["equitywithloanvalue"]["amount"]
        assert summary["excessliquidity"]["amount"] == pytest.approx(elv - summary["maintmarginreq"]["amount"], abs=0.02)
        assert summary["availablefunds"]["amount"] == pytest.approx(elv - summary["initmarginreq"]["amount"], abs=0.02)
        cushion = float(summary["cushion"]["value"])
        assert cushion == pytest.approx(summary["excessliquidity"]["amount"] / summary["netliquidation"]["amount"],
                                        abs=1e-5)
        assert summary["initmarginreq"]["amount"] >= summary["maintmarginreq"]["amount"] > 0


def test_prices_move_on_the_clock_and_the_accounts_follow(sim):
    sim.prime()
    acct = sim.state()["accounts"][0]["id"]
    before = sim.api("GET", f"/portfolio/{acct}/summary").json()["netliquidation"]["amount"]
    sim.admin("POST", "clock", json={"ticks": 20})
    after = sim.api("GET", f"/portfolio/{acct}/summary").json()["netliquidation"]["amount"]
    assert after != before
