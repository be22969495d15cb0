"""Accounts and portfolio endpoints, including IBKR's caching, priming and first-call-empty quirks."""

from __future__ import annotations

import dataclasses

from starlette.requests import Request

from ibkr_sim.infra.session import SERVER_INFO
from ibkr_sim.routes.base import Endpoints, error, json_body
from ibkr_sim.routes.positions_view import PAGE_SIZE, position2_item, position_item, sort_key
from ibkr_sim.routes.summary import summary
from ibkr_sim.world import accounting

endpoints = Endpoints()

ALLOWED_ASSET_TYPES = "STK,CFD,OPT,FOP,WAR,FUT,BAG,PDC,CASH,IND,BOND,BILL,FUND,SLB,News,CMDTY,IOPT,ICU,ICS,PHYSS,CRYPTO"


def _account_object(sim, acct) -> dict:
    return {
        "PrepaidCrypto-P": False, "PrepaidCrypto-Z": False, "accountAlias": None, "accountId": acct.id,
        "accountStatus": acct.opened_ms, "accountTitle": acct.title, "accountVan": acct.id, "acctCustType": "LLC",
        "brokerageAccess": True, "businessType": "IB_SALES", "category": "", "clearingStatus": "O",
        "covestor": False, "currency": acct.base_currency, "desc": acct.id, "displayName": acct.title,
        "faclient": False, "ibEntity": "IBLLC-US", "id": acct.id, "noClientTrading": False,
        "parent": {"accountId": "", "isMChild": False, "isMParent": False, "isMultiplex": False, "mmc": []},
        "trackVirtualFXPortfolio": True, "tradingType": "STKNOPT", "type": "DEMO",
    }


def _account(sim, request: Request):
    acct_id = request.path_params.get("accountId", "")
    acct = sim.world.accounts.get(acct_id)
    if acct is None:
        return None, error(400, f"Bad Request: account {acct_id} is not valid or not authorized for this user")
    return acct, None


@endpoints.route("GET", "/portfolio/accounts", access="portfolio", primes="portfolio")
async def portfolio_accounts(sim, request: Request):
    sim.session.primed_portfolio = True
    return [_account_object(sim, a) for a in sim.world.accounts.values()]


@endpoints.route("GET", "/portfolio/subaccounts", access="portfolio", primes="portfolio")
async def portfolio_subaccounts(sim, request: Request):
    sim.session.primed_portfolio = True
    return [_account_object(sim, a) for a in sim.world.accounts.values()]


@endpoints.route("GET", "/iserver/accounts", access="iserver", primes="iserver")
async def iserver_accounts(sim, request: Request):
    s = sim.session
    if not s.authenticated:
        return {} if s.competing else error(400, "Bad Request: no bridge")
    s.primed_iserver = True
    ids = sim.account_ids()
    s.selected_account = s.selected_account or ids[0]
    props = {"allowCustomerTime": True, "autoFx": False, "hasChildAccounts": False, "liteUnderPro": False,
             "noFxConv": False, "supportsCashQty": True, "supportsFractions": True}
    periods = {k: ["*"] for k in ("BOND", "CASH", "CFD", "CMDTY", "CRYPTO", "FUND", "FUT", "IND", "IOPT", "PHYSS",
                                  "STK", "WAR")}
    periods.update({k: ["2h", "1d", "2d", "1w", "1m"] for k in ("FOP", "OPT")})
    return {
        "accounts": ids, "acctProps": {i: dict(props) for i in ids},
        "aliases": {"All": "All", **{i: i for i in ids}},
        "allowFeatures": {
            "allowCrypto": True, "allowDynAccount": False, "allowEventContract": True, "allowEventTrading": True,
            "allowFA": False, "allowFXConv": True, "allowFinancialLens": True, "allowLiteUnderPro": False,
            "allowMTA": False, "allowTypeAhead": True, "allowedAssetTypes": ALLOWED_ASSET_TYPES, "debugPnl": True,
            "liteUser": False, "research": True, "restrictTradeSubscription": False, "showEUCostReport": False,
            "showGFIS": True, "showImpactDashboard": True, "showTaxOpt": True, "showUkUserLabels": False,
            "showWebNews": True, "sideBySide": True, "snapshotRefreshTimeout": 30},
        "chartPeriods": periods, "groups": ["All"], "isFT": False, "isPaper": True, "profiles": [],
        "selectedAccount": s.selected_account, "serverInfo": dict(SERVER_INFO), "sessionId": s.token[:8] + ".sim",
    }


@endpoints.route("POST", "/iserver/account", access="iserver")
async def switch_account(sim, request: Request):
    body = await json_body(request) or {}
    acct_id = body.get("acctId")
    if acct_id not in sim.world.accounts:
        return error(400, f"Bad Request: account {acct_id} is not valid or not authorized for this user")
    sim.session.selected_account = acct_id
    return {"acctId": acct_id, "set": True}


@endpoints.route("GET", "/portfolio/{accountId}/meta", access="portfolio")
async def account_meta(sim, request: Request):
    acct, err = _account(sim, request)
    return err or _account_object(sim, acct)


@endpoints.route("GET", "/portfolio/{accountId}/positions/{pageId}", access="portfolio")
async def positions_page(sim, request: Request):
    acct, err = _account(sim, request)
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
    return [position_item(sim.world, acct.id, h) for h in chunk]


@endpoints.route("POST", "/portfolio/{accountId}/positions/invalidate", access="portfolio")
async def invalidate_positions(sim, request: Request):
    acct, err = _account(sim, request)
    if err:
        return err
    sim.positions_cache.pop(acct.id, None)
    return {"message": "success"}


@endpoints.route("GET", "/portfolio2/{accountId}/positions", access="portfolio")
async def positions2(sim, request: Request):
    acct, err = _account(sim, request)
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
    acct, err = _account(sim, request)
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
    acct, err = _account(sim, request)
    return err or summary(sim.world, acct)


@endpoints.route("GET", "/portfolio/{accountId}/ledger", access="portfolio")
async def account_ledger(sim, request: Request):
    acct, err = _account(sim, request)
    return err or accounting.ledger(sim.world, acct)


@endpoints.route("GET", "/portfolio/{accountId}/allocation", access="portfolio")
async def account_allocation(sim, request: Request):
    acct, err = _account(sim, request)
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
    if sim.pnl_served != sim.session.token:  # IBKR answers {} to a session's first request while it subscribes
        sim.pnl_served = sim.session.token
        return {"upnl": {}}
    rows = {}
    for acct in sim.world.accounts.values():
        m = accounting.margin(sim.world, acct)
        upl = sum(sim.world.unrealized_pnl(h) * sim.world.rate(sim.world.instruments[h.conid].currency,
                                                                acct.base_currency) for h in acct.holdings.values())
        rows[f"{acct.id}.Core"] = {
            "rowType": 1, "dpl": accounting.daily_pnl(sim.world, acct), "nl": m["netliquidation"],
            "upl": round(upl, 2), "el": m["excessliquidity"], "mv": m["grosspositionvalue"],
        }
    return {"upnl": rows}
