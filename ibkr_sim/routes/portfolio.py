"""Portfolio endpoints of one account (and daily P&L): IBKR's caching, priming and first-call-empty quirks.

The account lists are in :mod:`ibkr_sim.routes.accounts`."""

from __future__ import annotations

import dataclasses

from starlette.requests import Request

from ibkr_sim.routes.accounts import account_object, portfolio_account
from ibkr_sim.routes.base import Endpoints, error
from ibkr_sim.routes.positions_view import (
    PAGE_SIZE,
    lacks_secdef,
    position2_item,
    position_item,
    sort_key,
    without_secdef,
)
from ibkr_sim.routes.summary import summary
from ibkr_sim.world import accounting

endpoints = Endpoints()


@endpoints.route("GET", "/portfolio/{accountId}/meta", access="portfolio")
async def account_meta(sim, request: Request):
    acct, err = portfolio_account(sim, request)
    return err or account_object(sim, acct)


@endpoints.route("GET", "/portfolio/{accountId}/positions/{pageId}", access="portfolio")
async def positions_page(sim, request: Request):
    acct, err = portfolio_account(sim, request)
    if err:
        return err
    try:
        page = int(request.path_params["pageId"])
    except ValueError:
        return error(400, "Bad Request: pageId must be an integer")
    cached = sim.positions_cache.get(acct.id)
    if cached is None:  # IBKR caches positions until /positions/invalidate
        cached = [dataclasses.replace(h) for h in acct.holdings.values()]
        sim.positions_cache[acct.id] = cached
    rows = sorted(cached, key=sort_key(sim.world, request.query_params.get("sort", "name")),
                  reverse=request.query_params.get("direction", "a") == "d")
    chunk = rows[page * PAGE_SIZE:(page + 1) * PAGE_SIZE] if page >= 0 else []
    # Without waitForSecDef=true some rows come without their definition, and with incomplete_secdef on (IBKR
    # does so "sometimes", ibind #6) even with it: a client completes them from /trsrv/secdef.
    waited = request.query_params.get("waitForSecDef", "").lower() == "true"
    bare = not waited or sim.session.incomplete_secdef
    return [without_secdef(item) if bare and lacks_secdef(h.conid) else item
            for h in chunk for item in [position_item(sim.world, acct.id, h)]]


@endpoints.route("POST", "/portfolio/{accountId}/positions/invalidate", access="portfolio")
async def invalidate_positions(sim, request: Request):
    acct, err = portfolio_account(sim, request)
    if err:
        return err
    sim.positions_cache.pop(acct.id, None)
    return {"message": "success"}


@endpoints.route("GET", "/portfolio2/{accountId}/positions", access="portfolio")
async def positions2(sim, request: Request):
    acct, err = portfolio_account(sim, request)
    if err:
        return err
    rows = sorted(acct.holdings.values(), key=sort_key(sim.world, request.query_params.get("sort", "name")),
                  reverse=request.query_params.get("direction", "a") == "d")
    return [position2_item(sim.world, h) for h in rows]


def _conid(request: Request) -> int | None:
    try:
        return int(request.path_params["conid"])
    except (KeyError, ValueError):
        return None


@endpoints.route("GET", "/portfolio/{accountId}/position/{conid}", access="portfolio")
async def position_by_conid(sim, request: Request):
    acct, err = portfolio_account(sim, request)
    if err:
        return err
    h = acct.holdings.get(_conid(request))
    return [position_item(sim.world, acct.id, h)] if h else []


@endpoints.route("GET", "/portfolio/positions/{conid}", access="portfolio")
async def positions_across_accounts(sim, request: Request):
    conid = _conid(request)
    return {a.id: [position_item(sim.world, a.id, a.holdings[conid])]
            for a in sim.world.accounts.values() if conid in a.holdings}


@endpoints.route("GET", "/portfolio/{accountId}/summary", access="portfolio")
async def account_summary(sim, request: Request):
    acct, err = portfolio_account(sim, request)
    return err or summary(sim.world, acct)


@endpoints.route("GET", "/portfolio/{accountId}/ledger", access="portfolio")
async def account_ledger(sim, request: Request):
    acct, err = portfolio_account(sim, request)
    return err or accounting.ledger(sim.world, acct)


@endpoints.route("GET", "/portfolio/{accountId}/allocation", access="portfolio")
async def account_allocation(sim, request: Request):
    acct, err = portfolio_account(sim, request)
    if err:
        return err
    out: dict[str, dict[str, dict[str, float]]] = {k: {"long": {}, "short": {}} for k in ("assetClass", "group", "sector")}
    for h in acct.holdings.values():
        inst = sim.world.instruments[h.conid]
        value = sim.world.market_value(h) * sim.world.rate(inst.currency, acct.base_currency)
        side = "long" if value >= 0 else "short"
        for key, name in (("assetClass", inst.asset_class), ("group", inst.group or "Others"),
                          ("sector", inst.sector or "Others")):
            out[key][side][name] = round(out[key][side].get(name, 0.0) + value, 2)
    return out


@endpoints.route("GET", "/iserver/account/pnl/partitioned", access="iserver")
async def pnl_partitioned(sim, request: Request):
    """``{"upnl": {}}`` on a session's first request while IBKR subscribes; with ``--pnl-needs-spl``, as a real
    gateway does (REAL-GATEWAY 1.3), until a websocket of this session has subscribed ``spl``."""
    token = sim.session.token
    if sim.config.pnl_needs_spl:
        if sim.stream.spl_session != token:
            return {"upnl": {}}
    elif sim.pnl_served != token:
        sim.pnl_served = token
        return {"upnl": {}}
    rows = accounting.pnl_rows(sim.world)
    return {"upnl": {key: {k: v for k, v in row.items() if k != "uel"} for key, row in rows.items()}}
