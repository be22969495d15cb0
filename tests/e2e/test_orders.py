"""The Orders page in Chromium against `python -m ibkr_desk` with the simulated gateway (trading enabled).

One app for the module. After every order the simulator's truth (``/sim/state``) must hold exactly the orders
the trader meant: one new order per click that placed one, none when the trader said no or IBKR refused.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ibkr_sim.world.order_questions import CAP_PRICE, MARKET_ORDER
from tests.dashboard_harness import streamlit_app

pytestmark = pytest.mark.e2e
REQUEST_TIMEOUT = 3  # seconds: the placement answer is delayed past it in the timeout test


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The dashboard with its own simulator (logged in, frozen prices), trading enabled, a short request timeout."""
    tmp = tmp_path_factory.mktemp("orders-app")
    with streamlit_app(tmp, sim_auto_login="true", trading_enabled="true", request_timeout=str(REQUEST_TIMEOUT),
                       tickle_seconds="5", refresh_seconds="60") as running:
        yield running


def sim(app, method: str, path: str, **kwargs) -> dict:
    r = app["truth"].request(method, f"{app['gateway']}/sim/{path}", timeout=10, **kwargs)
    r.raise_for_status()
    return r.json()


def orders(app) -> dict[int, dict]:
    return {o["order_id"]: o for o in sim(app, "GET", "state")["orders"]}


def words(text: str) -> str:
    """Text as a reader sees it: IBKR's HTML tags and entities rendered, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


def sim_asset_class(app, conid: int) -> str | None:
    """The simulator's asset class of a contract (its /trsrv/secdef answer)."""
    r = app["truth"].get(f"{app['gateway']}/v1/api/trsrv/secdef", params={"conids": conid}, timeout=10)
    r.raise_for_status()
    return next((c["assetClass"] for c in r.json()["secdef"] if c["conid"] == conid), None)


class OrdersPage:
    """Drives the Orders page the way a trader does: labels, buttons and IBKR's words, no CSS classes."""

    def __init__(self, page, app, artifacts: Path) -> None:
        self.page, self.app, self.artifacts = page, app, artifacts

    def settle(self, ms: int = 300) -> None:
        """Wait until Streamlit finished the run the last action started."""
        self.page.wait_for_timeout(ms)
        self.page.wait_for_function(
            "() => !document.querySelector('[data-testid=\"stStatusWidget\"]') "
            "&& !document.querySelector('[data-stale=\"true\"]')", timeout=60_000)
        self.page.wait_for_timeout(150)

    def open(self) -> OrdersPage:
        self.page.goto(f"{self.app['url']}/orders")
        self.page.get_by_role("heading", name="Ticket").wait_for(timeout=60_000)
        self.settle(500)
        # A submission another session of this dashboard left open (an earlier test) is shown, the ticket locked,
        # until someone closes it, as a trader would before the next order.
        leftover = self.page.get_by_role("button", name="New order", exact=True)
        if leftover.count():
            leftover.click()
            self.settle()
        # The ticket never picks an account by itself ("All accounts" in the sidebar): the trader does.
        account = sim(self.app, "GET", "state")["accounts"][0]["id"]
        self.page.get_by_test_id("stMain").get_by_role("combobox", name="Account", exact=True).click()
        self.page.get_by_role("option", name=account).first.click()
        self.settle()
        return self

    def shot(self, name: str) -> None:
        """A screenshot of the whole page (Streamlit scrolls inside its main block, so the window grows)."""
        size = self.page.viewport_size
        self.page.mouse.move(5, 5)  # no tooltip over the page
        self.page.set_viewport_size({"width": 1440, "height": 2200})
        self.settle(600)
        self.page.screenshot(path=str(self.artifacts / f"orders-{name}.png"))
        self.page.set_viewport_size(size)
        self.settle(200)

    def asset_class(self, label: str) -> None:
        group = self.page.get_by_role("radiogroup", name="Asset class")
        group.get_by_role("radio", name=label, exact=True).click()
        self.settle()

    def type_in(self, label: str, text: str) -> None:
        box = self.page.get_by_role("textbox", name=label, exact=True)
        box.fill(text)
        box.press("Enter")
        self.settle(800)

    def number(self, label: str, value: float | str) -> None:
        box = self.page.get_by_label(label, exact=True)
        box.fill(str(value))
        box.press("Enter")
        self.settle()

    def choose(self, label: str, option: str) -> None:
        self.page.get_by_role("combobox", name=label, exact=True).click()
        self.page.get_by_role("option", name=option).first.click()
        self.settle()

    def pick_working_order(self, order_id: int, timeout: float = 30) -> None:
        """Choose an order in the live orders' picker once the refreshed list holds it."""
        deadline = time.monotonic() + timeout
        while True:
            box = self.page.get_by_role("combobox", name="Working order to change or cancel", exact=True)
            if box.count():
                box.click()
                option = self.page.get_by_role("option", name=re.compile(rf"^{order_id} · "))
                if option.count():
                    option.first.click()
                    self.settle()
                    return
                self.page.keyboard.press("Escape")
            assert time.monotonic() < deadline, f"order {order_id} never showed among the working orders"
            self.page.wait_for_timeout(1000)

    def wait_order_row(self, order_id: int, status: str, timeout: int = 30_000) -> None:
        """Wait until the live orders table shows the order with this status (the grid's accessible cells)."""
        cell = self.page.locator("[role=gridcell]")
        row = self.page.locator("[role=row]").filter(has=cell.filter(has_text=re.compile(rf"^{order_id}$"))).filter(
            has=cell.filter(has_text=re.compile(rf"^{status}$")))
        row.first.wait_for(state="attached", timeout=timeout)

    def radio(self, label: str) -> None:
        self.page.locator("[data-testid=stRadioGroup] label").filter(has_text=re.compile(rf"^{label}$")).click()
        self.settle()

    def click(self, name: str) -> None:
        self.page.get_by_role("button", name=name, exact=True).click()
        self.settle(600)

    def contract_conid(self) -> int:
        """The conid the ticket shows for the picked contract."""
        caption = self.page.get_by_text(re.compile(r"conid \d+ · (last|no market)")).first.inner_text()
        return int(re.search(r"conid (\d+) · (?:last|no market)", caption).group(1))

    def limit_price(self) -> float:
        return float(self.page.get_by_label("Limit price", exact=True).input_value())

    def main_text(self) -> str:
        return self.page.inner_text("main")

    def wait_text(self, pattern: str, timeout: int = 30_000) -> str:
        self.page.get_by_text(re.compile(pattern)).first.wait_for(timeout=timeout)
        self.settle(100)
        return self.main_text()

    def placed(self) -> tuple[int, str]:
        """Order id and cOID of the order the page says it placed."""
        text = self.wait_text(r"Order \d+ (placed|modified)")
        order_id = int(re.search(r"Order (\d+) placed", text).group(1))
        coid = re.search(r"cOID (desk-[0-9a-f]+)", text).group(1)
        return order_id, coid


@pytest.fixture
def ticket(app, page, artifacts_dir, request) -> Iterator[OrdersPage]:
    failed = request.session.testsfailed
    yield OrdersPage(page, app, artifacts_dir).open()
    if request.session.testsfailed > failed:  # the page as it was when the test failed
        page.screenshot(path=str(artifacts_dir / f"orders-FAILED-{request.node.name}.png"), full_page=True)


def assert_one_new_order(app, before: dict[int, dict], *, conid: int, side: str, quantity: float, order_type: str,
                         coid: str) -> dict:
    after = orders(app)
    new = [o for oid, o in after.items() if oid not in before]
    assert len(new) == 1, f"expected exactly one new order, the simulator holds {new}"
    order = new[0]
    assert (order["conid"], order["side"], order["quantity"], order["order_type"], order["cOID"]) == (
        conid, side, quantity, order_type, coid)
    return order


def test_stock_market_order_through_two_questions(app, ticket):
    before = orders(app)
    ticket.type_in("Symbol", "AAPL")
    conid = ticket.contract_conid()
    ticket.number("Quantity", 5)
    ticket.choose("Order type", "MKT · market")
    ticket.click("Preview (what-if)")
    text = ticket.wait_text(r"Margin utilisation it would leave")
    assert re.search(r"Commission [\d.,]+ USD", text)
    ticket.shot("stock-preview")

    ticket.click("Submit order")
    text = ticket.wait_text("IBKR asks before placing")
    assert "o10151" in text and words(MARKET_ORDER) in words(text), "IBKR's question, word for word"
    assert orders(app) == before, "nothing may be placed before the trader answers"
    ticket.shot("stock-question-1")
    ticket.click("Yes, I confirm")
    text = ticket.wait_text("Confirm Mandatory Cap Price")
    assert "o10153" in text and "round 2" in text and words(CAP_PRICE) in words(text)
    ticket.click("Yes, I confirm")
    order_id, coid = ticket.placed()
    ticket.wait_text(rf"Order {order_id} placed: Filled")
    ticket.shot("stock-placed")
    order = assert_one_new_order(app, before, conid=conid, side="BUY", quantity=5, order_type="MKT", coid=coid)
    assert order["order_id"] == order_id and order["status"] == "Filled"


@pytest.mark.parametrize("asset_class, steps, quantity, kind", [
    ("Option", [("type_in", "Underlying symbol", "SPY"), ("radio", "Put")], 2, "OPT"),
    ("Future", [("type_in", "Futures symbol", "ES")], 1, "FUT"),
    ("Forex", [("type_in", "Currency or pair", "EUR"), ("choose", "Pair", "EUR.USD")], 20000, "CASH"),
    ("Bond", [("type_in", "Issuer symbol", "T")], 10000, "BOND"),
    ("Crypto", [("type_in", "Symbol", "ETH")], 0.5, "CRYPTO"),
])
def test_limit_order_per_asset_class(app, ticket, asset_class, steps, quantity, kind):
    before = orders(app)
    ticket.asset_class(asset_class)
    for action, *args in steps:
        getattr(ticket, action)(*args)
    conid = ticket.contract_conid()
    limit = ticket.limit_price()
    assert limit > 0, "the limit price starts at the contract's last price"
    ticket.number(next(label for label in ("Quantity", "Quantity (contracts)", "Quantity (base currency)",
                                           "Quantity (face value)")
                       if ticket.page.get_by_label(label, exact=True).count()), quantity)
    ticket.click("Submit order")
    order_id, coid = ticket.placed()
    ticket.shot(f"{kind.lower()}-placed")
    order = assert_one_new_order(app, before, conid=conid, side="BUY", quantity=quantity, order_type="LMT",
                                 coid=coid)
    assert order["price"] == pytest.approx(limit) and order["status"] in ("Submitted", "Filled")
    assert sim_asset_class(app, conid) == kind


def test_trader_cancels_at_a_question(app, ticket):
    before = orders(app)
    ticket.type_in("Symbol", "MSFT")
    ticket.number("Quantity", 600)
    ticket.click("Submit order")
    text = ticket.wait_text("IBKR asks before placing")
    assert "o383" in text and "size exceeds the Size Limit of 500" in text
    ticket.shot("question-size-limit")
    ticket.click("No, do not place it")
    text = ticket.wait_text("You declined IBKR's question, so IBKR did not place the order.")
    assert "Not placed: BUY 600 MSFT" in text and "IBKR answered: Order not confirmed" in text
    ticket.shot("declined")
    assert orders(app) == before, "a declined order must not exist"


def test_order_rejected_by_ibkr(app, ticket):
    before = orders(app)
    ticket.asset_class("Future")
    ticket.type_in("Futures symbol", "NQ")
    ticket.number("Quantity (contracts)", 1.5)
    ticket.click("Submit order")
    text = ticket.wait_text("Rejected by IBKR")
    assert "Fractional quantity 1.5 is not supported for FUT contracts" in text
    ticket.shot("rejected")
    assert orders(app) == before, "a rejected order must not exist"


def test_limit_order_modified_then_cancelled(app, ticket):
    before = orders(app)
    ticket.type_in("Symbol", "IBM")
    conid = ticket.contract_conid()
    below = round(ticket.limit_price() * 0.98, 2)  # resting: 2 % under the market, inside IBKR's 3 % constraint
    ticket.number("Quantity", 10)
    ticket.number("Limit price", below)
    ticket.click("Submit order")
    order_id, coid = ticket.placed()
    assert_one_new_order(app, before, conid=conid, side="BUY", quantity=10, order_type="LMT", coid=coid)
    assert orders(app)[order_id]["status"] == "Submitted"

    ticket.pick_working_order(order_id)
    lower = round(below - 1, 2)
    ticket.number("New limit price", lower)
    ticket.click(f"Modify order {order_id}")
    ticket.wait_text(rf"Order {order_id} modified")
    ticket.shot("modified")
    assert orders(app)[order_id]["price"] == pytest.approx(lower)
    assert orders(app)[order_id]["status"] == "Submitted"

    ticket.click(f"Cancel order {order_id}")
    ticket.wait_text("Request was submitted")
    deadline = time.monotonic() + 30
    while orders(app)[order_id]["status"] != "Cancelled" and time.monotonic() < deadline:
        time.sleep(1)
    assert orders(app)[order_id]["status"] == "Cancelled"
    ticket.wait_order_row(order_id, "Cancelled")
    ticket.shot("cancelled")
    assert set(orders(app)) == set(before) | {order_id}


def test_placement_answer_times_out_but_the_order_went_through(app, ticket):
    before = orders(app)
    ticket.type_in("Symbol", "JPM")
    conid = ticket.contract_conid()
    ticket.number("Quantity", 3)
    sim(app, "POST", "faults", json={"paths": ["/iserver/account/*/orders"], "methods": ["POST"],
                                     "latency": 15, "phase": "after", "count": 1})
    started = time.monotonic()
    ticket.page.get_by_role("button", name="Submit order", exact=True).dblclick()  # a double click sends once
    text = ticket.wait_text("did not answer in time", timeout=60_000)
    assert time.monotonic() - started >= REQUEST_TIMEOUT
    assert "went through" in text and "Do not send it again" in text
    order_id, coid = ticket.placed()
    ticket.shot("timeout-found")
    assert_one_new_order(app, before, conid=conid, side="BUY", quantity=3, order_type="LMT", coid=coid)
    sim(app, "DELETE", "faults")


def test_a_reload_during_a_submission_shows_it_and_the_same_order_is_not_sent_twice(app, ticket):
    # Reloading 1.5 s after Submit, with IBKR's answer delayed, used to show an empty ticket and no trace of the
    # order, which filled in the background; sending it again made two.
    before = orders(app)
    ticket.type_in("Symbol", "JPM")
    conid = ticket.contract_conid()
    ticket.number("Quantity", 4)
    sim(app, "POST", "faults", json={"paths": ["/iserver/account/*/orders"], "methods": ["POST"],
                                     "latency": 8, "phase": "after", "count": 1})
    ticket.click("Submit order")
    ticket.page.wait_for_timeout(1500)
    ticket.page.reload()
    ticket.page.get_by_role("heading", name="Ticket").wait_for(timeout=60_000)
    ticket.settle(300)

    ticket.wait_text(r"Submitted at .* in another session of this dashboard", timeout=30_000)
    submit = ticket.page.get_by_role("button", name="Submit order", exact=True)
    assert submit.is_disabled(), "the new session must not offer to send the pending order again"
    text = ticket.wait_text("did not answer in time", timeout=60_000)
    assert "BUY 4 JPM" in words(ticket.page.get_by_test_id("stMain").inner_text()) and "went through" in text
    ticket.shot("reload-pending-found")
    assert submit.is_disabled()

    # The trader tries again: after New order the same ticket can be sent on purpose, never by accident before.
    ticket.page.get_by_role("button", name="New order", exact=True).click()
    ticket.settle()
    sim(app, "DELETE", "faults")
    new = [o for oid, o in orders(app).items() if oid not in before]
    assert len(new) == 1 and (new[0]["conid"], new[0]["quantity"]) == (conid, 4), new
