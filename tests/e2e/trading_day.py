"""A trading day in Chromium: a scripted trader at 3 x 5,000 positions with the default refresh, for N minutes.

Round after round the trader visits every page (at 1280x720 and 1500x1000 in the first round, with a screenshot
of what the window shows), filters the positions, looks up a stock, an option, a future and a forex pair and
previews each, then submits a resting limit order, modifies it and cancels it, and buys a few shares at the
market's limit (it fills). Afterwards the simulator's truth is read: ``/sim/stats`` (429s), ``/sim/state``
(the orders meant, no other) and, per Submit, the time from the click to the request's arrival at the gateway.

``make test`` runs it for 3 minutes (tests/e2e/test_trading_day.py); ``make soak`` for 10 or more
(``python -m tests.e2e.trading_day --minutes 10``), which writes its figures into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import re
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import split_sections
from tests.dashboard_harness import streamlit_app, wait_drawn
from tests.e2e.orders_page import OrdersPage, orders, sim

ROOT = Path(__file__).resolve().parents[2]
VIEWPORTS = ((1280, 720), (1500, 1000))
PAGES = {"Overview": "Largest currency exposures", "Positions": " positions · market value ",
         "Margin": "Maintenance utilisation", "Currency exposure": "What if a currency moves?",
         "Gateway": "Recent events"}
LOOKUPS = [  # asset class, steps to pick the contract (OrdersPage methods)
    ("Stock", [("type_in", "Symbol", "AAPL")]),
    ("Option", [("type_in", "Underlying symbol", "SPY"), ("radio", "Put")]),
    ("Future", [("type_in", "Futures symbol", "ES")]),
    ("Forex", [("type_in", "Currency or pair", "EUR"), ("choose", "Pair", "EUR.USD")]),
]


@dataclass
class Meant:
    """An order the trader placed and what must have become of it."""

    order_id: int
    status: set[str]
    price: float | None = None


@dataclass
class DayReport:
    minutes: float
    positions: int
    rounds: int = 0
    page_visits: int = 0
    lookups: int = 0
    previews: int = 0
    submit_delays: list[float] = field(default_factory=list)  # click -> the request at the gateway, seconds
    modify_delays: list[float] = field(default_factory=list)
    meant: list[Meant] = field(default_factory=list)
    unexpected: list[dict] = field(default_factory=list)  # orders at the gateway nobody meant
    wrong: list[str] = field(default_factory=list)  # meant orders that ended otherwise
    rate_limited: int = 0
    requests: dict = field(default_factory=dict)
    screenshots: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # a page that showed a traceback or an error

    def summary(self) -> str:
        def spread(values: list[float]) -> str:
            if not values:
                return "none"
            return f"median {statistics.median(values):.2f} s, max {max(values):.2f} s over {len(values)}"
        calls = sum(self.requests.values())
        return (f"{self.minutes:.1f} min at 3 x {self.positions:,} positions: {self.rounds} rounds, "
                f"{self.page_visits} page visits, {self.lookups} lookups, {self.previews} previews, "
                f"{len(self.meant)} orders placed; Submit click to gateway {spread(self.submit_delays)}; "
                f"modify {spread(self.modify_delays)}; {calls:,} gateway requests, {self.rate_limited} x 429; "
                f"{len(self.unexpected)} unexpected and {len(self.wrong)} wrong orders; {len(self.errors)} page errors")


def _visit(page, link: str, marker: str, report: DayReport) -> None:
    page.get_by_role("link", name=link, exact=True).click()
    page.get_by_text(marker).first.wait_for(timeout=180_000)
    wait_drawn(page)
    main = page.inner_text("main")
    if "Traceback" in main or page.locator("[data-testid='stException']").count():
        report.errors.append(f"{link}: a traceback")
    report.page_visits += 1


def _shot(page, artifacts: Path, name: str, report: DayReport) -> None:
    path = artifacts / f"day-{name}.png"
    page.mouse.move(2, 2)
    wait_drawn(page)
    page.screenshot(path=str(path))  # what the window shows, as the trader sees it
    report.screenshots.append(path.name)


def _pages(page, artifacts: Path, report: DayReport, viewport: tuple[int, int] | None) -> None:
    tag = f"{viewport[0]}x{viewport[1]}" if viewport else ""
    for link, marker in PAGES.items():
        _visit(page, link, marker, report)
        if link == "Positions":
            search = page.get_by_role("textbox", name="Search", exact=True)
            search.fill("AAPL")
            search.press("Enter")
            page.get_by_text(re.compile(r"^[\d,]+ positions · market value")).first.wait_for()
            wait_drawn(page)
            if viewport:
                _shot(page, artifacts, f"{tag}-positions-filtered", report)
            search.fill("")
            search.press("Enter")
            wait_drawn(page)
        if viewport:
            _shot(page, artifacts, f"{tag}-{re.sub(r'[^a-z]+', '-', link.lower())}", report)


def _orders(ticket: OrdersPage, app: dict, report: DayReport, viewport: tuple[int, int] | None) -> None:
    tag = f"{viewport[0]}x{viewport[1]}" if viewport else ""
    ticket.open()
    for asset_class, steps in LOOKUPS:
        ticket.asset_class(asset_class)
        for action, *args in steps:
            getattr(ticket, action)(*args)
        ticket.contract_conid()
        report.lookups += 1
        quantity = next(label for label in ("Quantity", "Quantity (contracts)", "Quantity (base currency)")
                        if ticket.page.get_by_label(label, exact=True).count())
        ticket.number(quantity, 20000 if asset_class == "Forex" else 1)
        ticket.click("Preview (what-if)")
        ticket.wait_text(r"Margin utilisation it would leave", timeout=60_000)
        report.previews += 1
        if viewport and asset_class == "Option":
            _shot(ticket.page, ticket.artifacts, f"{tag}-orders-preview", report)
    ticket.open()  # a fresh ticket: the stock ticket
    ticket.type_in("Symbol", "IBM")
    below = round(ticket.limit_price() * 0.98, 2)  # resting: 2 % under the market
    ticket.number("Quantity", 10)
    ticket.number("Limit price", below)
    before = orders(app)
    clicked = time.time()
    ticket.click("Submit order")
    order_id, _ = ticket.placed()
    placed = orders(app)[order_id]
    report.submit_delays.append(placed["received_at"] - clicked)
    if viewport:
        _shot(ticket.page, ticket.artifacts, f"{tag}-orders-placed", report)
    ticket.pick_working_order(order_id)
    lower = round(below - 1, 2)
    ticket.number("New limit price", lower)
    clicked = time.time()
    ticket.click(f"Modify order {order_id}")
    ticket.wait_text(rf"Order {order_id} modified")
    report.modify_delays.append(orders(app)[order_id]["updated_at"] - clicked)
    ticket.click(f"Cancel order {order_id}")
    ticket.wait_text("Request was submitted")
    report.meant.append(Meant(order_id, {"Cancelled", "PendingCancel"}, lower))

    ticket.new_order()  # the modified order's "Close" leaves the ticket as it was: a new one
    ticket.type_in("Symbol", "XOM")
    ticket.number("Quantity", 3)
    clicked = time.time()
    ticket.click("Submit order")
    order_id, _ = ticket.placed()
    report.submit_delays.append(orders(app)[order_id]["received_at"] - clicked)
    report.meant.append(Meant(order_id, {"Filled", "Submitted"}))
    ticket.new_order()
    seen = set(before) | {m.order_id for m in report.meant}
    report.unexpected += [o for oid, o in orders(app).items() if oid not in seen]


def run_day(app: dict, browser, artifacts: Path, minutes: float, positions: int) -> DayReport:
    """The scripted trader against a running dashboard (``streamlit_app``); returns what it measured."""
    report = DayReport(minutes=minutes, positions=positions)
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(120_000)
    ticket = OrdersPage(page, app, artifacts)
    deadline = time.monotonic() + minutes * 60
    try:
        page.goto(app["url"])
        page.get_by_text(PAGES["Overview"]).first.wait_for(timeout=300_000)
        while report.rounds == 0 or time.monotonic() < deadline:
            for viewport in (VIEWPORTS if report.rounds == 0 else (None,)):
                if viewport:
                    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
                _pages(page, artifacts, report, viewport)
                _orders(ticket, app, report, viewport)
            report.rounds += 1
    finally:
        page.screenshot(path=str(artifacts / "day-last.png"))
        context.close()
    deadline = time.monotonic() + 30
    final = orders(app)
    for meant in report.meant:
        while final[meant.order_id]["status"] not in meant.status and time.monotonic() < deadline:
            time.sleep(1)
            final = orders(app)
        order = final[meant.order_id]
        if order["status"] not in meant.status or (meant.price is not None and order["price"] != meant.price):
            report.wrong.append(f"order {meant.order_id}: {order['status']} at {order['price']}, meant "
                                f"{sorted(meant.status)} at {meant.price}")
    stats = sim(app, "GET", "stats")
    report.rate_limited, report.requests = stats["rate_limited"], stats["requests"]
    return report


def benchmark_section(report: DayReport) -> str:
    busiest = sorted(report.requests.items(), key=lambda kv: -kv[1])[:8]
    lines = [
        "## Trading day (`make soak`): a scripted trader in Chromium",
        "",
        f"Written by `python -m tests.e2e.trading_day` on {dt.date.today()} ({platform.python_version()}). "
        f"3 accounts x {report.positions:,} positions, default refresh, trading on; every page at 1280x720 and "
        "1500x1000 in the first round, then rounds of pages, four lookups with previews, a resting limit order "
        "placed, modified and cancelled, and a market-limit buy that fills.",
        "",
        f"- {report.summary()}.",
        "- Busiest endpoints: " + ", ".join(f"`{k}` {v:,}" for k, v in busiest) + ".",
    ]
    return "\n".join(lines) + "\n"


def write_benchmark(section: str, path: Path = ROOT / "BENCHMARKS.md") -> None:
    """Put the section into BENCHMARKS.md, replacing an earlier one (the other sections are `make bench`'s)."""
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    header = text.split("\n## ", 1)[0].rstrip("\n") + "\n\n"
    title = section.splitlines()[0]
    kept = [p.rstrip("\n") + "\n\n" for p in split_sections(text) if not p.startswith(title)]
    path.write_text(header + "".join(kept) + section)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--positions", type=int, default=5000)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from tests.conftest import ARTIFACTS, CHROMIUM_ARGS, chromium_or_skip

    ARTIFACTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_or_skip(), args=CHROMIUM_ARGS, headless=True)
        with streamlit_app(Path(tmp), sim_auto_login="true", trading_enabled="true",
                           sim_positions=str(args.positions)) as app:
            report = run_day(app, browser, ARTIFACTS, args.minutes, args.positions)
        browser.close()
    print(report.summary())
    write_benchmark(benchmark_section(report))
    failed = report.rate_limited or report.unexpected or report.wrong or report.errors or any(
        d > 2.0 for d in report.submit_delays)
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
