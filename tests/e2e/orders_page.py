"""The Orders page as a trader drives it in Chromium (labels, buttons and IBKR's words, no CSS classes), and the
simulator's truth beside it: shared by the Orders e2e tests and the trading-day soak."""

from __future__ import annotations

import contextlib
import html
import re
import time
from pathlib import Path


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

    def open(self, shown=lambda account: account) -> OrdersPage:
        """Open the page, close a leftover submission, choose the simulator's first account (by the name
        ``shown`` gives it: a viewer may see it masked)."""
        self.page.goto(f"{self.app['url']}/orders")
        self.page.get_by_role("heading", name="Ticket").wait_for(timeout=60_000)
        self.settle(500)
        # A submission another session of this dashboard left open (an earlier test) is shown, the ticket locked,
        # until someone closes it, as a trader would before the next order.
        deadline = time.monotonic() + 1.5  # the adopted submission may draw a moment after the ticket
        while time.monotonic() < deadline:
            leftover = self.page.get_by_role("button", name="New order", exact=True)
            if leftover.count():
                try:
                    leftover.first.click(timeout=5_000)
                except Exception:  # a stale copy while Streamlit redraws: look again
                    continue
                self.settle()
                deadline = time.monotonic() + 1.0
            else:
                self.page.wait_for_timeout(250)
        # The ticket never picks an account by itself ("All accounts" in the sidebar): the trader does.
        account = sim(self.app, "GET", "state")["accounts"][0]["id"]
        self.page.get_by_test_id("stMain").get_by_role("combobox", name="Account", exact=True).click()
        self.page.get_by_role("option", name=shown(account)).first.click()
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

    def click(self, name: str, timeout: int = 60_000) -> None:
        """Click the button; one that stays disabled fails with the reason the page gives for it (its help), the
        page's text and a screenshot, not a bare timeout."""
        button = self.page.get_by_role("button", name=name, exact=True)
        try:
            button.click(timeout=timeout)
        except Exception as exc:
            if not button.count() or button.first.is_enabled():
                raise
            button.first.hover()
            help_ = self.page.locator("[data-testid=stTooltipContent]")
            why = help_.first.inner_text(timeout=5_000) if help_.count() else "(no help shown)"
            shot = self.artifacts / f"disabled-{re.sub(r'[^a-z0-9]+', '-', name.lower())}.png"
            self.page.screenshot(path=str(shot), full_page=True)
            raise AssertionError(f"{name!r} stayed disabled: {why}\n(screenshot {shot})\n{self.main_text()}") from exc
        self.settle(600)

    def new_order(self, timeout: float = 30) -> None:
        """Close the shown submission with New order and wait until it is gone. A click that lands while the
        page's live-orders fragments redraw has been seen to do nothing once in a trading day (the submission
        stayed, the ticket locked): it is clicked again then, as a trader would."""
        button = self.page.get_by_role("button", name="New order", exact=True)
        deadline = time.monotonic() + timeout
        while button.count():
            assert time.monotonic() < deadline, "New order never closed the submission"
            with contextlib.suppress(Exception):  # a stale copy while Streamlit redraws: look again
                button.first.click(timeout=5_000)
            self.settle()

    def contract_conid(self) -> int:
        """The conid the ticket shows for the picked contract."""
        caption = self.page.get_by_text(re.compile(r"conid \d+ · (last|no market)")).first.inner_text()
        return int(re.search(r"conid (\d+) · (?:last|no market)", caption).group(1))

    def limit_price(self, timeout: float = 60) -> float:
        """The limit price the ticket filled in from the contract's quote, once the quote has come (the box stays
        empty until IBKR's snapshot answers with a price: a second ask after its preflight, paced)."""
        box = self.page.get_by_label("Limit price", exact=True)
        deadline = time.monotonic() + timeout
        while not (value := box.input_value()):
            assert time.monotonic() < deadline, "the ticket never filled in a limit price from the quote"
            self.page.wait_for_timeout(250)
        return float(value)

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
