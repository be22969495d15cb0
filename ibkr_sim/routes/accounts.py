"""Account lists: ``/portfolio/accounts``, an advisor's ``/portfolio/subaccounts`` and ``subaccounts2`` pages,
``/iserver/accounts`` and the account switch; and :func:`portfolio_account`, which every ``/portfolio/{accountId}``
handler uses to find the account and refuse one the session has not listed yet.

With ``--subaccounts N`` the simulator is a financial advisor's login (docs/cpapi.md section 2): ``/portfolio/accounts``
lists the ``DF…`` master only ("for tiered account structures see /portfolio/subaccounts", IBKR CPAPI v1 docs,
/portfolio/accounts), and the master's clients' accounts come from the sub-account endpoints.
"""

from __future__ import annotations

from starlette.requests import Request

from ibkr_sim.infra.session import SERVER_INFO
from ibkr_sim.routes.base import Endpoints, error, json_body

endpoints = Endpoints()

ALLOWED_ASSET_TYPES = "STK,CFD,OPT,FOP,WAR,FUT,BAG,PDC,CASH,IND,BOND,BILL,FUND,SLB,News,CMDTY,IOPT,ICU,ICS,PHYSS,CRYPTO"
SUBACCOUNTS_MAX = 100  # IBKR CPAPI v1 docs, /portfolio/subaccounts: "a list of up to 100 sub-accounts"
SUBACCOUNTS2_PAGE = 20  # IBKR OpenAPI spec, /portfolio/subaccounts2: "paginated up to 20 accounts per page"


def account_object(sim, acct) -> dict:
    """One account as IBKR lists it. An advisor's client accounts say ``faclient`` ("the account is managed by a
    financial advisor", IBKR OpenAPI spec, accountAttributes); the master is known by its ``F`` (paper ``DF``)
    prefix (docs/cpapi.md section 2)."""
    managed = sim.world.master is not None and acct.id != sim.world.master
    return {
        "PrepaidCrypto-P": False, "PrepaidCrypto-Z": False, "accountAlias": None, "accountId": acct.id,
        "accountStatus": acct.opened_ms, "accountTitle": acct.title, "accountVan": acct.id, "acctCustType": "LLC",
        "brokerageAccess": True, "businessType": "IB_SALES", "category": "", "clearingStatus": "O",
        "covestor": False, "currency": acct.base_currency, "desc": acct.id, "displayName": acct.title,
        "faclient": managed, "ibEntity": "IBLLC-US", "id": acct.id, "noClientTrading": False,
        "parent": {"accountId": "", "isMChild": False, "isMParent": False, "isMultiplex": False, "mmc": []},
        "trackVirtualFXPortfolio": True, "tradingType": "STKNOPT", "type": "DEMO",
    }


def portfolio_account(sim, request: Request):
    """``(account, None)`` for the path's ``accountId``, or ``(None, error)``.

    An advisor's sub-account is refused until this session listed it: ``/portfolio/subaccounts`` "must be called
    prior to calling other /portfolio endpoints for those sub-accounts", and so must ``/portfolio/subaccounts2``
    for a structure past 100 (IBKR CPAPI v1 docs, /portfolio/subaccounts and /portfolio/subaccounts2; IBKR
    OpenAPI spec, /portfolio/subaccounts2). IBKR documents no wording for the refusal; this one is the
    simulator's."""
    acct_id = request.path_params.get("accountId", "")
    acct = sim.world.accounts.get(acct_id)
    if acct is None:
        return None, error(400, f"Bad Request: account {acct_id} is not valid or not authorized for this user")
    if sim.world.master not in (None, acct.id) and acct.id not in sim.session.listed_subaccounts:
        return None, error(400, f"Bad Request: sub-account {acct_id} has not been listed in this session: call "
                                "/portfolio/subaccounts (or /portfolio/subaccounts2 past 100) first")
    return acct, None


@endpoints.route("GET", "/portfolio/accounts", access="portfolio", primes="portfolio")
async def portfolio_accounts(sim, request: Request):
    sim.session.primed_portfolio = True
    master = sim.world.master
    return [account_object(sim, a) for a in sim.world.accounts.values() if master in (None, a.id)]


def _listed(sim, ids: list[str]) -> list[dict]:
    sim.session.listed_subaccounts.update(ids)
    return [account_object(sim, sim.world.accounts[i]) for i in ids]


@endpoints.route("GET", "/portfolio/subaccounts", access="portfolio", primes="portfolio")
async def portfolio_subaccounts(sim, request: Request):
    """The first 100 sub-accounts, IBKR's cap ("a list of up to 100 sub-accounts ... If you have more than 100
    sub-accounts use /portfolio/subaccounts2", IBKR CPAPI v1 docs, /portfolio/subaccounts; the IBKR OpenAPI spec
    says the same). Without an advisor structure, the accounts themselves. Paced 1 per 5 s."""
    sim.session.primed_portfolio = True
    return _listed(sim, sim.world.subaccount_ids[:SUBACCOUNTS_MAX])


@endpoints.route("GET", "/portfolio/subaccounts2", access="portfolio", primes="portfolio")
async def portfolio_subaccounts2(sim, request: Request):
    """``?page=N`` (0-based): 20 sub-accounts a page, every sub-account of the structure across the pages (the
    first 100 included), and an empty page past the end. IBKR CPAPI v1 docs, /portfolio/subaccounts2 require
    ``page``; the IBKR OpenAPI spec lists ``accountId`` and ``nocache`` instead (ignored here).

    ``metadata.total`` is what the IBKR OpenAPI spec defines, "the total number of accounts returned for the
    page" (its example: one sub-account, ``total`` 1), not the structure's total: a client that stops when it holds
    ``total`` accounts stops after the first page. Paced 1 per 5 s (IBKR CPAPI v1 docs)."""
    try:
        page = int(request.query_params["page"])
    except (KeyError, ValueError):
        return error(400, "Bad Request: page is required (an integer from 0)")
    sim.session.primed_portfolio = True
    ids = sim.world.subaccount_ids[page * SUBACCOUNTS2_PAGE:(page + 1) * SUBACCOUNTS2_PAGE] if page >= 0 else []
    rows = _listed(sim, ids)
    return {"metadata": {"pageNum": page, "pageSize": SUBACCOUNTS2_PAGE, "total": len(rows)}, "subaccounts": rows}


@endpoints.route("GET", "/iserver/accounts", access="iserver", primes="iserver")
async def iserver_accounts(sim, request: Request):
    """An advisor's login trades its master and every client account; the master ``hasChildAccounts``."""
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
        "accounts": ids,
        "acctProps": {i: {**props, "hasChildAccounts": i == sim.world.master} for i in ids},
        "aliases": {"All": "All", **{i: i for i in ids}},
        "allowFeatures": {
            "allowCrypto": True, "allowDynAccount": False, "allowEventContract": True, "allowEventTrading": True,
            "allowFA": sim.world.master is not None, "allowFXConv": True, "allowFinancialLens": True,
            "allowLiteUnderPro": False, "allowMTA": False, "allowTypeAhead": True,
            "allowedAssetTypes": ALLOWED_ASSET_TYPES, "debugPnl": True,
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
