"""Orders whose answer is lost, through the running dashboard (AppTest clicking Submit on the Orders page, trading
enabled, its own GatewayManager and simulator): the placement's answer held past IBKR_REQUEST_TIMEOUT, the
gateway's own empty 503 after 10 s (both after the order was placed), and a 503 before anything was placed.

Each test asserts what the simulator holds (exactly one order, or none; the order POST sent once), what the page
says (found by its cOID: do not send it again; or outcome unknown: check before sending again), that Submit cannot
send it a second time (in the same session, nor in a fresh one, as after a reload), and that the desk's audit log
(the database under the harness's state folder) has the submission and its outcome.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from ibkr.audit import AuditLog
from tests.dashboard_harness import DashboardHarness, run_until
from tests.faults.test_ticket_input import cannot_submit, good_ticket, order_traffic

pytestmark = pytest.mark.slow

TIMEOUT = 12  # IBKR_REQUEST_TIMEOUT here: past the gateway's own 10 s cut-off, so its empty 503 arrives first
PLACEMENT = {"paths": ["/iserver/account/*/orders"], "methods": ["POST"]}


@pytest.fixture(scope="module")
def dash(tmp_path_factory) -> Iterator[DashboardHarness]:
    harness = DashboardHarness(tmp_path_factory.mktemp("order-faults"), trading_enabled="true",
                               request_timeout=str(TIMEOUT)).__enter__()
    try:
        harness.boot()
        yield harness
    finally:
        harness.__exit__(None, None, None)
    assert harness.stopped_cleanly(), "the simulator started by the dashboard's GatewayManager is still running"


@pytest.fixture(autouse=True)
def _one_submission_each(dash) -> Iterator[None]:
    """No fault, and no earlier test's submission left for a fresh session to adopt (it would lock the ticket)."""
    yield
    dash.admin("DELETE", "faults")
    from ibkr_desk.ui import services

    for flow in services.submissions().undismissed(within=3600):
        flow.dismissed = True


def placements(dash: DashboardHarness) -> int:
    return sum(n for k, n in order_traffic(dash)[1].items() if re.fullmatch(r"POST /iserver/account/[^/]+/orders", k))


def submit(at: AppTest) -> AppTest:
    next(b for b in at.button if b.label == "Submit order").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(i.value.startswith("Sending BUY") for i in at.info), [i.value for i in at.info]
    cannot_submit(at)  # while it is on its way
    return at


def settled(at: AppTest) -> AppTest:
    run_until(at, lambda at: at.success or [e for e in at.error if "Outcome unknown" in e.value], timeout=90,
              what="the submission's outcome")
    assert not at.exception, [e.value for e in at.exception]
    return at


def coid_on_page(at: AppTest) -> str:
    captions = " ".join(c.value for c in at.caption)
    found = re.search(r"cOID (desk-[0-9a-f]+)", captions)
    assert found, captions
    return found.group(1)


def reopened(dash: DashboardHarness) -> AppTest:
    """The Orders page in a fresh session, as after a reload or in another tab."""
    at = dash.app()
    at.run()
    return dash.page(at, "orders")


def audit_rows(dash: DashboardHarness, coid: str) -> list[dict]:
    """The audit log's rows of the submission sent under ``coid``, oldest first, from the dashboard's database."""
    database = dash.tmp / "state" / "ibkr-desk" / "desk.sqlite3"
    assert database.exists(), "the dashboard's database is under the harness's state folder"
    log = AuditLog(database)
    (submitted,) = log.entries(action="submit", text=coid)
    return sorted((e for e in log.entries() if e["flow_id"] == submitted["flow_id"]), key=lambda e: e["id"])


def found_by_its_coid(dash: DashboardHarness, at: AppTest, orders_before: list[dict], posts_before: int,
                      says: str) -> None:
    """The order placed once, the page saying it was found by its cOID, Submit unable to send it again, audited."""
    coid = coid_on_page(at)
    orders = dash.sim_state()["orders"]
    (placed,) = [o for o in orders if o["cOID"] == coid]
    assert len(orders) == len(orders_before) + 1, "exactly one order more in the simulator"
    assert placements(dash) == posts_before + 1, "the order POST was sent exactly once"
    assert not [k for k in order_traffic(dash)[1] if k.startswith("POST /iserver/reply/")], "no question answered"

    success = " ".join(s.value for s in at.success)
    assert f"Order {placed['order_id']} placed" in success, success
    note = " ".join(i.value for i in at.info)
    assert re.search(says, note), note
    assert f"looked for the order's cOID {coid} among the live orders and found it: order {placed['order_id']} " \
           "went through" in note and "Do not send it again." in note, note
    cannot_submit(at)
    again = reopened(dash)  # a reload shows the submission and keeps the ticket locked
    assert not again.exception, [e.value for e in again.exception]
    assert f"Order {placed['order_id']} placed" in " ".join(s.value for s in again.success)
    cannot_submit(again)
    assert len(dash.sim_state()["orders"]) == len(orders_before) + 1 and placements(dash) == posts_before + 1

    rows = audit_rows(dash, coid)
    assert [r["action"] for r in rows] == ["submit", "response"], rows
    assert rows[1]["outcome"].startswith(f"placed: order {placed['order_id']}"), rows[1]
    assert rows[1]["outcome"].endswith("(IBKR's answer was lost; found by its cOID among the live orders)"), rows[1]
    assert f'"coid": "{coid}"' in rows[0]["detail"], rows[0]["detail"]
    assert '"found_after_timeout": true' in rows[1]["detail"], rows[1]["detail"]


def test_an_order_whose_answer_never_arrives_is_found_by_its_coid_once_and_cannot_be_sent_twice(dash):
    # The gateway places the order, then holds its answer past the client's timeout.
    at = good_ticket(dash, "STK", symbol="IBM")
    orders_before, posts_before = dash.sim_state()["orders"], placements(dash)
    dash.admin("POST", "faults", json={**PLACEMENT, "latency": TIMEOUT + 3, "phase": "after", "count": 1})
    settled(submit(at))
    found_by_its_coid(dash, at, orders_before, posts_before, r"IBKR's answer was lost \(the gateway did not answer within")


def test_an_order_cut_off_by_the_gateways_empty_503_after_10_s_is_found_by_its_coid_once(dash, caplog):
    # IBKR's gateway answers a request it gave up on with an empty 503 ("x-response-time: 10000ms"), the order
    # placed meanwhile: the client cannot tell, so it looks for the cOID and never sends it again.
    at = good_ticket(dash, "STK", symbol="MSFT")
    orders_before, posts_before = dash.sim_state()["orders"], placements(dash)
    dash.admin("POST", "faults", json={**PLACEMENT, "cutoff": True, "latency": 10, "phase": "after", "count": 1})
    with caplog.at_level(logging.WARNING, logger="ibkr"):
        settled(submit(at))
    lost = [r.getMessage() for r in caplog.records if "failed mid-way" in r.getMessage()]
    assert lost and "503" in lost[0] and "did not answer within" not in lost[0], lost  # the 503 ended it
    # the page names what ended it (a dropped or 500 answer said "did not answer in time": REVIEW-RELIABILITY 12)
    found_by_its_coid(dash, at, orders_before, posts_before, r"IBKR's answer was lost \(the gateway answered HTTP 503\)")


def test_a_503_before_placement_says_the_outcome_is_unknown_never_placed_and_sends_nothing_twice(dash):
    at = good_ticket(dash, "STK", symbol="AAPL")
    orders_before, posts_before = dash.sim_state()["orders"], placements(dash)
    dash.admin("POST", "faults", json={**PLACEMENT, "status": 503, "phase": "before", "count": 5})
    settled(submit(at))

    coid = coid_on_page(at)
    assert not at.success, [s.value for s in at.success]
    unknown = " ".join(e.value for e in at.error)
    assert unknown.startswith("**Outcome unknown.**") and "503" in unknown, unknown
    assert f"the order (cOID {coid}) is not among the live orders" in unknown, unknown
    assert "check the live orders (or TWS) before placing it again" in unknown, unknown
    assert not re.search(r"Order \d+ placed|went through", unknown), unknown
    cannot_submit(at)

    def nothing_placed() -> None:
        assert dash.sim_state()["orders"] == orders_before, "nothing was placed"
        assert placements(dash) == posts_before, "the 503 came before the gateway placed anything"
        (fault,) = dash.admin("GET", "faults")["faults"]
        assert fault["fired"] == 1, "the order POST was sent once, never retried"

    nothing_placed()
    again = reopened(dash)  # a reload shows the unknown outcome and keeps the ticket locked
    assert not again.exception and "Outcome unknown" in " ".join(e.value for e in again.error)
    cannot_submit(again)
    nothing_placed()

    rows = audit_rows(dash, coid)
    assert [r["action"] for r in rows] == ["submit", "response"], rows
    assert rows[1]["outcome"].startswith("OrderStatusUnknown: The order request failed before IBKR answered"), rows[1]
    assert '"status": 503' in rows[1]["detail"], rows[1]["detail"]


def test_an_order_placed_whose_answer_and_lookup_both_fail_is_unknown_until_look_again_finds_it_once(dash):
    # The worst case: the order is placed, its answer is lost and the live orders cannot be read either. The page
    # must say "unknown, check first" (not "not placed"), and Look again must find the one order, not send another.
    at = good_ticket(dash, "STK", symbol="IBM")
    orders_before, posts_before = dash.sim_state()["orders"], placements(dash)
    dash.admin("POST", "faults", json={**PLACEMENT, "latency": TIMEOUT + 3, "phase": "after", "count": 1})
    dash.admin("POST", "faults", json={"paths": ["/iserver/account/orders"], "methods": ["GET"], "status": 500})
    settled(submit(at))

    coid = coid_on_page(at)
    (placed,) = [o for o in dash.sim_state()["orders"] if o["cOID"] == coid]
    unknown = " ".join(e.value for e in at.error)
    assert unknown.startswith("**Outcome unknown.**") and "before placing it again" in unknown, unknown
    assert not at.success and "Not sent" not in unknown, unknown
    assert "the live orders could not be read" in unknown and "is not among the live orders" not in unknown, unknown
    cannot_submit(at)
    cannot_submit(reopened(dash))

    dash.admin("DELETE", "faults")  # the live orders can be read again
    next(b for b in at.button if b.label == f"Look for cOID {coid} again").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert f"Order {placed['order_id']} placed" in " ".join(s.value for s in at.success), [e.value for e in at.error]
    assert "Do not send it again." in " ".join(i.value for i in at.info)
    cannot_submit(at)
    assert len(dash.sim_state()["orders"]) == len(orders_before) + 1, "exactly one order more in the simulator"
    assert placements(dash) == posts_before + 1, "the order POST was sent exactly once"

    rows = audit_rows(dash, coid)
    assert [r["action"] for r in rows] == ["submit", "response", "recheck"], rows
    assert rows[1]["outcome"].startswith("OrderStatusUnknown: "), rows[1]
    assert rows[2]["outcome"] == (f"placed: order {placed['order_id']} {placed['status']} (IBKR's answer was lost; "
                                  "found by its cOID among the live orders)"), rows[2]
