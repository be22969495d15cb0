"""The simulated gateway's time in force rules: PAX is for crypto only (IBKR v1 docs, Place Order)."""

from __future__ import annotations

import pytest

from tests.unit.test_sim_orders import AAPL, BTC, EURUSD, Gateway, primed_gateway, ticket


@pytest.fixture
def gw() -> Gateway:
    return primed_gateway()


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
