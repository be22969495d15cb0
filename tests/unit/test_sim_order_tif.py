"""The simulated gateway's time in force rules: PAX is for crypto only (IBKR v1 docs, Place Order)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from ibkr.config import SimSettings
from ibkr_sim.app import create_app
from tests.unit.test_sim_contracts import TODAY
from tests.unit.test_sim_orders import AAPL, BTC, EURUSD, Gateway, ticket


@pytest.fixture
def gw() -> Gateway:
    app = create_app(SimSettings(auto_login=True, tick_seconds=0, pacing=False, today=TODAY))
    client = TestClient(app)
    for path in ("/iserver/accounts", "/portfolio/accounts"):  # the guard wants both primed
        assert client.get("/v1/api" + path).status_code == 200
    return Gateway(client, app.state.sim)


@pytest.mark.parametrize("conid", [AAPL, EURUSD])
def test_pax_on_anything_but_crypto_is_refused_and_nothing_is_placed(gw, conid):
    status, body = gw.submit(ticket(conid, tif="PAX"))

    assert status == 200 and body["error"].startswith("Invalid time in force: PAX is for crypto orders only")
    assert gw.sim.orders.state() == []


@pytest.mark.parametrize("tif", ["PAX", "IOC", "GTC"])
def test_a_crypto_order_takes_pax_ioc_and_gtc(gw, tif):
    body, _ = gw.place(ticket(BTC, qty=0.01, tif=tif, cOID=f"btc-{tif}"))

    assert body[0]["order_status"] == "Filled"
    assert gw.sim.orders.state()[0]["cOID"] == f"btc-{tif}"
