"""Placing orders through ClientPortalClient against the simulated gateway over HTTPS with its certificate pinned.

One order of each asset class through two rounds of IBKR's questions, answered round by round after checking the
ids shown; questions accepted automatically only when the caller named them; rejections with IBKR's text and
nothing placed; and a placement whose answer comes after the client's timeout, found by its cOID, never resent.

The simulator asks o354 (no market data) unless a snapshot preflight was made for the contract, o163 for a limit
more than 3% from the market, o403 + o10331 for a stop that will trigger, o10151 then o10153 for a market order
and o10288 for a crypto market order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest

import ibkr.endpoints.trading as trading
from ibkr import (
    BondOrder,
    CryptoOrder,
    ForexOrder,
    FutureOrder,
    OptionOrder,
    OrderAccepted,
    OrderRejected,
    PendingConfirmation,
    StockOrder,
)
from ibkr.models import OrderDeclined
from ibkr.orders import OrderTicket
from tests.integration.client_support import (
    ResponseRecorder,
    client_for,
    orders_with_coid,
    quantity,
    requests_to,
)
from tests.spec_validation import SpecValidator

SPEC = SpecValidator.load()
AAPL, EUR_USD, BTC, ETH = 265598, 12087792, 479624278, 495759171
TIMEOUT = 2.0


@pytest.fixture(scope="module", autouse=True)
def _primed_session(sim):
    sim.prime()


@pytest.fixture
def recorder() -> ResponseRecorder:
    return ResponseRecorder()


@pytest.fixture
def client(sim, recorder):
    sim.clear_faults()
    with client_for(sim) as c:
        recorder.attach(c)
        yield c
    sim.clear_faults()


@pytest.fixture(scope="module")
def account_id(sim) -> str:
    return sim.state()["accounts"][0]["id"]


def last_price(client, conid: int) -> float:
    """The snapshot helper's last price (its preflight starts the contract's market data stream)."""
    (snap,) = client.snapshot([conid])
    assert snap.last_price, f"no last price for {conid} after the preflight"
    return snap.last_price


# ---- one ticket per asset class: (ticket, the conid IBKR should get, the questions of each round) ---------------
@dataclass
class Case:
    build: Callable[[object, object, str], tuple[OrderTicket, int, list[set[str]]]]
    side_sign: int = 1


def stock_market_order(sim, client, acct):
    last_price(client, AAPL)  # a trader looks at the quote first: no o354
    return (StockOrder(account_id=acct, symbol="AAPL", side="BUY", quantity=5, order_type="MKT"), AAPL,
            [{"o10151"}, {"o10153"}])


def option_limit_order(sim, client, acct):
    """A held US option, named the way a trader names it: underlying, expiry, strike, right."""
    held = next(p for a in sim.state()["accounts"] for p in a["positions"]
                if p["asset_class"] == "OPT" and p["currency"] == "USD")
    occ = held["symbol"]  # OCC symbol: "AAPL  270219C00270000"
    underlying, yymmdd, right, strike = occ[:6].strip(), occ[6:12], occ[12], int(occ[13:]) / 1000
    expiry = dt.date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]))
    limit = round(held["market_price"] * 1.2 + 0.05, 2)  # marketable, but more than 3% away: o163
    ticket = OptionOrder(account_id=acct, underlying=underlying, expiry=expiry, strike=strike, right=right,
                         side="BUY", quantity=1, order_type="LMT", limit_price=limit)
    return ticket, held["conid"], [{"o354"}, {"o163"}]


def future_stop_order(sim, client, acct):
    """CL by IBKR's contract month (the second listed), a buy stop below the market: it will trigger at once. CL
    expires in the month before its contract month, so the month comes from IBKR's contract info, not the expiry."""
    listed = sim.api("GET", "/trsrv/futures", params={"symbols": "CL"}).json()["CL"]
    chosen = sorted(listed, key=lambda f: f["expirationDate"])[1]
    month = sim.api("GET", f"/iserver/contract/{chosen['conid']}/info").json()["contract_month"]
    assert month != str(chosen["expirationDate"])[:6], "CL's contract month is not its expiry month"
    stop = round(last_price(client, chosen["conid"]) * 0.99, 2)
    ticket = FutureOrder(account_id=acct, symbol="CL", contract_month=month, side="BUY", quantity=1,
                         order_type="STP", stop_price=stop)
    return ticket, chosen["conid"], [{"o403"}, {"o10331"}]


def forex_market_order(sim, client, acct):
    last_price(client, EUR_USD)
    return (ForexOrder(account_id=acct, pair="EUR.USD", side="BUY", quantity=20_000, order_type="MKT"), EUR_USD,
            [{"o10151"}, {"o10153"}])


def bond_limit_order(sim, client, acct):
    held = next(p for a in sim.state()["accounts"] for p in a["positions"] if p["asset_class"] == "BOND")
    limit = round(held["market_price"] * 1.05, 2)
    ticket = BondOrder(account_id=acct, conid=held["conid"], side="BUY", quantity=10_000, order_type="LMT",
                       limit_price=limit)
    return ticket, held["conid"], [{"o354"}, {"o163"}]


def crypto_market_order(sim, client, acct):
    return (CryptoOrder(account_id=acct, symbol="BTC", side="BUY", quantity=0.01, order_type="MKT"), BTC,
            [{"o354"}, {"o10288"}])


CASES = {"STK": stock_market_order, "OPT": option_limit_order, "FUT": future_stop_order, "CASH": forex_market_order,
         "BOND": bond_limit_order, "CRYPTO": crypto_market_order}


@pytest.mark.parametrize("asset_class", list(CASES))
def test_an_order_of_each_asset_class_through_two_rounds_of_questions(sim, client, recorder, account_id, asset_class):
    ticket, conid, rounds = CASES[asset_class](sim, client, account_id)
    before = sim.state()
    held_before = quantity(before, account_id, conid)

    result = client.place_order(ticket)

    for number, expected_ids in enumerate(rounds, start=1):
        assert isinstance(result, PendingConfirmation), f"round {number}: expected questions, got {result!r}"
        assert result.round == number
        assert result.message_ids == expected_ids
        assert all(q.text.strip() for q in result.questions)
        assert orders_with_coid(sim.state(), result.coid) == [], "nothing is placed while a question is open"
        result = client.confirm(result)  # "yes" to exactly the questions shown in this round

    assert isinstance(result, OrderAccepted), result
    after = sim.state()
    assert len(after["orders"]) == len(before["orders"]) + 1
    (placed,) = orders_with_coid(after, result.coid)
    assert str(placed["order_id"]) == result.order_id
    assert (placed["account"], placed["conid"], placed["side"], placed["quantity"]) == (
        account_id, conid, "BUY", ticket.quantity)
    assert placed["status"] == "Filled"
    assert quantity(after, account_id, conid) == pytest.approx(held_before + ticket.quantity)
    # What the client read on the way (contract lookups, quotes, questions, acceptance) is IBKR's documented shape.
    assert recorder.validate(SPEC) >= len(rounds) + 2


def test_questions_are_answered_only_for_the_ids_the_caller_accepts(sim, client, account_id):
    before = sim.state()
    replies_before = sum(n for k, n in sim.stats()["requests"].items() if k.startswith("POST /iserver/reply/"))
    ticket = CryptoOrder(account_id=account_id, symbol="ETH", side="BUY", quantity=0.5, order_type="MKT")

    pending = client.place_order(ticket, accept={"o354"})

    assert isinstance(pending, PendingConfirmation)
    assert pending.round == 2 and pending.message_ids == {"o10288"}, "o354 was accepted, o10288 was not"
    declined = client.reject(pending)
    assert isinstance(declined, OrderDeclined)
    replies = sum(n for k, n in sim.stats()["requests"].items() if k.startswith("POST /iserver/reply/"))
    assert replies == replies_before + 2, "one 'yes' (o354) and one 'no' (o10288)"
    after = sim.state()
    assert after["orders"] == before["orders"]
    assert quantity(after, account_id, ETH) == quantity(before, account_id, ETH)


def test_a_duplicate_client_order_id_is_rejected_with_ibkrs_text(sim, client, account_id, monkeypatch):
    monkeypatch.setattr(trading, "new_coid", lambda: "desk-integration-duplicate-01")
    limit = round(last_price(client, AAPL) * 0.98, 2)  # resting: within 3% of the market, below it
    ticket = StockOrder(account_id=account_id, symbol="AAPL", side="BUY", quantity=2, order_type="LMT",
                        limit_price=limit)
    first = client.place_order(ticket)
    assert isinstance(first, OrderAccepted)
    before = sim.state()

    with pytest.raises(OrderRejected) as raised:
        client.place_order(ticket)

    assert "Local order ID=desk-integration-duplicate-01 is already registered" in str(raised.value)
    after = sim.state()
    assert after["orders"] == before["orders"], "the second order was not placed"
    assert [o["order_id"] for o in orders_with_coid(after, "desk-integration-duplicate-01")] == [int(first.order_id)]


@pytest.mark.parametrize("dropped", ["manualIndicator", "extOperator"])
def test_a_us_future_without_the_cme_fields_is_refused_with_400_and_nothing_is_placed(sim, client, account_id,
                                                                                     monkeypatch, dropped):
    # The request as a client that forgets one of CME Rule 536-B's fields would send it.
    origin = type(client)._origin
    monkeypatch.setattr(type(client), "_origin",
                        lambda self, *a: {k: v for k, v in origin(self, *a).items() if k != dropped})
    listed = sim.api("GET", "/trsrv/futures", params={"symbols": "CL"}).json()["CL"]
    ticket = FutureOrder(account_id=account_id, symbol="CL", contract_month=str(listed[0]["expirationDate"]),
                         side="SELL", quantity=1, order_type="MKT")
    before = sim.state()

    with pytest.raises(OrderRejected) as raised:
        client.place_order(ticket, accept={"o354", "o10151", "o10153"})

    assert raised.value.status == 400
    assert f"{dropped} is required for Futures and Futures Options contracts" in str(raised.value)
    after = sim.state()
    assert after["orders"] == before["orders"]
    assert quantity(after, account_id, listed[0]["conid"]) == quantity(before, account_id, listed[0]["conid"])


def test_a_future_placed_elsewhere_is_modified_and_cancelled_with_the_cme_fields(sim, account_id):
    # An ES order placed by another platform (no ticket in this process): IBKR still wants manualIndicator and
    # extOperator on its modify and on its cancel ("regardless of original submission").
    es = next(c for c in sim.api("GET", "/trsrv/futures", params={"symbols": "ES"}).json()["ES"])
    snap = sim.api("GET", "/iserver/marketdata/snapshot", params={"conids": es["conid"], "fields": "31"}).json()
    price = float(str(snap[0].get("31", "5000")).lstrip("CH").replace(",", "") or 5000)
    limit = round(price * 0.9 * 4) / 4
    placed = sim.api("POST", f"/iserver/account/{account_id}/orders", json={"orders": [{
        "conid": es["conid"], "orderType": "LMT", "price": limit, "side": "BUY", "quantity": 1, "tif": "DAY",
        "manualIndicator": True, "extOperator": "tws-user"}]}).json()
    while isinstance(placed, list) and placed and "id" in placed[0]:
        placed = sim.api("POST", f"/iserver/reply/{placed[0]['id']}", json={"confirmed": True}).json()
    order_id = placed[0]["order_id"]
    with client_for(sim, order_operator="jane@desk") as client:
        client.modify(account_id, order_id, {"limit_price": limit - 0.25}, accept={"o163", "o354", "o10151", "o10153"})
        client.cancel(account_id, order_id)

    (order,) = [o for o in sim.state()["orders"] if str(o["order_id"]) == str(order_id)]
    assert order["price"] == limit - 0.25, "the modify was taken"
    assert order["origin"] == {"manualIndicator": True, "extOperator": "jane@desk"}
    assert order["status"] in ("Cancelled", "PendingCancel")
    assert order["cancel_origin"] == {"manualIndicator": True, "extOperator": "jane@desk"}


def test_a_placement_answered_after_the_timeout_is_found_by_its_coid_and_not_sent_again(sim, account_id):
    orders_path = f"/iserver/account/{account_id}/orders"
    with client_for(sim, request_timeout=TIMEOUT) as client:
        limit = round(last_price(client, AAPL) * 0.98, 2)  # no question: IBKR places it on the first POST
        ticket = StockOrder(account_id=account_id, symbol="AAPL", side="BUY", quantity=4, order_type="LMT",
                            limit_price=limit)
        before = sim.state()
        posts = requests_to(sim, f"POST {orders_path}")
        sim.fault(paths=["/iserver/account/*/orders"], methods=["POST"], latency=TIMEOUT + 2, phase="after", count=1)

        result = client.place_order(ticket)

    assert isinstance(result, OrderAccepted), result
    assert result.found_after_timeout is True
    after = sim.state()
    assert len(after["orders"]) == len(before["orders"]) + 1, "exactly one order reached IBKR"
    (placed,) = orders_with_coid(after, result.coid)
    assert str(placed["order_id"]) == result.order_id
    assert (placed["conid"], placed["quantity"], placed["price"]) == (AAPL, 4, limit)
    assert requests_to(sim, f"POST {orders_path}") == posts + 1, "the placement was not sent again"


def test_a_question_left_waiting_while_another_order_goes_in_is_cancelled_and_said_so(sim, client, account_id):
    # IBKR cancels an order whose question is not answered at once ("Submitting other orders or other requests
    # will cancel the order"); the simulator kept reply ids forever, and a 503 read as "may still reach IBKR".
    from ibkr import ReplyExpired

    before = sim.state()
    waiting = client.place_order(CryptoOrder(account_id=account_id, symbol="ETH", side="BUY", quantity=0.5,
                                             order_type="MKT"))
    assert isinstance(waiting, PendingConfirmation)
    other = StockOrder(account_id=account_id, symbol="AAPL", side="BUY", quantity=1, order_type="LMT",
                       limit_price=round(last_price(client, AAPL) * 0.98, 2))
    placed = client.place_order(other)  # another order request before the answer
    assert isinstance(placed, OrderAccepted)

    with pytest.raises(ReplyExpired) as caught:
        client.confirm(waiting)
    assert "nothing was placed" in caught.value.message and waiting.coid in caught.value.message
    after = sim.state()
    new = [o for o in after["orders"] if o["order_id"] not in {b["order_id"] for b in before["orders"]}]
    assert [o["conid"] for o in new] == [AAPL], "only the other order exists"
    client.cancel(account_id, placed.order_id)


def test_a_preview_quotes_the_instrument_first_so_ibkr_does_not_warn_of_blind_trading(sim, client, account_id):
    # IBKR wants a snapshot of the instrument before /whatif (v1 docs, Preview Order); without it the preview
    # carries its "without having market data" warning.
    msft = StockOrder(account_id=account_id, symbol="MSFT", side="BUY", quantity=1, order_type="LMT",
                      limit_price=100)
    snapshots = requests_to(sim, "GET /iserver/marketdata/snapshot")

    preview = client.whatif(msft)

    assert requests_to(sim, "GET /iserver/marketdata/snapshot") == snapshots + 1
    assert "without having market data" not in (preview.warn or ""), preview.warn
