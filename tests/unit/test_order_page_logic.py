"""The Orders page's logic without a browser: ticket checks, one click = one order, IBKR's texts, the preview's
numbers and the live orders / trades tables from IBKR's verbatim payloads."""

from __future__ import annotations

import datetime as dt

import pytest

from ibkr.analytics.orders import orders_frame, trades_frame
from ibkr.analytics.whatif import whatif_table
from ibkr.analytics.whatif import whatif_utilisation as utilisation
from ibkr.errors import GatewayUnavailable, OrderRejected, OrderStatusUnknown, UnknownAccount
from ibkr.models import LiveOrders, OrderAccepted, OrderDeclined, PendingConfirmation, Question, Trade, WhatIf
from ibkr.orders import FutureOrder, OptionOrder, StockOrder
from ibkr.orders import submission as order_state
from ibkr.orders.entry import Pick, TicketInput, check, fingerprint, make_ticket, tif_for, tifs_for
from ibkr.orders.submission import OrderFlow, Stage
from ibkr_desk.ui.orders.preview import markdown_table
from ibkr_desk.ui.orders.text import ibkr_markdown
from ibkr_desk.ui.state import NEW_FLOW
from tests.fixtures.cpapi_samples import load_sample

AAPL = Pick("STK", 265598, "AAPL · APPLE INC · NASDAQ", "AAPL")


def ticket_input(**kw) -> TicketInput:
    fields = {"account_id": "DU1", "tradable": ("DU1", "DU2"), "pick": AAPL, "quantity": 10.0, "order_type": "LMT",
              "limit_price": 228.5, "last_price": 228.5, **kw}
    return TicketInput(**fields)


# ---- ticket checks ----------------------------------------------------------------------------------------------
def test_a_complete_ticket_becomes_the_stock_order_for_the_picked_conid():
    result = check(ticket_input())
    assert result.ok and not result.errors and not result.warnings
    assert isinstance(result.ticket, StockOrder)
    assert (result.ticket.conid, result.ticket.symbol, result.ticket.limit_price) == (265598, "AAPL", 228.5)


def test_prices_the_order_type_does_not_use_are_not_sent():
    result = check(ticket_input(order_type="MKT", stop_price=200.0))
    assert result.ok
    assert result.ticket.limit_price is None and result.ticket.stop_price is None


@pytest.mark.parametrize("changes, message", [
    ({"quantity": None}, "Enter the quantity."),
    ({"limit_price": None}, "A limit (LMT) order needs a limit price."),
    ({"account_id": "DU9"}, "You may not trade in account DU9: this session can trade DU1, DU2."),
    ({"order_type": "STP"}, "A stop (STP) order needs a stop price."),
    ({"order_type": "TRAIL", "trailing_amount": 1.0}, "A trailing stop (TRAIL) order needs its initial stop price."),
])
def test_what_a_trader_must_fix_blocks_the_ticket(changes, message):
    result = check(ticket_input(**changes))
    assert not result.ok and result.ticket is None
    assert any(e.startswith(message) for e in result.errors), result.errors


def test_a_limit_far_from_the_market_warns_without_blocking():
    result = check(ticket_input(limit_price=250.0))
    assert result.ok
    assert result.warnings == ["The limit price 250 is 9.4% above the last price 228.5. Check it is not a typo: IBKR "
                               "will ask you to confirm a price more than 3% from the market."]
    assert not check(ticket_input(limit_price=235.0)).warnings  # 2.8 %: inside IBKR's constraint


def test_an_unknown_symbol_is_the_lookup_problem_and_no_pick_is_a_hint():
    unknown = check(ticket_input(pick=None), lookup_problem="Unknown symbol: IBKR knows no stock with the symbol ZZ.")
    assert unknown.errors == ["Unknown symbol: IBKR knows no stock with the symbol ZZ."] and unknown.hint is None
    empty = check(ticket_input(pick=None))
    assert not empty.errors and empty.hint and empty.ticket is None


def test_derivative_picks_make_their_tickets():
    option = Pick("OPT", 700000080, "SPY DEC 18 '26 575 Call", "SPY", "USD", dt.date(2099, 12, 18), 575.0, "C")
    future = Pick("FUT", 500049680, "ES DEC26", "ES", contract_month="209912")
    assert isinstance(make_ticket(ticket_input(pick=option)), OptionOrder)
    assert isinstance(make_ticket(ticket_input(pick=future)), FutureOrder)


def test_the_ticket_offers_pax_for_crypto_only_and_sends_the_tif_it_shows():
    btc = Pick("CRYPTO", 479624278, "BTC · Bitcoin · PAXOS", "BTC", "USD")

    crypto, stock = tifs_for("CRYPTO"), tifs_for("STK")
    default = make_ticket(ticket_input(pick=btc, quantity=0.01, limit_price=60_000.0))
    chosen = make_ticket(ticket_input(pick=btc, quantity=0.01, limit_price=60_000.0, tif=tif_for("CRYPTO", "PAX", "CRYPTO")))

    assert crypto == ["IOC", "GTC", "PAX"] and "PAX" not in stock and stock[0] == "DAY"
    assert all(c[0] == make_ticket(ticket_input(pick=p)).tif for c, p in ((crypto, btc), (stock, AAPL)))
    assert default.body(btc.conid, None)["tif"] == "IOC" and chosen.body(btc.conid, None)["tif"] == "PAX"
    assert tif_for("STK", "PAX", "CRYPTO") == "DAY", "PAX never stays on a stock ticket"
    assert tif_for("CRYPTO", "OPG", "STK") == "IOC" and tif_for("CRYPTO", "GTC", "STK") == "IOC"
    assert tif_for("STK", "GTC", "STK") == "GTC", "a choice stays while the class does"
    assert "PAX" in check(ticket_input(tif="PAX")).errors[0]


def test_the_fingerprint_follows_the_ticket_content():
    a, b = make_ticket(ticket_input()), make_ticket(ticket_input())
    assert fingerprint(a) == fingerprint(b) != fingerprint(make_ticket(ticket_input(quantity=11.0)))


# ---- one click, one order ---------------------------------------------------------------------------------------
class FakeClient:
    """Records what the page sends; answers from a script of results (an exception is raised)."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []

    def _next(self, call: str):
        self.calls.append(call)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def place_order(self, ticket):
        return self._next("place")

    def confirm(self, pending, option=None):
        return self._next(f"confirm {pending.reply_id}")

    def reject(self, pending):
        return self._next(f"reject {pending.reply_id}")

    def order_status(self, order_id):
        raise GatewayUnavailable("no status in this test")


def pending(reply_id: str, *ids: str, round_: int = 1) -> PendingConfirmation:
    return PendingConfirmation(account_id="DU1", coid="desk-1", reply_id=reply_id, round=round_,
                               questions=[Question(message_id=i, text=f"question {i}") for i in ids])


def accepted(**kw) -> OrderAccepted:
    return OrderAccepted(order_id="1370093239", order_status="Submitted", coid="desk-1", **kw)


def new_flow() -> OrderFlow:
    return OrderFlow("new", "BUY 10 AAPL LMT limit 228.5 DAY", "DU1")


def test_a_second_click_finds_the_submission_and_sends_nothing():
    store: dict = {}
    client = FakeClient(accepted())
    flow = order_state.begin(store, NEW_FLOW, new_flow())
    order_state.run(flow, client, lambda: client.place_order(None))

    assert order_state.begin(store, NEW_FLOW, new_flow()) is None
    assert client.calls == ["place"] and flow.stage is Stage.PLACED and flow.order_id == "1370093239"
    order_state.clear(store, NEW_FLOW)  # "New order"
    assert order_state.begin(store, NEW_FLOW, new_flow()) is not None


def test_an_active_submission_survives_new_order():
    store = {NEW_FLOW: OrderFlow("new", "x", "DU1", stage=Stage.QUESTIONS)}
    order_state.clear(store, NEW_FLOW)
    assert NEW_FLOW in store


def test_a_chain_of_two_questions_each_answered_once():
    client = FakeClient(pending("r1", "o10151"), pending("r2", "o10153", round_=2), accepted())
    flow = new_flow()
    order_state.run(flow, client, lambda: client.place_order(None))
    assert flow.stage is Stage.QUESTIONS and flow.pending.reply_id == "r1"

    assert order_state.answer(flow, client, "r1", yes=True)
    assert not order_state.answer(flow, client, "r1", yes=True), "a double click answers the round once"
    assert flow.pending.reply_id == "r2"
    assert order_state.answer(flow, client, "r2", yes=True)
    assert client.calls == ["place", "confirm r1", "confirm r2"]
    assert flow.stage is Stage.PLACED and flow.answered == [(["o10151"], True), (["o10153"], True)]


def test_an_answer_sent_on_a_thread_is_guarded_before_it_leaves_and_a_submission_sends_once():
    # The page froze until IBKR answered (no "Sending..."); sending on a thread must not open a double click.
    client = FakeClient(pending("r1", "o10151"), accepted())
    flow = new_flow()
    order_state.send(flow, lambda: order_state.run(flow, client, lambda: client.place_order(None))).join(5)
    assert flow.stage is Stage.QUESTIONS

    queued: list = []
    assert order_state.answer(flow, client, "r1", yes=True, runner=queued.append)
    assert flow.answering == "r1" and client.calls == ["place"], "nothing left yet"
    assert not order_state.answer(flow, client, "r1", yes=True, runner=queued.append), "a second click is ignored"
    saved: list = []
    order_state.send(flow, queued[0], then=lambda: saved.append(flow.stage)).join(5)
    assert client.calls == ["place", "confirm r1"] and flow.stage is Stage.PLACED and flow.answering is None
    assert saved == [Stage.PLACED]


def test_no_at_a_question_declines_the_order():
    client = FakeClient(pending("r1", "o383"), OrderDeclined(reply_id="r1", coid="desk-1",
                                                             message="Order not confirmed "))
    flow = new_flow()
    order_state.run(flow, client, lambda: client.place_order(None))
    order_state.answer(flow, client, "r1", yes=False)
    assert client.calls == ["place", "reject r1"]
    assert flow.stage is Stage.DECLINED and flow.message == (
        "You declined IBKR's question, so IBKR did not place the order. IBKR answered: Order not confirmed.")


@pytest.mark.parametrize("error, stage", [
    (OrderRejected("IBKR rejected the order: Fractional quantity 1.5 is not supported for FUT contracts"),
     Stage.REJECTED),
    (OrderStatusUnknown("The order request failed before IBKR answered", coid="desk-9"), Stage.UNKNOWN),
    (UnknownAccount("Order not sent: account DU9 is not one this session can trade."), Stage.NOT_SENT),
    (ValueError("a bug"), Stage.UNKNOWN),
])
def test_errors_end_the_submission_with_what_happened(error, stage):
    flow = new_flow()
    order_state.run(flow, FakeClient(error), lambda: FakeClient(error).place_order(None))
    assert flow.stage is stage and not flow.active and flow.message


def test_an_order_found_after_a_timeout_says_it_went_through():
    client = FakeClient(accepted(found_after_timeout=True))
    flow = new_flow()
    order_state.run(flow, client, lambda: client.place_order(None))
    assert flow.stage is Stage.PLACED
    assert "found it: order 1370093239 went through" in flow.message and "Do not send it again" in flow.message
    assert "desk-1" in flow.message


# ---- IBKR's texts -----------------------------------------------------------------------------------------------
def test_ibkr_questions_keep_their_words_and_lose_only_the_html():
    text = ("<h4>Confirm Mandatory Cap Price</h4>To avoid trading at a price that is not consistent with a fair and "
            "orderly market, IB may set a cap (for a buy order) or floor (for a sell order).")
    assert ibkr_markdown(text) == (
        "**Confirm Mandatory Cap Price**  \nTo avoid trading at a price that is not consistent with a fair and "
        r"orderly market, IB may set a cap \(for a buy order\) or floor \(for a sell order\)\.")
    assert ibkr_markdown('The following order "BUY 600 AAPL" size exceeds \nthe Size Limit of 500.') == (
        r'The following order "BUY 600 AAPL" size exceeds  ' + "\n" + r"the Size Limit of 500\.")


# ---- preview and tables from IBKR's examples --------------------------------------------------------------------
def test_the_preview_of_ibkrs_example():
    whatif = WhatIf.model_validate(load_sample("POST_iserver_account_accountId_orders_whatif.json"))
    util = utilisation(whatif)
    assert util.initial_before == pytest.approx(1000 / 123_456)
    assert util.initial_after == pytest.approx(1652 / 123_455)
    assert util.maint_after == pytest.approx(1490 / 123_455)
    table = whatif_table(whatif).set_index("figure")
    assert table.loc["Maintenance margin", "change"] == 590  # IBKR's '590""'
    assert table.loc["Position (units)", "after"] == 30
    assert "| Initial margin | 1,000 | +652 | 1,652 |" in markdown_table(whatif, "USD", masked=False)
    assert "652" not in markdown_table(whatif, "USD", masked=True)


def test_live_orders_table_from_ibkrs_example():
    orders = LiveOrders.model_validate(load_sample("GET_iserver_account_orders.json")).orders
    frame = orders_frame(orders)
    assert len(frame) == len(orders)
    row = frame.set_index("order_id").loc[orders[0].order_id]
    assert row["status"] == orders[0].status and row["remaining"] == orders[0].remaining_quantity
    assert "CLOSE" not in set(frame["tif"])


def test_trades_table_from_ibkrs_example():
    trades = [Trade.model_validate(t) for t in load_sample("GET_iserver_account_trades.json")]
    frame = trades_frame(trades)
    assert len(frame) == len(trades) and set(frame["side"]) <= {"BUY", "SELL"}
    assert frame["time"].is_monotonic_decreasing


def test_an_unknown_outcome_is_looked_for_again_by_its_coid():
    class Lookup(FakeClient):
        def __init__(self, *found) -> None:
            super().__init__()
            self.found = list(found)

        def find_live_order(self, account_id, coid):
            self.calls.append(f"find {account_id} {coid}")
            return self.found.pop(0)

    live = LiveOrders.model_validate({"orders": [{"orderId": 1370093239, "status": "Submitted",
                                                   "order_ref": "desk-9"}]}).orders[0]
    client = Lookup(None, live)
    flow = OrderFlow("new", "BUY 3 JPM", "DU1", stage=Stage.UNKNOWN, coid="desk-9", message="timed out")

    assert not order_state.recheck(flow, client)
    assert flow.stage is Stage.UNKNOWN and "still not among the live orders" in flow.message
    assert order_state.recheck(flow, client)
    assert flow.stage is Stage.PLACED and flow.order_id == "1370093239" and "went through" in flow.message
    assert client.calls == ["find DU1 desk-9", "find DU1 desk-9"]


# ---- what you see is what is sent ---------------------------------------------------------------------------------
def test_a_price_off_the_tick_is_refused_with_the_value_typed_and_the_two_nearest_valid_ones():
    # The field showed 229.12 while 229.123456 was sent; ES was pre-filled at 5,821.15 on a 0.25 tick.
    result = check(ticket_input(limit_price=229.123456, tick=0.01))
    assert result.ticket is None
    assert "The limit price 229.123456 is not on AAPL's tick of 0.01: use 229.12 or 229.13" in result.errors[0]
    assert check(ticket_input(limit_price=229.12, tick=0.01)).ok
    es = Pick("FUT", 495512563, "ES DEC26", "ES", contract_month="202612")
    off = check(ticket_input(pick=es, limit_price=5821.15, last_price=5821.15, tick=0.25))
    assert any("use 5,821 or 5,821.25" in e for e in off.errors), off.errors


def test_negative_quantities_and_prices_are_refused_naming_the_value_on_screen():
    # "-5" in Quantity read as "Enter the quantity"; "-3" as a price read "got 0".
    assert any("got -5" in e for e in check(ticket_input(quantity=-5.0)).errors)
    assert any("got -3" in e for e in check(ticket_input(limit_price=-3.0)).errors)
    assert check(ticket_input(quantity=None)).errors == ["Enter the quantity."]


def test_a_price_field_steps_by_the_tick_and_shows_every_digit_a_valid_price_has():
    from ibkr.orders.entry import modify_problems, price_format, round_price

    assert price_format("FUT", 5821.0, 0.25) == (0.25, "%.2f")
    assert price_format("CASH", 1.0869, 0.00005) == (0.00005, "%.5f")
    assert round_price("FUT", 5821.15, 0.25) == 5821.25 and round_price("CASH", 1.08689, 0.00005) == 1.0869
    assert modify_problems({"limit_price": 5821.1}, "ES", 0.25) == [
        "The new limit price 5,821.1 is not on ES's tick of 0.25: use 5,821 or 5,821.25 (IBKR refuses other prices)."]
    assert modify_problems({"quantity": 0.0}, "ES", 0.25)[0].startswith("The new quantity must be greater than zero")


# ---- fat-finger limits ------------------------------------------------------------------------------------------
def test_an_order_over_the_desks_quantity_notional_or_margin_limit_says_which_and_by_how_much():
    # BUY 1,000,000,000 AAPL at 10,523 % margin utilisation kept Submit enabled; IBKR's question was the only stop.
    from ibkr.models import Ledger
    from ibkr.orders.limits import OrderLimits, limit_problems, order_size

    limits = OrderLimits(max_quantity=1_000_000, max_notional_pct=50, max_margin_pct=90)
    ledger = Ledger.model_validate({"BASE": {"currency": "BASE", "exchangerate": 1},
                                    "USD": {"currency": "USD", "exchangerate": 1},
                                    "EUR": {"currency": "EUR", "exchangerate": 1.1}})
    huge = order_size(1e9, 228.15, asset_class="STK", currency="USD", multiplier=1, ledger=ledger,
                      net_liquidation=13_500_000, base_currency="USD", maint_utilisation_after=105.23)
    problems = limit_problems(limits, huge)
    assert problems[0] == ("Quantity 1,000,000,000 is above this desk's limit of 1,000,000 per order "
                           "(IBKR_MAX_ORDER_QUANTITY).")
    assert "about 228,150,000,000 USD, is 1690000% of the account's net liquidation (13,500,000 USD)" in problems[1]
    assert "maintenance margin utilisation at 10523.0%" in problems[2]

    fine = order_size(100, 228.15, asset_class="STK", currency="USD", multiplier=1, ledger=ledger,
                      net_liquidation=13_500_000, base_currency="USD")
    assert limit_problems(limits, fine) == []
    # an option counts with its multiplier, a EUR contract through the ledger's rate, a bond per 100 of face
    option = order_size(1_000, 60.0, asset_class="OPT", currency="EUR", multiplier=100, ledger=ledger,
                        net_liquidation=10_000_000, base_currency="USD")
    assert option.notional_base == pytest.approx(6_600_000) and len(limit_problems(limits, option)) == 1
    bond = order_size(1_000_000, 99.5, asset_class="BOND", currency="USD", multiplier=None, ledger=ledger,
                      net_liquidation=10_000_000, base_currency="USD")
    assert bond.notional_base == pytest.approx(995_000)


def test_the_trading_banner_tells_paper_from_live():
    from ibkr_desk.ui.chrome import is_paper

    assert is_paper(["DU1234567", "DU7654321"], {}) is True
    assert is_paper(["U1234567"], {}) is False
    assert is_paper(["DU1234567"], {"paper": False}) is False  # IBKR's own word wins
    assert is_paper([], {}) is None


# ---- one click = one order, across sessions -----------------------------------------------------------------------
def test_a_ticket_still_being_sent_in_one_session_cannot_be_sent_again_from_another():
    # A reload 1.5 s after Submit showed an empty ticket; sending again made a second order.
    from ibkr.orders.submission import Submissions

    register = Submissions()
    first_tab, second_tab = {}, {}
    ticket = make_ticket(ticket_input())
    sent = register.begin(first_tab, NEW_FLOW, OrderFlow("new", ticket.describe(), "DU1", fingerprint(ticket)))
    assert sent is not None and register.open_flows() == [sent]

    again = register.begin(second_tab, NEW_FLOW, OrderFlow("new", ticket.describe(), "DU1", fingerprint(ticket)))
    assert again is None and NEW_FLOW not in second_tab
    assert register.open_twin(fingerprint(ticket)) is sent

    other = make_ticket(ticket_input(quantity=11.0))  # another ticket is another order
    assert register.begin(second_tab, NEW_FLOW, OrderFlow("new", "", "DU1", fingerprint(other))) is not None

    sent.stage = Stage.PLACED  # IBKR settled it: the same ticket may be sent again, on purpose
    assert register.open_twin(fingerprint(ticket)) is None and register.open_flows() == [second_tab[NEW_FLOW]]
    assert register.undismissed() == [second_tab[NEW_FLOW], sent]  # nobody closed it: a reloaded page shows it
    order_state.clear(first_tab, NEW_FLOW)  # New order
    assert register.undismissed() == [second_tab[NEW_FLOW]]
    order_state.clear(second_tab, NEW_FLOW)  # open: its "New order" button does not drop it
    assert register.undismissed() == [second_tab[NEW_FLOW]]


def test_a_submission_open_when_the_dashboard_stopped_is_shown_after_a_restart_by_its_coid(tmp_path):
    # The record is on disk before the request leaves; a restarted dashboard showed an empty ticket.
    from ibkr.orders.submission import Submissions

    path = tmp_path / "submissions.json"
    ticket = make_ticket(ticket_input())
    register = Submissions(path=path, key="https://localhost:5000")
    sent = register.begin({}, NEW_FLOW, OrderFlow("new", ticket.describe(), "DU1", fingerprint(ticket),
                                                  coid="desk-0123abcd"))
    assert sent is not None and path.stat().st_mode & 0o777 == 0o600

    restarted = Submissions(path=path, key="https://localhost:5000")  # the process died while sending
    [flow] = restarted.undismissed()
    assert (flow.flow_id, flow.coid, flow.stage, flow.title) == (sent.flow_id, "desk-0123abcd", Stage.UNKNOWN,
                                                                 sent.title)
    assert "may have reached IBKR" in flow.message and restarted.open_twin(fingerprint(ticket)) is flow
    assert Submissions(path=path, key="https://other:5000").undismissed() == []  # another gateway's orders

    sent.stage = Stage.PLACED  # IBKR answered before the stop: nothing is left to look for
    register.save()
    assert Submissions(path=path, key="https://localhost:5000").undismissed() == []
    path.write_text("{not json")
    assert Submissions(path=path, key="https://localhost:5000").undismissed() == []
