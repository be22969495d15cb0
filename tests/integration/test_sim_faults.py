"""The simulator's fault injection (/sim/faults): error statuses, latency, dropped connections, for a count."""

from __future__ import annotations

import time

import pytest
import requests


@pytest.fixture
def sim_f(sim):
    sim.prime()
    yield sim
    sim.clear_faults()


def test_an_error_status_for_a_count_of_requests(sim_f):
    sim_f.fault(paths=["/portfolio/*/summary"], status=503, count=2)
    acct = sim_f.state()["accounts"][0]["id"]
    codes = [sim_f.api("GET", f"/portfolio/{acct}/summary").status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    assert sim_f.api("GET", f"/portfolio/{acct}/ledger").status_code == 200  # other paths untouched


def test_a_dropped_connection(sim_f):
    sim_f.fault(paths=["/tickle"], drop=True, count=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        sim_f.api("POST", "/tickle")
    assert sim_f.api("POST", "/tickle").status_code == 200


def test_latency_after_the_request_took_effect(sim_f):
    acct = sim_f.state()["accounts"][0]["id"]
    sim_f.fault(paths=["/portfolio/*/positions/invalidate"], methods=["POST"], latency=1.0, phase="after", count=1)
    t0 = time.monotonic()
    assert sim_f.api("POST", f"/portfolio/{acct}/positions/invalidate").json() == {"message": "success"}
    assert time.monotonic() - t0 >= 1.0
    assert sim_f.admin("GET", "faults") == {"faults": []}  # used up


def test_a_bad_fault_spec_is_refused_with_a_reason(sim_f):
    r = sim_f.http.post(f"{sim_f.url}/sim/faults", json={"paths": ["*"], "phase": "sometime"}, timeout=10)
    assert r.status_code == 400 and "phase" in r.json()["error"]
