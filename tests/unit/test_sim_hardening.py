"""The simulator refuses input that broke it (REVIEW-RELIABILITY, issue Faults): NaN quantities, deep JSON,
text/plain bodies, huge bodies, fault specs that would break every call, and a clock asked for 20,000 ticks."""

from __future__ import annotations

import json

import pytest

from ibkr_sim.routes.base import MAX_BODY
from tests.unit.test_sim_orders import AAPL, Gateway, primed_gateway, ticket


@pytest.fixture
def gw() -> Gateway:
    return primed_gateway()


def orders_path(gw: Gateway) -> str:
    return f"/v1/api/iserver/account/{gw.acct}/orders"


@pytest.mark.parametrize("quantity", ["NaN", "Infinity", "-Infinity"])
def test_a_non_finite_quantity_is_a_400_not_a_500_and_nothing_is_placed(gw, quantity):
    body = f'{{"orders": [{{"conid": {AAPL}, "orderType": "MKT", "side": "BUY", "quantity": {quantity}, '\
           '"tif": "DAY"}]}'

    answer = gw.client.post(orders_path(gw), content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and gw.sim.orders.state() == []
    text_nan = gw.submit(ticket(AAPL, qty="nan"))  # a string "nan" as well
    assert "Invalid quantity" in text_nan[1]["error"] and gw.sim.orders.state() == []


def test_json_nested_past_the_recursion_limit_is_a_400(gw):
    deep = "[" * 100_000 + "]" * 100_000
    answer = gw.client.post(orders_path(gw), content=deep, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400


def test_a_text_plain_body_is_not_read_as_json(gw):
    # a form on another site can post text/plain to the gateway without a CORS preflight
    answer = gw.client.post(orders_path(gw), content=json.dumps({"orders": [ticket(AAPL)]}),
                            headers={"Content-Type": "text/plain"})
    assert answer.status_code == 400 and gw.sim.orders.state() == []


def test_a_body_over_the_limit_is_not_read(gw):
    huge = json.dumps({"orders": [ticket(AAPL)], "pad": "x" * (MAX_BODY + 1)})
    answer = gw.client.post(orders_path(gw), content=huge, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and gw.sim.orders.state() == []


@pytest.mark.parametrize("spec", [{"latency": "slow"}, {"latency": 3600}, {"status": 42}, {"status": "500"},
                                  {"paths": [1]}, {"rate": 2}, {"count": -1}, {"drop": "yes"}, {"bogus": 1}])
def test_a_fault_spec_that_would_break_every_call_is_refused(gw, spec):
    answer = gw.client.post("/sim/faults", json=spec)
    assert answer.status_code == 400 and gw.sim.faults.describe() == []
    assert gw.client.get("/v1/api/portfolio/accounts").status_code == 200


def test_the_clock_refuses_20000_ticks(gw):
    assert gw.client.post("/sim/clock", json={"ticks": 20_000}).status_code == 400
    assert gw.client.post("/sim/clock", json={"ticks": 5}).status_code == 200
