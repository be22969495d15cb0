"""Bad input in every box of the Orders page ticket, against the running dashboard (AppTest, trading enabled, its
own GatewayManager and simulator): each value gets an inline message a trader understands, Submit stays disabled,
and the simulator proves nothing was sent (its orders and its request counts of the order endpoints unchanged).

What a box shows is what would be sent (REVIEW-RELIABILITY finding 10): a box whose text does not read back as the
value it holds (0.00 holding 0.0000001, 10 holding 10.00000000001) must have a message naming the real value. A
number box takes no text at all (Streamlit's number input refuses it in the browser, and AppTest cannot type it),
so text goes into the symbol boxes only. 1e309 is infinity: the widget empties, as it does in a browser.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import AppTestError

from ibkr.numbers import exact
from tests.dashboard_harness import DashboardHarness
from tests.integration.test_orders_page import errors, submit_disabled, warnings

pytestmark = pytest.mark.slow

ORDER_ENDPOINTS = re.compile(r"^(POST /iserver/account/[^/]+/orders(/whatif)?|POST /iserver/reply/.+|"
                             r"POST /iserver/notification|(POST|DELETE) /iserver/account/[^/]+/order/\d+)$")
"""Every request that places, previews, confirms, modifies or cancels an order (not the live orders' reads)."""

SYMBOLS = {"STK": "IBM", "FUT": "ES", "OPT": "AAPL", "CASH": "EUR.USD"}


@pytest.fixture(scope="module")
def dash(tmp_path_factory) -> Iterator[DashboardHarness]:
    """One dashboard for the module: every test opens the Orders page in a session of its own."""
    harness = DashboardHarness(tmp_path_factory.mktemp("ticket-input"), trading_enabled="true").__enter__()
    try:
        harness.boot()
        yield harness
    finally:
        harness.__exit__(None, None, None)
    assert harness.stopped_cleanly(), "the simulator started by the dashboard's GatewayManager is still running"


def order_traffic(dash: DashboardHarness) -> tuple[list[dict], dict[str, int]]:
    """The simulator's order book and its counts of requests to the order endpoints."""
    requests = dash.admin("GET", "stats")["requests"]
    return dash.sim_state()["orders"], {k: n for k, n in requests.items() if ORDER_ENDPOINTS.match(k)}


@contextmanager
def nothing_sent(dash: DashboardHarness) -> Iterator[None]:
    before = order_traffic(dash)
    yield
    orders, calls = order_traffic(dash)
    assert orders == before[0], "the simulator's order book changed"
    assert calls == before[1], f"order endpoints were called: {before[1]} -> {calls}"


def orders_page(dash: DashboardHarness) -> AppTest:
    """The Orders page in a fresh session (a new browser tab), its account chosen."""
    at = dash.app()
    at.run()
    at = dash.page(at, "orders")
    account = at.selectbox(key="order_account")
    account.set_value(account.options[0]).run()
    return at


def good_ticket(dash: DashboardHarness, asset_class: str, order_type: str = "LMT", symbol: str | None = None) -> AppTest:
    """A complete ticket Submit would send (one unit at the last price), before a bad value goes in."""
    at = orders_page(dash)
    if asset_class != "STK":
        at.segmented_control(key="order_asset_class").set_value(asset_class).run()
    at.text_input(key=f"order_symbol_{asset_class}").input(symbol or SYMBOLS[asset_class]).run()
    at.number_input(key="order_quantity").set_value(1).run()
    last = at.number_input(key="order_limit").value
    if order_type != "LMT":
        at.selectbox(key="order_type").set_value(order_type).run()
    if order_type == "STP":
        at.number_input(key="order_stop").set_value(last).run()
    assert not at.exception and not errors(at) and not submit_disabled(at), (errors(at), order_type)
    return at


def said_plainly(at: AppTest) -> None:
    """No exception and no Python in what the page says."""
    assert not at.exception, [e.value for e in at.exception]
    for text in [*errors(at), *warnings(at)]:
        assert "Traceback" not in text and 'File "' not in text, text


def cannot_submit(at: AppTest) -> None:
    assert submit_disabled(at)
    with pytest.raises(AppTestError, match="disabled"):  # a browser user cannot click it either
        next(b for b in at.button if b.label == "Submit order").click()


def boxes_show_what_is_sent(at: AppTest) -> None:
    """Each number box's text reads back as the value it holds, or a message names the value it holds."""
    said = " ".join(errors(at))
    for box in at.number_input:
        if box.value is None:
            continue
        shown = box.proto.format % box.value
        if float(shown) != box.value:
            assert exact(box.value) in said, f"{box.label} shows {shown} but holds {box.value!r}: {errors(at)}"
    ticket = [c.value.replace("\\", "") for c in at.caption if c.value.startswith("Ticket:")]
    if ticket:  # a complete ticket names every number it would send as the boxes show it
        for box in at.number_input:
            if box.value is not None and box.key in ("order_quantity", "order_limit", "order_stop"):
                assert exact(float(box.proto.format % box.value)) in ticket[0], (box.label, ticket[0])


BAD_NUMBERS = [
    # (asset class, order type, box, value, what the message says)
    ("STK", "LMT", "order_quantity", -5, r"^Quantity must be greater than zero \(got -5\); to sell, choose side SELL"),
    ("STK", "LMT", "order_quantity", 0, r"^Quantity must be greater than zero \(got 0\)"),
    ("STK", "LMT", "order_quantity", 1e11, r"^Quantity 100,000,000,000 is above this desk's limit of 1,000,000 per "
                                           r"order \(IBKR_MAX_ORDER_QUANTITY\)"),
    ("STK", "LMT", "order_quantity", 1e309, r"^Enter the quantity\.$"),
    ("STK", "LMT", "order_quantity", 10.00000000001, r"^Quantity 10\.00000000001 has more digits than the quantity "
                                                     r"box shows \(10\)"),
    ("STK", "LMT", "order_limit", -1, r"^The limit price must be greater than zero \(got -1\)"),
    ("STK", "LMT", "order_limit", 0, r"^The limit price must be greater than zero \(got 0\)"),
    ("STK", "LMT", "order_limit", 1e11, r"^The order's value, about 100,000,000,000 USD, is .* of the account's net "
                                        r"liquidation .*\(IBKR_MAX_ORDER_NOTIONAL_PCT\)"),
    ("STK", "LMT", "order_limit", 1e309, r"^A limit \(LMT\) order needs a limit price\.$"),
    ("STK", "LMT", "order_limit", 123.456, r"^The limit price 123\.456 is not on IBM's tick of 0\.01: use 123\.45 or "
                                           r"123\.46 \(IBKR refuses other prices\)"),
    ("STK", "LMT", "order_limit", 0.0000001, r"^The limit price 0\.0000001 is not on IBM's tick of 0\.01: use 0\.01 "
                                             r"\(IBKR"),
    ("STK", "STP", "order_stop", -1, r"^The stop price must be greater than zero \(got -1\)"),
    ("STK", "STP", "order_stop", 0, r"^The stop price must be greater than zero \(got 0\)"),
    ("STK", "STP", "order_stop", 1e11, r"^The order's value, about 100,000,000,000 USD"),
    ("STK", "STP", "order_stop", 1e309, r"^A stop \(STP\) order needs a stop price\.$"),
    ("STK", "STP", "order_stop", 123.456, r"^The stop price 123\.456 is not on IBM's tick of 0\.01: use 123\.45 or "
                                          r"123\.46"),
    ("FUT", "LMT", "order_quantity", -1, r"^Quantity must be greater than zero \(got -1\)"),
    ("FUT", "LMT", "order_quantity", 0, r"^Quantity must be greater than zero \(got 0\)"),
    ("FUT", "LMT", "order_quantity", 1e11, r"^Quantity 100,000,000,000 is above this desk's limit"),
    ("FUT", "LMT", "order_quantity", 1e309, r"^Enter the quantity\.$"),
    ("FUT", "LMT", "order_quantity", 1.5, r"^Quantity 1\.5 is not a whole number: futures trade in whole contracts "
                                          r"\(use 1 or 2\)"),
    ("FUT", "LMT", "order_limit", 5000.1, r"^The limit price 5,000\.1 is not on ES's tick of 0\.25: use 5,000 or "
                                          r"5,000\.25"),
    ("OPT", "LMT", "order_quantity", -1, r"^Quantity must be greater than zero \(got -1\)"),
    ("OPT", "LMT", "order_quantity", 0.5, r"^Quantity 0\.5 is not a whole number: options trade in whole contracts "
                                          r"\(use 1\)"),
    ("OPT", "LMT", "order_quantity", 1e11, r"^Quantity 100,000,000,000 is above this desk's limit"),
    ("CASH", "LMT", "order_quantity", -20000, r"^Quantity must be greater than zero \(got -20,000\)"),
    ("CASH", "LMT", "order_quantity", 0, r"^Quantity must be greater than zero \(got 0\)"),
    ("CASH", "LMT", "order_quantity", 1e11, r"^Quantity 100,000,000,000 is above this desk's limit"),
    ("CASH", "LMT", "order_quantity", 1e309, r"^Enter the quantity\.$"),
    ("CASH", "LMT", "order_limit", 1.08423, r"^The limit price 1\.08423 is not on EUR's tick of 0\.00005: use 1\.0842 "
                                            r"or 1\.08425"),
]


@pytest.mark.parametrize("asset_class, order_type, box, value, says", BAD_NUMBERS,
                         ids=[f"{c}-{t}-{b.removeprefix('order_')}-{v:g}" for c, t, b, v, _ in BAD_NUMBERS])
def test_a_bad_number_in_a_ticket_box_is_named_inline_and_nothing_can_be_sent(dash, asset_class, order_type, box,
                                                                              value, says):
    with nothing_sent(dash):
        at = good_ticket(dash, asset_class, order_type)
        at.number_input(key=box).set_value(value).run()
        said_plainly(at)
        assert any(re.search(says, e) for e in errors(at)), errors(at)
        cannot_submit(at)
        boxes_show_what_is_sent(at)


UNKNOWN_SYMBOLS = ["ZZZZ", "<img src=x onerror=alert(1)>", "A" * 3000, "../../etc/passwd", "💥€",
                   "IBM' OR '1'='1"]


@pytest.mark.parametrize("symbol", UNKNOWN_SYMBOLS, ids=["no-such-stock", "html", "3000-letters", "path", "emoji",
                                                          "sql-quote"])
def test_a_symbol_ibkr_does_not_know_says_so_inline_and_nothing_can_be_sent(dash, symbol):
    with nothing_sent(dash):
        at = orders_page(dash)
        at.text_input(key="order_symbol_STK").input(symbol).run()
        said_plainly(at)
        assert f"Unknown symbol: IBKR knows no stock with the symbol {symbol.strip().upper()}." in errors(at)
        cannot_submit(at)
        raw = [m.value for m in at.markdown if m.proto.allow_html] + [str(h.proto) for h in at.get("html")]
        assert not [r for r in raw if "onerror" in r.lower()], "the symbol was drawn as HTML"


def test_a_symbol_with_spaces_and_in_lower_case_is_trimmed_and_works(dash):
    with nothing_sent(dash):
        at = orders_page(dash)
        at.text_input(key="order_symbol_STK").input("  ibm  ").run()
        at.number_input(key="order_quantity").set_value(3).run()
        said_plainly(at)
        assert not errors(at)
        assert any(c.value.startswith("**IBM · INTL BUSINESS MACHINES") for c in at.caption), \
            [c.value for c in at.caption]
        ticket = next(c.value.replace("\\", "") for c in at.caption if c.value.startswith("Ticket:"))
        assert " 3 IBM LMT limit " in ticket, ticket
        assert not submit_disabled(at)
        boxes_show_what_is_sent(at)


@pytest.mark.parametrize("factor, where", [(1.25, "above"), (0.8, "below")])
def test_a_limit_price_far_from_the_market_warns_does_not_block_and_sends_nothing_without_submit(dash, factor, where):
    with nothing_sent(dash):
        at = good_ticket(dash, "STK")
        last = at.number_input(key="order_limit").value
        far = round(last * factor, 2)
        at.number_input(key="order_limit").set_value(far).run()
        said_plainly(at)
        assert not errors(at)
        distance = abs(far - last) / last
        assert any(w.startswith(f"The limit price {exact(far)} is {distance:.1%} {where} the last price {exact(last)}. "
                                "Check it is not a typo") for w in warnings(at)), warnings(at)
        assert not submit_disabled(at)
        boxes_show_what_is_sent(at)
        at.run()  # another rerun (the page's own refresh) sends nothing either
