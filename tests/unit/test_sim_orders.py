"""The simulated gateway's orders: IBKR's question chains, fills per asset class, resting orders, modify/cancel,
whatif, live orders and trades. Every response is checked against IBKR's OpenAPI spec where the spec declares
the status (undeclared non-200 statuses are deliberate IBKR behaviour, e.g. 400 for an unknown reply id)."""

from __future__ import annotations

from collections import defaultdict

import pytest
from starlette.testclient import TestClient

from ibkr.config import SimSettings
from ibkr_sim.app import create_app
from ibkr_sim.world import accounting
from ibkr_sim.world.order_questions import CAP_PRICE, MARKET_ORDER, NO_MARKET_DATA
from tests.spec_validation import SpecLookupError, SpecValidator
from tests.unit.test_sim_contracts import TODAY

SPEC = SpecValidator.load()
AAPL, EURUSD, BTC, TBOND = 265598, 12087792, 479624278, 716812549


@pytest.fixture
def gw():
    return primed_gateway()


def primed_gateway() -> Gateway:
    """An in-process simulator, logged in, frozen prices, no pacing, both /accounts endpoints primed."""
    app = create_app(SimSettings(auto_login=True, tick_seconds=0, pacing=False, today=TODAY))
    client = TestClient(app)
    for path in ("/iserver/accounts", "/portfolio/accounts"):  # the guard wants both primed
        assert client.get("/v1/api" + path).status_code == 200
    return Gateway(client, app.state.sim)


class Gateway:
    def __init__(self, client: TestClient, sim) -> None:
        self.client, self.sim = client, sim
        self.acct = sim.account_ids()[0]

    def call(self, method: str, path: str, **kwargs) -> tuple[int, object]:
        r = self.client.request(method, "/v1/api" + path, **kwargs)
        body = r.json()
        try:
            SPEC.validate(method, "/v1/api" + path, r.status_code, body)
        except SpecLookupError:
            assert r.status_code != 200, f"{method} {path} is not in IBKR's spec"
        return r.status_code, body

    def submit(self, *tickets: dict, acct: str | None = None) -> tuple[int, object]:
        return self.call("POST", f"/iserver/account/{acct or self.acct}/orders", json={"orders": list(tickets)})

    def answer_all(self, status: int, body) -> tuple[object, list[str]]:
        """Confirm every question; the final body and the messageIds asked, in order."""
        asked: list[str] = []
        while status == 200 and isinstance(body, list) and body and "id" in body[0]:
            assert len(body[0]["message"]) == 1 and body[0]["isSuppressed"] is False
            asked += body[0]["messageIds"]
            status, body = self.call("POST", f"/iserver/reply/{body[0]['id']}", json={"confirmed": True})
        return body, asked

    def place(self, *tickets: dict, acct: str | None = None) -> tuple[object, list[str]]:
        return self.answer_all(*self.submit(*tickets, acct=acct))

    def live(self) -> list[dict]:
        self.call("GET", "/iserver/account/orders")  # the first call of a session is empty, as IBKR's
        return self.call("GET", "/iserver/account/orders")[1]["orders"]

    def truth(self, order_id) -> dict:
        """The order as /sim/state has it, without its wall-clock stamps and CME fields (tested on their own)."""
        order = next(o for o in self.sim.orders.state() if o["order_id"] == int(order_id))
        return {k: v for k, v in order.items()
                if k not in ("received_at", "placed_at", "updated_at", "origin", "cancel_origin")}


def ticket(conid: int, side: str = "BUY", qty: float = 10, order_type: str = "MKT", **extra) -> dict:
    return {"conid": conid, "side": side, "quantity": qty, "orderType": order_type, "tif": "DAY", **extra}


def unheld(sim, acct: str, asset_class: str, **attrs) -> int:
    """A conid of the class the account holds no position in (so a fill realises no P&L)."""
    held = sim.world.accounts[acct].holdings
    return next(i.conid for i in sim.world.instruments.values() if i.asset_class == asset_class
                and i.conid not in held and all(getattr(i, k) == v for k, v in attrs.items()))


def cash(sim, acct: str) -> dict[str, float]:
    return dict(sim.world.accounts[acct].cash)


def position(sim, acct: str, conid: int) -> float:
    h = sim.world.accounts[acct].holdings.get(conid)
    return h.position if h else 0.0


# ---- each asset class ---------------------------------------------------------------------------------------------
CLASSES = {
    "STK": (lambda sim, a: AAPL, 10, {}, 1.00),
    "OPT": (lambda sim, a: unheld(sim, a, "OPT", symbol="SPY"), 2, {}, 1.30),
    "FUT": (lambda sim, a: unheld(sim, a, "FUT", symbol="ES"), 1, {"manualIndicator": True, "extOperator": "t"}, 0.85),
    "CASH": (lambda sim, a: EURUSD, 10_000, {}, 2.00),
    "BOND": (lambda sim, a: TBOND, 10_000, {}, None),
    "CRYPTO": (lambda sim, a: BTC, 0.01, {}, 1.75),
}


@pytest.mark.parametrize("asset_class", list(CLASSES))
def test_a_market_order_of_each_asset_class_fills_and_moves_position_and_cash_by_exactly_the_fill(gw, asset_class):
    pick, qty, extra, expected_fee = CLASSES[asset_class]
    sim, acct = gw.sim, gw.acct
    conid = pick(sim, acct)
    inst = sim.world.instruments[conid]
    cash_before, pos_before = cash(sim, acct), position(sim, acct, conid)

    body, asked = gw.place(ticket(conid, qty=qty, cOID=f"mkt-{asset_class}", **extra))

    market_questions = ["o10288"] if asset_class == "CRYPTO" else ["o10151", "o10153"]
    assert asked == ["o354", *market_questions]
    assert body == [{"order_id": body[0]["order_id"], "order_status": "Filled", "encrypt_message": "1"}]
    assert body[0]["order_id"].isdigit()
    fill = sim.world.fills[-1]
    assert fill.order_id == int(body[0]["order_id"]) and fill.quantity == qty and fill.order_ref == f"mkt-{asset_class}"
    if expected_fee is not None:
        assert fill.commission == expected_fee
    else:  # bonds: 0.1 % of the value, at least 5
        assert fill.commission == round(max(5.0, 0.001 * qty * fill.price * inst.multiplier), 2)
    assert position(sim, acct, conid) == pytest.approx(pos_before + qty)
    expected = defaultdict(float)
    if asset_class == "CASH":
        base, quote = inst.pair.split(".")
        expected[base] += qty
        expected[quote] -= qty * fill.price
        expected["USD"] -= fill.commission
    elif asset_class == "FUT":
        expected[inst.currency] -= fill.commission  # futures move cash only by realised P&L and fees
    else:
        expected[inst.currency] -= qty * fill.price * inst.multiplier + fill.commission
    cash_after = cash(sim, acct)
    for ccy in set(cash_before) | set(cash_after) | set(expected):
        assert cash_after.get(ccy, 0.0) - cash_before.get(ccy, 0.0) == pytest.approx(expected[ccy], abs=0.02), ccy
    assert gw.truth(body[0]["order_id"]) == {
        "order_id": int(body[0]["order_id"]), "account": acct, "conid": conid, "cOID": f"mkt-{asset_class}",
        "side": "BUY", "quantity": qty, "order_type": "MKT", "status": "Filled", "filled": qty, "price": None,
        "aux_price": None}
    gw.call("GET", "/iserver/account/trades", params={"accountId": acct})  # the session's warm-up call
    trades = gw.call("GET", "/iserver/account/trades", params={"accountId": acct})[1]
    mine = [t for t in trades if t["order_id"] == fill.order_id]
    assert len(mine) == 1 and mine[0]["side"] == "B" and mine[0]["size"] == qty
    assert float(mine[0]["price"]) == pytest.approx(fill.price) and mine[0]["commission"] == f"{fill.commission:.2f}"
    assert mine[0]["order_ref"] == f"mkt-{asset_class}" and mine[0]["sec_type"] == asset_class


# ---- questions ------------------------------------------------------------------------------------------------
def test_a_market_order_with_market_data_asks_two_questions_each_under_a_new_reply_id(gw):
    gw.sim.md_streaming.add(AAPL)
    status, first = gw.submit(ticket(AAPL))
    assert status == 200 and first[0]["messageIds"] == ["o10151"] and first[0]["message"] == [MARKET_ORDER]
    status, second = gw.call("POST", f"/iserver/reply/{first[0]['id']}", json={"confirmed": True})
    assert second[0]["messageIds"] == ["o10153"] and second[0]["message"] == [CAP_PRICE]
    assert second[0]["id"] != first[0]["id"]
    status, done = gw.call("POST", f"/iserver/reply/{second[0]['id']}", json={"confirmed": True})
    assert status == 200 and done[0]["order_status"] == "Filled"


def test_the_first_question_of_an_order_without_market_data_is_ibkrs_o354(gw):
    status, body = gw.submit(ticket(AAPL, order_type="LMT", price=1.0))
    assert body[0]["messageIds"] == ["o354"] and body[0]["message"] == [NO_MARKET_DATA]
    assert len(body[0]["id"]) == 36  # a UUID, as IBKR's


def test_declining_a_question_places_nothing(gw):
    before = gw.sim.world.state()
    status, body = gw.submit(ticket(AAPL, cOID="declined"))
    status, body = gw.call("POST", f"/iserver/reply/{body[0]['id']}", json={"confirmed": False})
    assert (status, body) == (200, {"error": "Order not confirmed "})
    assert gw.sim.orders.state() == []
    assert gw.sim.world.state()["accounts"] == before["accounts"]
    assert gw.place(ticket(AAPL, cOID="declined"))[0][0]["order_status"] == "Filled", "the cOID was never used"


def test_a_reply_id_answers_once(gw):
    status, body = gw.submit(ticket(AAPL))
    reply_id = body[0]["id"]
    assert gw.call("POST", f"/iserver/reply/{reply_id}", json={"confirmed": True})[0] == 200
    status, again = gw.call("POST", f"/iserver/reply/{reply_id}", json={"confirmed": True})
    assert (status, again) == (400, {"error": f"reply id not found: '{reply_id}'"})
    assert gw.sim.orders.state() == [], "the chain was not finished"


def test_suppressed_questions_are_skipped_until_reset(gw):
    status, body = gw.call("POST", "/iserver/questions/suppress", json={"messageIds": ["o354", "o10151"]})
    assert (status, body) == (200, {"status": "submitted"})
    assert gw.place(ticket(AAPL))[1] == ["o10153"]
    assert gw.call("POST", "/iserver/questions/suppress/reset")[1] == {"status": "submitted"}
    assert gw.place(ticket(AAPL))[1] == ["o354", "o10151", "o10153"]


def test_a_large_stock_order_asks_about_size_and_value(gw):
    gw.sim.md_streaming.add(AAPL)
    body, asked = gw.place(ticket(AAPL, qty=650, order_type="LMT", price=round(gw.sim.world.price(AAPL) * 0.99, 2)))
    assert asked == ["o383", "o451"]
    assert body[0]["order_status"] == "Submitted"


def test_a_bracket_asks_each_distinct_question_once(gw):
    gw.sim.md_streaming.add(AAPL)
    p = gw.sim.world.price(AAPL)
    held = position(gw.sim, gw.acct, AAPL)
    status, first = gw.submit(ticket(AAPL, cOID="b-parent"),
                              ticket(AAPL, "SELL", order_type="STP", price=round(p * 0.95, 2), parentId="b-parent"),
                              ticket(AAPL, "SELL", order_type="LMT", price=round(p * 1.05, 2), parentId="b-parent"))
    body, asked = gw.answer_all(status, first)
    assert asked == ["o10151", "o10153", "o10331", "o163"]
    statuses = [gw.truth(b["order_id"])["status"] for b in body]
    assert statuses == ["Filled", "PreSubmitted", "Submitted"]
    gw.sim.world.instruments[AAPL].price = p * 1.06  # take profit reached: it fills, its OCA sibling cancels
    gw.live()
    assert [gw.truth(b["order_id"])["status"] for b in body] == ["Filled", "Cancelled", "Filled"]
    assert position(gw.sim, gw.acct, AAPL) == pytest.approx(held), "bought 10, took profit on 10"


# ---- rejections -------------------------------------------------------------------------------------------------
def test_a_duplicate_coid_is_rejected_with_ibkrs_text(gw):
    gw.place(ticket(AAPL, cOID="once-a-day"))
    status, body = gw.submit(ticket(AAPL, cOID="once-a-day"))
    assert (status, body) == (200, {"error": "Order couldn't be submitted: Local order ID=once-a-day is already "
                                              "registered."})
    assert len(gw.sim.orders.state()) == 1


@pytest.mark.parametrize(("fields", "missing_field"), [
    ({}, "manualIndicator"), ({"extOperator": "jane"}, "manualIndicator"), ({"manualIndicator": True}, "extOperator"),
    ({"manualIndicator": "true", "extOperator": "jane"}, "manualIndicator"),
    ({"manualIndicator": True, "extOperator": " "}, "extOperator"),
])
def test_a_us_future_needs_manual_indicator_and_ext_operator(gw, fields, missing_field):
    es = unheld(gw.sim, gw.acct, "FUT", symbol="ES")
    status, body = gw.submit(ticket(es, qty=1, **fields))
    assert status == 400 and body["error"] == (f"Order rejected - reason: {missing_field} is required for Futures "
                                               "and Futures Options contracts to remain in compliance with CME "
                                               "Group Rule 536-B")
    assert gw.sim.orders.state() == []


def test_a_us_future_with_both_cme_fields_is_placed_and_eurex_needs_neither(gw):
    es = unheld(gw.sim, gw.acct, "FUT", symbol="ES")
    automated = ticket(es, qty=1, manualIndicator=False, extOperator="algo-7")
    assert gw.place(automated)[0][0]["order_status"] == "Filled"
    assert gw.sim.orders.state()[0]["origin"] == {"manualIndicator": False, "extOperator": "algo-7"}
    dax = next(i.conid for i in gw.sim.world.instruments.values() if i.symbol == "DAX")
    assert gw.place(ticket(dax, qty=1))[0][0]["order_status"] == "Filled", "EUREX is not a US exchange"


@pytest.mark.parametrize(("extra", "needle"), [
    ({"orderType": "LMT"}, "LMT order needs a positive price"),
    ({"orderType": "STP"}, "STP order needs its stop price"),
    ({"orderType": "STOP_LIMIT", "price": 100}, "needs price (the limit price) and auxPrice"),
    ({"orderType": "TRAIL", "price": 100, "trailingAmt": 1}, "trailingType"),
    ({"orderType": "FOO"}, "Invalid order type"),
    ({"side": "HOLD"}, "Invalid side"),
    ({"quantity": 0}, "Invalid quantity"),
    ({"tif": None}, "Invalid time in force"),
    ({"conid": 1}, "no contract is available for conid 1"),
])
def test_an_invalid_ticket_is_rejected_and_nothing_is_placed(gw, extra, needle):
    status, body = gw.submit(ticket(AAPL) | extra)
    assert status == 200 and needle in body["error"]
    assert gw.sim.orders.state() == []


def test_an_unknown_account_is_a_bad_request(gw):
    status, body = gw.submit(ticket(AAPL), acct="DU0000000")
    assert (status, body) == (400, {"error": "Bad Request: accountId is not valid: DU0000000", "statusCode": 400})


# ---- resting orders -----------------------------------------------------------------------------------------
def test_a_limit_far_from_the_market_rests_until_the_price_crosses(gw):
    sim = gw.sim
    price = sim.world.price(AAPL)
    limit = round(price * 0.9, 2)
    before = position(sim, gw.acct, AAPL)
    body, asked = gw.place(ticket(AAPL, order_type="LMT", price=limit, tif="GTC"))
    assert asked == ["o354", "o163"]
    order_id = body[0]["order_id"]
    assert body[0]["order_status"] == "Submitted"
    sim.world.instruments[AAPL].price = price * 0.95
    live = {o["orderId"]: o for o in gw.live()}
    assert live[int(order_id)]["status"] == "Submitted" and live[int(order_id)]["price"] == f"{limit:.2f}"
    sim.world.instruments[AAPL].price = limit * 0.99
    status, st = gw.call("GET", f"/iserver/account/order/status/{order_id}")
    assert st["order_status"] == "Filled" and st["side"] == "B" and float(st["average_price"]) <= limit
    assert position(sim, gw.acct, AAPL) == pytest.approx(before + 10)


def test_a_stop_waits_presubmitted_and_fills_once_triggered(gw):
    sim = gw.sim
    gw.sim.md_streaming.add(AAPL)
    price = sim.world.price(AAPL)
    body, asked = gw.place(ticket(AAPL, "SELL", order_type="STP", price=round(price * 0.98, 2)))
    assert asked == ["o10331"] and body[0]["order_status"] == "PreSubmitted"
    sim.world.instruments[AAPL].price = price * 0.99  # above the stop: still waiting
    sim.orders.match_resting()
    assert gw.truth(body[0]["order_id"])["status"] == "PreSubmitted"
    sim.world.instruments[AAPL].price = price * 0.97
    sim.orders.match_resting()  # what the guard does after prices catch up
    assert gw.truth(body[0]["order_id"])["status"] == "Filled"


def test_modify_then_cancel(gw):
    sim = gw.sim
    sim.md_streaming.add(AAPL)
    price = sim.world.price(AAPL)
    original = ticket(AAPL, order_type="LMT", price=round(price * 0.98, 2), cOID="mod-1")
    body, _ = gw.place(original)
    order_id = body[0]["order_id"]
    path = f"/iserver/account/{gw.acct}/order/{order_id}"

    status, modified = gw.call("POST", path, json=original | {"price": round(price * 0.985, 2), "quantity": 20})
    modified, _ = gw.answer_all(status, modified)
    assert modified == [{"order_id": order_id, "order_status": "Submitted", "encrypt_message": "1"}]
    truth = gw.truth(order_id)
    assert (truth["price"], truth["quantity"], truth["cOID"]) == (round(price * 0.985, 2), 20, "mod-1")

    status, cancelled = gw.call("DELETE", path)
    assert status == 200 and cancelled["msg"] == "Request was submitted" and cancelled["order_id"] == order_id
    assert cancelled["conid"] == str(AAPL) and cancelled["account"] == gw.acct
    assert gw.truth(order_id)["status"] == "PendingCancel"
    live = {o["orderId"]: o for o in gw.live()}
    assert live[int(order_id)]["status"] == "Cancelled"
    assert gw.call("DELETE", f"/iserver/account/{gw.acct}/order/123")[1] == {"error": "OrderID 123 doesn't exist"}
    assert gw.call("POST", f"/iserver/account/{gw.acct}/order/123", json=original)[1] == {
        "error": "OrderID 123 doesn't exist"}


# ---- views --------------------------------------------------------------------------------------------------------
def test_live_orders_are_empty_on_a_sessions_first_call_and_after_force(gw):
    gw.place(ticket(AAPL, order_type="LMT", price=1.0))
    assert gw.call("GET", "/iserver/account/orders")[1] == {"orders": [], "snapshot": True}
    orders = gw.call("GET", "/iserver/account/orders")[1]["orders"]
    assert len(orders) == 1
    example = SPEC.spec["paths"]["/iserver/account/orders"]["get"]["responses"]["200"]["content"][
        "application/json"]["examples"]["orders"]["value"]["orders"][0]
    for key, value in example.items():  # every key of IBKR's example, with the example's JSON type
        assert type(orders[0][key]) is type(value), key
    assert gw.call("GET", "/iserver/account/orders", params={"force": "true"})[1]["orders"] == []
    assert len(gw.call("GET", "/iserver/account/orders", params={"filters": "submitted"})[1]["orders"]) == 1
    assert gw.call("GET", "/iserver/account/orders", params={"filters": "filled"})[1]["orders"] == []


def test_order_status_of_an_unknown_order_is_503(gw):
    assert gw.call("GET", "/iserver/account/order/status/42")[0] == 503


def test_whatif_reports_the_margin_change_the_fill_makes(gw):
    sim = gw.sim
    acct = sim.world.accounts[gw.acct]
    sim.md_streaming.add(AAPL)
    before = accounting.margin(sim.world, acct)
    status, preview = gw.call("POST", f"/iserver/account/{gw.acct}/orders/whatif", json={"orders": [ticket(AAPL)]})
    assert status == 200 and preview["error"] is None
    assert preview["equity"]["current"] == f"{round(before['equitywithloanvalue']):,}"
    assert preview["initial"]["current"] == f"{round(before['initmarginreq']):,}"
    assert preview["maintenance"]["current"] == f"{round(before['maintmarginreq']):,}"
    assert preview["amount"]["amount"].endswith(" USD (10 Shares)")
    assert preview["amount"]["commission"] == "1 USD"
    assert sim.orders.state() == [] and accounting.margin(sim.world, acct) == before, "a preview changes nothing"

    gw.place(ticket(AAPL))  # the same order for real: the preview's "after" is what the account becomes
    after = accounting.margin(sim.world, acct)
    assert preview["equity"]["after"] == f"{round(after['equitywithloanvalue']):,}"
    assert preview["initial"]["after"] == f"{round(after['initmarginreq']):,}"
    assert preview["maintenance"]["after"] == f"{round(after['maintmarginreq']):,}"
    change = int(preview["initial"]["change"].replace(",", ""))
    assert change == round(after["initmarginreq"]) - round(before["initmarginreq"])
    held = int(preview["position"]["current"].replace(",", ""))
    assert preview["position"]["after"] == f"{held + 10:,}"


def test_a_trailing_stop_follows_the_price_up_and_fills_on_the_way_down(gw):
    sim = gw.sim
    sim.md_streaming.add(AAPL)
    inst = sim.world.instruments[AAPL]
    p = inst.price
    body, asked = gw.place(ticket(AAPL, "SELL", order_type="TRAIL", price=round(p * 0.95, 2), trailingAmt=2,
                                  trailingType="%"))
    assert asked == ["o10331"]
    order = sim.orders.orders[int(body[0]["order_id"])]
    inst.price = p * 1.10
    sim.orders.match_resting()
    assert order.stop == pytest.approx(p * 1.10 * 0.98, abs=0.01) and order.status == "PreSubmitted"
    inst.price = p * 1.09  # a 1 % dip: above the trailed stop
    sim.orders.match_resting()
    assert order.status == "PreSubmitted"
    inst.price = p * 1.07
    sim.orders.match_resting()
    assert order.status == "Filled" and order.avg_price > p  # locked in the gain


def test_a_stop_limit_triggers_then_fills_only_within_its_limit(gw):
    sim = gw.sim
    sim.md_streaming.add(AAPL)
    inst = sim.world.instruments[AAPL]
    p = inst.price
    body, _ = gw.place(ticket(AAPL, "SELL", order_type="STOP_LIMIT", auxPrice=round(p * 0.98, 2),
                              price=round(p * 0.975, 2)))
    order = sim.orders.orders[int(body[0]["order_id"])]
    inst.price = p * 0.96  # gapped through the limit: triggered, but no fill below 97.5 %
    sim.orders.match_resting()
    assert order.triggered and order.status == "Submitted"
    inst.price = p * 0.976
    sim.orders.match_resting()
    assert order.status == "Filled" and order.avg_price >= round(p * 0.975, 2)


def test_a_snapshot_preflight_removes_the_no_market_data_question(gw):
    gw.client.get("/v1/api/iserver/marketdata/snapshot", params={"conids": str(AAPL), "fields": "31"})
    assert gw.place(ticket(AAPL))[1] == ["o10151", "o10153"]


def test_trades_answer_empty_first_and_only_for_the_selected_account_without_account_id(gw):
    # MCP (live, 2026-07-06): a fresh brokerage session answers trades empty on the first call; v1 docs: trades
    # are "for the currently selected account"; code-rabi PR #44: no accountId on a multi-account login.
    others = [a for a in gw.sim.world.accounts if a != gw.acct]
    for acct in (gw.acct, others[0]):
        gw.call("POST", "/iserver/account", json={"acctId": acct})
        gw.place(ticket(AAPL, qty=1), acct=acct)
    assert gw.call("GET", "/iserver/account/trades")[1] == [], "the first call of the session is empty"
    gw.call("POST", "/iserver/account", json={"acctId": gw.acct})
    selected = gw.call("GET", "/iserver/account/trades")[1]
    assert selected and {t["account"] for t in selected} == {gw.acct}
    named = gw.call("GET", "/iserver/account/trades", params={"accountId": others[0]})[1]
    assert named and {t["account"] for t in named} == {others[0]}
    orders = gw.live()  # past the live orders' own warm-up: the selected account's orders, and only those
    assert orders and {o["acct"] for o in orders} == {gw.acct}


def test_cancelling_a_us_future_needs_manual_indicator(gw):
    es = unheld(gw.sim, gw.acct, "FUT", symbol="ES")
    price = gw.sim.world.price(es)
    body, _ = gw.place(ticket(es, qty=1, order_type="LMT", price=round(price * 0.99 * 4) / 4, manualIndicator=True,
                              extOperator="tws"))
    path = f"/iserver/account/{gw.acct}/order/{body[0]['order_id']}"
    assert gw.call("DELETE", path)[0] == 400
    assert "extOperator is required" in gw.call("DELETE", path, params={"manualIndicator": "true"})[1]["error"]
    answer = gw.call("DELETE", path, params={"manualIndicator": "true", "extOperator": "jane"})[1]
    assert answer["msg"] == "Request was submitted"
    assert gw.sim.orders.state()[0]["cancel_origin"] == {"manualIndicator": True, "extOperator": "jane"}


@pytest.mark.parametrize(("symbol", "off", "on"), [("ES", 5821.15, 5821.25), ("EUR.USD", 1.08689, 1.0869),
                                                   ("AAPL", 229.123456, 229.12)])
def test_a_price_off_the_contracts_tick_is_refused_as_ibkr_refuses_it(gw, symbol, off, on):
    # A real gateway rejects ES at 5,821.15 (0.25 ticks) and EUR.USD at 1.08689 (IDEALPRO half-pips).
    from ibkr_sim.world.instruments import OFF_TICK, tick_size

    inst = next(i for i in gw.sim.world.instruments.values()
                if (i.pair or i.symbol) == symbol and i.asset_class in ("FUT", "CASH", "STK"))
    extra = {"manualIndicator": True, "extOperator": "t"} if inst.asset_class == "FUT" else {}
    status, body = gw.submit(ticket(inst.conid, order_type="LMT", price=off, **extra))
    assert body == {"error": OFF_TICK} or (isinstance(body, dict) and body.get("error") == OFF_TICK), body
    assert gw.sim.orders.state() == []

    placed, _ = gw.place(ticket(inst.conid, order_type="LMT", price=on, **extra))
    assert isinstance(placed, list) and placed[0].get("order_id"), placed
    secdef = gw.call("GET", "/trsrv/secdef", params={"conids": inst.conid})[1]["secdef"][0]
    assert secdef["incrementRules"] == [{"increment": tick_size(inst), "lowerEdge": 0.0}]


# ---- a demo world a trader recognises --------------------------------------------------------------------------
TOYOTA = 13905


def test_tokyo_trades_in_board_lots_of_100_holdings_and_orders_alike(gw):
    world = gw.sim.world
    for acct in world.accounts.values():
        for h in acct.holdings.values():
            inst = world.instruments[h.conid]
            if inst.asset_class == "STK" and inst.exchange in ("TSEJ", "SEHK"):
                assert h.position % 100 == 0, (inst.symbol, h.position)
    status, body = gw.submit(ticket(TOYOTA, qty=150, order_type="LMT", price=world.price(TOYOTA)))
    assert status == 200 and "multiple of the board lot of 100 shares on TSEJ" in body["error"]
    assert gw.sim.orders.state() == []


def test_one_account_of_the_demo_is_near_the_margin_warning_and_options_move_with_their_underlying(gw):
    world = gw.sim.world
    last = list(world.accounts.values())[-1]
    m = accounting.margin(world, last)
    assert m["maintmarginreq"] / m["equitywithloanvalue"] == pytest.approx(accounting.NEAR_MARGIN, abs=0.005)
    others = [accounting.margin(world, a) for a in list(world.accounts.values())[:-1]]
    assert all(o["maintmarginreq"] / o["equitywithloanvalue"] < 0.7 for o in others)

    call = next(i for i in world.instruments.values() if i.asset_class == "OPT" and i.right == "C")
    before = call.price
    world.instruments[call.und_conid].price *= 1.05
    world._reprice_derivatives()
    assert call.price > before


def test_a_plain_reopen_of_a_session_tws_holds_is_refused_in_ibkrs_words_and_tws_keeps_it(gw):
    # ibeam #73: after ssodh/init without compete IBKR reports competing:false with a "Force compete" fail.
    session = gw.sim.session
    session.compete()
    session.init_brokerage(compete=False)
    status = session.auth_status()
    assert (status["authenticated"], status["competing"], status["connected"]) == (False, False, True)
    assert status["fail"] == "Force compete capability must be used together with compete flag"
    assert session.held_elsewhere
    session.init_brokerage(compete=True)
    assert session.auth_status()["authenticated"] and not session.held_elsewhere


def test_a_reply_id_dies_when_another_order_request_comes_first_or_the_answer_is_late(gw):
    # IBKR: the reply must come "immediately"; other order requests cancel the order (503 on its reply id).
    _, asked = gw.submit(ticket(AAPL))  # a market order: IBKR asks first
    reply_id = asked[0]["id"]
    gw.call("POST", f"/iserver/account/{gw.acct}/orders/whatif", json={"orders": [ticket(BTC, qty=0.01)]})
    assert gw.call("POST", f"/iserver/reply/{reply_id}", json={"confirmed": True})[0] == 503
    assert gw.sim.orders.state() == []

    _, asked = gw.submit(ticket(AAPL))
    reply_id = asked[0]["id"]
    gw.sim.orders.asked_at[reply_id] -= 61  # a minute later
    assert gw.call("POST", f"/iserver/reply/{reply_id}", json={"confirmed": True})[0] == 503
    assert gw.call("POST", "/iserver/reply/never-issued", json={"confirmed": True})[0] == 400
    assert gw.sim.orders.state() == []
