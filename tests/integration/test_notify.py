"""Notifications to a webhook receiver started here (http.server on 127.0.0.1, stopped after): exactly one when the
simulator's login is dropped, one when a margin snapshot crosses the warning threshold (also when a buy on margin
in the simulator takes an account past it), no account id unless details are on, and the excess over the hourly
limit held back and recorded."""

from __future__ import annotations

import datetime as dt
import json
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ibkr.gateway import AuthState
from ibkr.notify import HELD, SENT, Notifier
from tests.integration.test_gateway import admin_for, managers, wait_until  # noqa: F401 (the fixture)
from tests.unit.test_analytics import SUMMARIES, summary
from tests.unit.test_history import T0, snapshot


class Receiver:
    """A Slack-compatible webhook: remembers every JSON body POSTed to it."""

    def __init__(self, status: int = 200) -> None:
        self.bodies: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.bodies.append(json.loads(body))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.stop()


@pytest.fixture
def notifiers(tmp_path):
    made: list[Notifier] = []

    def make(url: str | None, **kwargs) -> Notifier:
        made.append(Notifier(tmp_path / "desk.sqlite3", url, **kwargs))
        return made[-1]

    yield make
    for notifier in made:
        notifier.stop()
    if made:
        made[0].db.close()


def recorded(notifier: Notifier) -> list[tuple[str, str]]:
    return [(n.kind, n.status) for n in notifier.recent()]


def test_a_dropped_login_sends_exactly_one_notification(managers, cert_dir, receiver, notifiers):  # noqa: F811
    notifier = notifiers(receiver.url)
    manager = managers().start()
    notifier.watch(manager)
    assert manager.wait_for(AuthState.AUTHENTICATED, timeout=20)
    admin = admin_for(manager, cert_dir)
    account_ids = [a["id"] for a in admin.http.get(f"{admin.url}/sim/state", timeout=10).json()["accounts"]]

    admin.act("logout")  # the simulator drops the login: a person must log in again
    wait_until(lambda: receiver.bodies, timeout=30, what="the webhook call")
    manager.on_prompt(notifier.gateway_prompt)  # a second listener (another page): the pending prompt replayed
    wait_until(lambda: manager.state is not AuthState.AUTHENTICATED, what="the lost session")
    time.sleep(3)  # several keep-alive rounds (1 s) see the same lost session
    assert notifier.flush(10)

    assert len(receiver.bodies) == 1, receiver.bodies
    text = receiver.bodies[0]["text"]
    assert set(receiver.bodies[0]) == {"text"} and "log in" in text.lower()
    assert not any(a in text for a in account_ids)
    assert recorded(notifier) == [("gateway", SENT)]

    admin.act("login")  # someone logged in: the next loss is news again
    assert manager.wait_for(AuthState.AUTHENTICATED, timeout=20)
    time.sleep(2)  # the notifier sees the gateway needs no one (it looks every second)
    admin.act("logout")
    wait_until(lambda: len(receiver.bodies) == 2, timeout=30, what="the second loss's webhook call")
    time.sleep(2)
    assert notifier.flush(10) and len(receiver.bodies) == 2
    assert recorded(notifier) == [("gateway", SENT)] * 2


def margin_snapshot(at: dt.datetime, u1_maint: float):
    """The world of test_analytics with U1's maintenance margin set (equity with loan 100,000): U2 stays in
    danger throughout, so it notifies once, on the first snapshot."""
    u1 = summary("USD", netliquidation=103_125, equitywithloanvalue=100_000, initmarginreq=u1_maint,
                 maintmarginreq=u1_maint, excessliquidity=100_000 - u1_maint, grosspositionvalue=150_000)
    return snapshot(at, summaries={"U1": u1, "U2": SUMMARIES["U2"]})


def test_margin_crossing_the_warning_threshold_notifies_once_and_again_after_it_fell_back(receiver, notifiers):
    notifier = notifiers(receiver.url, warning=0.70, danger=0.90)
    minute = dt.timedelta(minutes=1)
    notifier.snapshot(margin_snapshot(T0, 45_000))  # U1 45 %: ok; U2 92.5 %: danger
    assert notifier.flush(10)
    assert len(receiver.bodies) == 1 and "danger" in receiver.bodies[0]["text"]
    receiver.bodies.clear()

    notifier.snapshot(margin_snapshot(T0 + minute, 72_000))  # U1 72 %: crosses the warning threshold
    notifier.snapshot(margin_snapshot(T0 + 2 * minute, 75_000))  # still above: no news
    assert notifier.flush(10)
    assert len(receiver.bodies) == 1, receiver.bodies
    text = receiver.bodies[0]["text"]
    assert "warning threshold (70%)" in text and "U1" not in text and "72" not in text

    notifier.snapshot(margin_snapshot(T0 + 3 * minute, 50_000))  # falls back: re-armed
    notifier.snapshot(margin_snapshot(T0 + 4 * minute, 71_000))
    assert notifier.flush(10)
    assert len(receiver.bodies) == 2
    assert [k for k, s in recorded(notifier)] == ["margin"] * 3


def test_account_ids_and_amounts_only_with_details_on(receiver, notifiers):
    notifier = notifiers(receiver.url, details=True)
    notifier.snapshot(margin_snapshot(T0, 72_000))
    assert notifier.flush(10)
    texts = sorted(b["text"] for b in receiver.bodies)
    assert texts[0] == "Account U1: maintenance margin utilisation is 72.0%, over the warning threshold (70%)."
    assert "U2" in texts[1] and "92.5%" in texts[1]


def test_the_rate_limit_holds_the_excess_back_and_records_it(receiver, notifiers):
    notifier = notifiers(receiver.url, per_hour=2)
    for n in range(5):
        notifier.notify("order", f"order:U1:{n}:filled", f"An order was filled ({n}).")
    notifier.notify("order", "order:U1:0:filled", "the same event again")  # deduped: not even recorded twice
    assert notifier.flush(10)
    assert [b["text"] for b in receiver.bodies] == ["An order was filled (0).", "An order was filled (1)."]
    statuses = [(n.key, n.status) for n in notifier.recent()]
    assert statuses == [(f"order:U1:{n}:filled", SENT if n < 2 else HELD) for n in range(5)]
    assert all("IBKR_NOTIFY_PER_HOUR" in n.error for n in notifier.recent() if n.status == HELD)


def test_a_failing_webhook_is_recorded_with_its_error_and_an_event_is_not_sent_again_after_a_restart(notifiers):
    failing = Receiver(status=500)
    try:
        notifier = notifiers(failing.url)
        notifier.notify("gateway", "gateway:x", "The IBKR gateway needs a login.")
        assert notifier.flush(10)
        [row] = notifier.recent()
        assert row.status == "failed" and "HTTP 500" in row.error and len(failing.bodies) == 1
        again = notifiers(failing.url)  # a restart: the same database
        assert not again.notify("gateway", "gateway:x", "The IBKR gateway needs a login.")
        assert again.flush(10) and len(failing.bodies) == 1
    finally:
        failing.stop()


def order(order_id: int, status: str, side: str = "BUY", **extra):
    from ibkr.models.trading import Order

    return Order.model_validate({"orderId": order_id, "acct": "U1", "ticker": "AAPL", "side": side,
                                 "status": status, "totalSize": 10, "filledQuantity": 10 if status == "Filled" else 0,
                                 "avgPrice": 200.5, **extra})


def test_an_order_filled_or_rejected_after_the_first_read_is_notified_once(receiver, notifiers):
    from ibkr.order_book import AccountRead

    notifier = notifiers(receiver.url)
    now = dt.datetime.now(dt.UTC)
    book = lambda *orders: {"U1": AccountRead(list(orders), now)}  # noqa: E731
    notifier.orders(book(order(1, "Filled"), order(2, "Submitted")))  # the baseline: filled before we watched
    notifier.orders(book(order(1, "Filled"), order(2, "Filled"), order(3, "Rejected", side="SELL")))
    notifier.orders(book(order(1, "Filled"), order(2, "Filled"), order(3, "Rejected", side="SELL")))
    assert notifier.flush(10)
    assert sorted(b["text"] for b in receiver.bodies) == ["A buy order was filled.", "A sell order was rejected."]
    assert sorted(n.key for n in notifier.recent()) == ["order:U1:2:filled", "order:U1:3:rejected"]


def test_the_dashboard_toasts_and_posts_the_dropped_login_once_and_the_account_over_the_margin_warning_once(receiver, tmp_path):
    from tests.dashboard_harness import DashboardHarness, run_until

    with DashboardHarness(tmp_path / "dash", notify_webhook_url=receiver.url, tickle_seconds="1") as dash:
        at = dash.boot()
        logins = lambda: [b for b in receiver.bodies if "log in" in b["text"].lower()]  # noqa: E731
        assert not logins()  # (the simulated world may have an account over the margin warning already)
        dash.admin("POST", "session", json={"action": "logout"})
        run_until(at, lambda at: any("log in" in t.value.lower() for t in at.toast), what="the toast")
        time.sleep(3)
        at.run()
        assert not any("log in" in t.value.lower() for t in at.toast), "a toast is shown once per session"
        assert len(logins()) == 1, receiver.bodies
        ids = [a["id"] for a in dash.sim_state()["accounts"]]
        assert not any(a in b["text"] for a in ids for b in receiver.bodies)
        dash.admin("POST", "session", json={"action": "login"})  # what the person does
        from ibkr_desk.ui import services

        assert services.gateway().wait_for(AuthState.AUTHENTICATED, timeout=30)
        generation = services.refresher().status().generation
        services.refresher().request(again=True)
        assert services.refresher().wait(generation, timeout=60) and services.notifier().flush(10)
        # the simulated world puts its last account over the warning threshold (74 %): one notification for it
        # at the first snapshot, none for the same level on later snapshots
        summaries = [dash.api(f"/portfolio/{a}/summary") for a in ids]
        over = [a for a, s in zip(ids, summaries, strict=True)
                if s["maintmarginreq"]["amount"] / s["equitywithloanvalue"]["amount"] >= 0.70]
        assert over, "the simulated world has an account over the margin warning"
        margins = [b for b in receiver.bodies if "margin" in b["text"]]
        assert len(margins) == len(over), receiver.bodies
    assert dash.stopped_cleanly()


def test_in_the_first_read_only_what_ended_since_the_dashboard_started_is_news(receiver, notifiers):
    # A dashboard started at boot reads each account in turn: an order that filled in the seconds before its first
    # read of that account is a fill to notify; one that filled yesterday is not.
    from ibkr.order_book import AccountRead

    notifier = notifiers(receiver.url)
    now_ms = int(time.time() * 1000)
    first = {"U1": AccountRead([order(1, "Filled", lastExecutionTime_r=now_ms - 86_400_000),
                                order(2, "Filled", lastExecutionTime_r=now_ms + 1000),
                                order(3, "Filled")], dt.datetime.now(dt.UTC))}
    notifier.orders(first)
    notifier.orders(first)
    assert notifier.flush(10)
    assert [n.key for n in notifier.recent()] == ["order:U1:2:filled"]


@pytest.mark.parametrize("details", [False, True])
def test_an_order_ibkr_rejects_at_placement_is_notified_once_from_the_audit_log(receiver, notifiers, tmp_path,
                                                                                  details):
    # IBKR's refusal of the placement itself gives no order id, so the live-orders reader never sees the order:
    # the audit log's record of IBKR's answer is where the notifier hears of it.
    from ibkr.audit import AuditLog, local_actor
    from ibkr.errors import OrderRejected
    from ibkr.orders.submission import OrderFlow, Submissions, run

    notifier = notifiers(receiver.url, details=details)
    audit = AuditLog(tmp_path / "desk.sqlite3")
    audit.on_record(notifier.audited)
    register = Submissions(audit=audit)

    def rejected():
        raise OrderRejected("Order rejected - reason: insufficient buying power")

    def placed():
        from ibkr.models import OrderAccepted

        return OrderAccepted(order_id="77", order_status="Submitted")

    class Client:  # what run() asks of a client after a placement
        def order_status(self, order_id):
            return None

    flows = []
    for call in (rejected, placed):
        store: dict = {}
        flow = register.begin(store, "new", OrderFlow("new", "BUY 100 IBM MKT DAY", "DU0001", str(len(flows))),
                              actor=local_actor())
        flows.append(run(flow, Client(), call))
    assert [f.stage.value for f in flows] == ["rejected", "placed"]
    assert notifier.flush(10)
    said = ("IBKR rejected BUY 100 IBM MKT DAY for account DU0001: Order rejected - reason: insufficient buying "
            "power" if details else "IBKR rejected an order request.")
    assert [b["text"] for b in receiver.bodies] == [said]
    entry = next(e for e in audit.entries() if e["outcome"] and e["outcome"].startswith("rejected:"))
    assert [n.key for n in notifier.recent()] == [f"audit:{entry['id']}:rejected"]
    assert ("DU0001" in receiver.bodies[0]["text"]) is details


def test_an_order_filled_in_the_simulator_is_notified_once_from_the_live_orders_reader(sim, receiver, notifiers):
    from ibkr import OrderAccepted, StockOrder
    from ibkr.order_book import BookReader
    from tests.integration.client_support import client_for

    sim.prime()
    client = client_for(sim)
    acct = sim.state()["accounts"][0]["id"]
    notifier = notifiers(receiver.url)
    reader = BookReader(lambda a: client.live_orders(a), lambda: [acct], 0.2, ready=lambda: True,
                        name="test-live-orders", on_result=notifier.orders).start()
    try:
        assert reader.wait(0, timeout=60)  # the baseline read
        result = client.place_order(StockOrder(account_id=acct, symbol="AAPL", side="BUY", quantity=5,
                                               order_type="MKT"), accept={"o354", "o10151", "o10153"})
        assert isinstance(result, OrderAccepted), result
        wait_until(lambda: any("filled" in b["text"] for b in receiver.bodies), timeout=60, what="the fill")
        generation = reader.status().generation
        reader.request(acct)
        assert reader.wait(generation + 1, timeout=60)  # two more reads see the same filled order
    finally:
        reader.stop()
    assert notifier.flush(10)
    assert [b["text"] for b in receiver.bodies] == ["A buy order was filled."]
    assert [n.key for n in notifier.recent()] == [f"order:{acct}:{result.order_id}:filled"]


def test_a_buy_on_margin_that_pushes_an_account_past_the_warning_threshold_is_notified_once(start_sim, receiver,
                                                                                           notifiers):
    from ibkr import OrderAccepted, PendingConfirmation, StockOrder
    from ibkr.portfolio import load_portfolio
    from tests.integration.client_support import client_for

    sim = start_sim("--auto-login", "--no-pacing")
    sim.prime()
    client = client_for(sim)
    notifier = notifiers(receiver.url, warning=0.70, danger=0.90)
    usd = next(a["id"] for a in sim.state()["accounts"] if a["base_currency"] == "USD")
    notifier.snapshot(load_portfolio(client))  # the baseline (the world's last account is over the warning already)
    assert notifier.flush(10)
    before = list(receiver.bodies)

    # a buy of stock with borrowed cash: equity with loan value stays, the maintenance requirement grows by 25 % of
    # the stock's value (the simulator's Reg T rates), so this one order takes the account to ~80 %
    summary = sim.api("GET", f"/portfolio/{usd}/summary").json()
    elv, maint = summary["equitywithloanvalue"]["amount"], summary["maintmarginreq"]["amount"]
    assert maint / elv < 0.70, "the USD account starts below the warning threshold"
    stock = next(p for p in next(a for a in sim.state()["accounts"] if a["id"] == usd)["positions"]
                 if p["asset_class"] == "STK" and p["currency"] == "USD")
    quantity = math.ceil((0.80 * elv - maint) / 0.25 / stock["market_price"])
    result = client.place_order(StockOrder(account_id=usd, symbol=stock["symbol"], side="BUY", quantity=quantity,
                                           order_type="MKT"))
    while isinstance(result, PendingConfirmation):  # IBKR's questions (its size and margin warnings): yes
        result = client.confirm(result)
    assert isinstance(result, OrderAccepted), result
    after = sim.api("GET", f"/portfolio/{usd}/summary").json()
    assert 0.70 <= after["maintmarginreq"]["amount"] / after["equitywithloanvalue"]["amount"] < 0.90

    for _ in range(3):  # the refresh that sees it, and two more at the same level
        notifier.snapshot(load_portfolio(client))
    assert notifier.flush(10)

    new = receiver.bodies[len(before):]
    assert [b["text"] for b in new] == [
        "An account's maintenance margin utilisation crossed the warning threshold (70%)."], receiver.bodies
    assert usd not in new[0]["text"]
    keys = [n.key for n in notifier.recent() if n.kind == "margin"]
    assert sum(k.startswith(f"margin:{usd}:warning:") for k in keys) == 1 and not any(f":{usd}:danger" in k
                                                                                      for k in keys)


def test_after_a_restart_the_margin_watch_resumes_from_the_history_and_reports_only_a_new_level(tmp_path, receiver,
                                                                                               notifiers):
    from ibkr.history import History

    history = History(tmp_path / "desk.sqlite3", minutes=5)
    assert [f.account for f in history.record(margin_snapshot(T0, 72_000))] == ["U1", "U2"]  # U1 72 %, U2 92.5 %
    notifier = notifiers(receiver.url, warning=0.70, danger=0.90)  # the restarted dashboard
    notifier.resume_margin(history.last_utilisation())

    notifier.snapshot(margin_snapshot(T0 + dt.timedelta(minutes=1), 72_000))  # the same levels as before
    assert notifier.flush(10) and receiver.bodies == []
    notifier.snapshot(margin_snapshot(T0 + dt.timedelta(minutes=2), 91_000))  # U1 rose to danger: news
    assert notifier.flush(10)
    assert [b["text"] for b in receiver.bodies] == [
        "An account's maintenance margin utilisation crossed the danger threshold (90%)."]
    assert [n.key.split(":")[:3] for n in notifier.recent()] == [["margin", "U1", "danger"]]
