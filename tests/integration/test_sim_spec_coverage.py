"""Every endpoint the simulator serves answers in a shape that validates against IBKR's OpenAPI spec.

One call per endpoint, in the order a client would make them; the last test proves that the table covers every
endpoint registered in ibkr_sim (a new endpoint without a call here fails it).
"""

from __future__ import annotations

import pytest

from ibkr_sim.routes import ENDPOINTS
from tests.spec_validation import SpecValidator

SPEC = SpecValidator.load()
VALIDATED: set[tuple[str, str]] = set()


def call(sim, method: str, template: str, path: str | None = None, *, spec_method: str | None = None, **kwargs):
    """``spec_method``: the spec documents some endpoints under another method (GET auth/status is POST's)."""
    r = sim.api(method, path or template, **kwargs)
    assert r.status_code == 200, f"{method} {path or template}: {r.status_code} {r.text[:300]}"
    SPEC.validate(spec_method or method, path or template, 200, r.json())
    VALIDATED.add((method, template))
    return r.json()


@pytest.fixture(scope="module")
def world(sim):
    sim.prime()
    truth = sim.state()
    acct = truth["accounts"][0]
    return {"acct": acct["id"], "conid": acct["positions"][0]["conid"]}


def test_session_endpoints(sim, world):
    call(sim, "POST", "/tickle")
    call(sim, "POST", "/iserver/auth/status")
    call(sim, "GET", "/iserver/auth/status", spec_method="POST")
    call(sim, "POST", "/iserver/auth/ssodh/init", json={"publish": True, "compete": True})
    # Legacy, absent from the current spec: the legacy spec answers authStatus, the shape of /iserver/auth/status.
    VALIDATED.add(("POST", "/iserver/reauthenticate"))
    status = sim.api("POST", "/iserver/reauthenticate").json()
    SPEC.validate("POST", "/iserver/auth/status", 200, status)
    call(sim, "GET", "/sso/validate")
    sim.prime()


def test_account_and_portfolio_endpoints(sim, world):
    a, conid = world["acct"], world["conid"]
    call(sim, "GET", "/portfolio/accounts")
    call(sim, "GET", "/portfolio/subaccounts")
    call(sim, "GET", "/portfolio/subaccounts2", "/portfolio/subaccounts2?page=0")
    call(sim, "GET", "/iserver/accounts")
    call(sim, "POST", "/iserver/account", json={"acctId": a})
    call(sim, "GET", "/portfolio/{accountId}/meta", f"/portfolio/{a}/meta")
    call(sim, "GET", "/portfolio/{accountId}/positions/{pageId}", f"/portfolio/{a}/positions/0")
    call(sim, "POST", "/portfolio/{accountId}/positions/invalidate", f"/portfolio/{a}/positions/invalidate")
    call(sim, "GET", "/portfolio2/{accountId}/positions", f"/portfolio2/{a}/positions")
    call(sim, "GET", "/portfolio/{accountId}/position/{conid}", f"/portfolio/{a}/position/{conid}")
    call(sim, "GET", "/portfolio/positions/{conid}", f"/portfolio/positions/{conid}")
    call(sim, "GET", "/portfolio/{accountId}/summary", f"/portfolio/{a}/summary")
    call(sim, "GET", "/portfolio/{accountId}/ledger", f"/portfolio/{a}/ledger")
    call(sim, "GET", "/portfolio/{accountId}/allocation", f"/portfolio/{a}/allocation")
    assert call(sim, "GET", "/iserver/account/pnl/partitioned") == {"upnl": {}}
    assert call(sim, "GET", "/iserver/account/pnl/partitioned")["upnl"]


def test_contract_endpoints(sim, world):
    found = call(sim, "GET", "/iserver/secdef/search", "/iserver/secdef/search?symbol=AAPL")
    call(sim, "POST", "/iserver/secdef/search", json={"symbol": "SPY"})
    months = next(s for s in found[0]["sections"] if s["secType"] == "OPT")["months"].split(";")
    strikes = call(sim, "GET", "/iserver/secdef/strikes",
                   f"/iserver/secdef/strikes?conid=265598&sectype=OPT&month={months[0]}")
    strike = strikes["call"][len(strikes["call"]) // 2]
    info = call(sim, "GET", "/iserver/secdef/info",
                f"/iserver/secdef/info?conid=265598&sectype=OPT&month={months[0]}&strike={strike}&right=C")
    call(sim, "GET", "/trsrv/stocks", "/trsrv/stocks?symbols=AAPL,SAP")
    call(sim, "GET", "/trsrv/futures", "/trsrv/futures?symbols=ES")
    call(sim, "GET", "/trsrv/secdef", f"/trsrv/secdef?conids=265598,{info[0]['conid']}")
    call(sim, "GET", "/iserver/contract/{conid}/info", "/iserver/contract/265598/info")


def test_market_data_endpoints(sim, world):
    first = call(sim, "GET", "/iserver/marketdata/snapshot", "/iserver/marketdata/snapshot?conids=8314&fields=31,84,86")
    assert set(first[0]) == {"conid", "conidEx"}
    call(sim, "GET", "/iserver/marketdata/snapshot", "/iserver/marketdata/snapshot?conids=8314&fields=31,84,86")
    call(sim, "GET", "/iserver/marketdata/history", "/iserver/marketdata/history?conid=8314&period=1w&bar=1d")
    call(sim, "POST", "/iserver/marketdata/unsubscribe", json={"conid": 8314})
    call(sim, "GET", "/iserver/marketdata/unsubscribeall")


def test_order_endpoints(sim, world):
    a = world["acct"]
    sim.api("GET", "/iserver/marketdata/snapshot?conids=8314&fields=31")  # no o354 question
    ticket = {"acctId": a, "conid": 8314, "orderType": "LMT", "price": 150.0, "side": "BUY", "quantity": 5,
              "tif": "GTC", "cOID": "spec-coverage-1"}
    call(sim, "POST", "/iserver/account/{accountId}/orders/whatif", f"/iserver/account/{a}/orders/whatif",
         json={"orders": [ticket]})
    answer = call(sim, "POST", "/iserver/account/{accountId}/orders", f"/iserver/account/{a}/orders",
                  json={"orders": [ticket]})
    while "id" in answer[0]:  # IBKR's questions, answered one round at a time
        answer = call(sim, "POST", "/iserver/reply/{replyId}", f"/iserver/reply/{answer[0]['id']}",
                      json={"confirmed": True})
    order_id = answer[0]["order_id"]
    call(sim, "GET", "/iserver/account/orders", "/iserver/account/orders?force=true")
    call(sim, "GET", "/iserver/account/orders")
    call(sim, "GET", "/iserver/account/order/status/{orderId}", f"/iserver/account/order/status/{order_id}")
    call(sim, "POST", "/iserver/account/{accountId}/order/{orderId}", f"/iserver/account/{a}/order/{order_id}",
         json={**ticket, "price": 151.0})
    call(sim, "DELETE", "/iserver/account/{accountId}/order/{orderId}", f"/iserver/account/{a}/order/{order_id}")
    call(sim, "GET", "/iserver/account/trades")
    call(sim, "POST", "/iserver/questions/suppress", json={"messageIds": ["o163"]})
    call(sim, "POST", "/iserver/questions/suppress/reset")
    call(sim, "POST", "/logout")


def test_the_table_covers_every_endpoint():
    served = {(e.method, e.path) for e in ENDPOINTS}
    assert served - VALIDATED == set()
