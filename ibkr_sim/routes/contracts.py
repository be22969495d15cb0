"""Contract lookup as IBKR's gateway answers it: ``/iserver/secdef/search|strikes|info``, ``/trsrv/stocks``,
``/trsrv/futures``, ``/trsrv/secdef`` and ``/iserver/contract/{conid}/info``, from the world's instruments.

Futures underlyings (ES -> 11004968, ...) are not in ``World.instruments``; they are served as ``IND``
contracts priced off their front-month future (see ``quotes.lookup``), so the conids ``/trsrv/futures`` names
resolve. IBKR quirk kept: ``secdef/strikes`` answers empty arrays until ``secdef/search`` was called for the
underlying symbol. Derivative ``secdef/info`` queries answer an array of contracts, a stock's one object.
"""

from __future__ import annotations

import datetime as dt

from ibkr_sim.routes.base import Endpoints, error, json_body
from ibkr_sim.routes.positions_view import full_name
from ibkr_sim.world.instruments import MONTHS, Instrument, required
from ibkr_sim.world.quotes import ContractIndex, contract_index, decimals, flag, lookup, parse_conid, tick_size
from ibkr_sim.world.world import World

endpoints = Endpoints()

OPT_EXCHANGES = {"US": "SMART;AMEX;BATS;BOX;CBOE;CBOE2;EDGX;GEMINI;ISE;MIAX;NASDAQOM;PEARL;PHLX;PSE",
                 "DE": "SMART;EUREX"}
ISSUERS = {"T": "United States Treasury", "AAPL": "Apple Inc", "DBR": "Bundesrepublik Deutschland",
           "UKT": "United Kingdom Gilt"}
TYPES = {"OPT": "EQUITY", "CASH": "CASH", "CRYPTO": "CRYPTO", "IND": "IND"}
SECTORS = {"FUT": "Futures", "IND": "Indices", "CASH": "Currency", "CRYPTO": "Cryptocurrency", "BOND": "Fixed Income"}
MAX_SECDEF_CONIDS = 200
MAX_SEARCH_RESULTS = 25


def _months(contracts: list[Instrument]) -> str:
    return ";".join(dict.fromkeys(c.month or "" for c in contracts))


def _desc2(inst: Instrument) -> str:
    """``"DEC 18 '26 230 Call"`` for an option, ``"DEC 18 '26"`` for a future."""
    d = dt.datetime.strptime(required(inst.expiry, "expiry"), "%Y%m%d")
    text = f"{MONTHS[d.month - 1]} {d.day:02d} '{d.year % 100:02d}"
    if inst.asset_class == "OPT":
        text += f" {inst.strike:g} {'Call' if inst.right == 'C' else 'Put'}"
    return text


def _issuer_id(inst: Instrument) -> str:
    return f"e{inst.conid % 10_000_000:07d}"


def _opt_exchanges(und: Instrument) -> str:
    return OPT_EXCHANGES.get(und.country, "SMART")


# ---- secdef/search ------------------------------------------------------------------------------------------------
def _search_entry(idx: ContractIndex, inst: Instrument) -> dict:
    sections: list[dict] = [{"secType": inst.asset_class}]
    opt = None
    if inst.asset_class == "STK" and idx.options.get(inst.conid):
        chain = idx.options[inst.conid]
        opt = ";".join(dict.fromkeys(o.expiry or "" for o in chain))
        sections.append({"secType": "OPT", "months": _months(chain), "exchange": _opt_exchanges(inst)})
    elif inst.asset_class == "IND":
        sections[0]["exchange"] = f"{inst.exchange};"
        sections.append({"secType": "FUT", "months": _months(idx.futures[inst.symbol]), "exchange": inst.exchange})
    elif inst.asset_class in ("CASH", "CRYPTO"):
        sections[0]["exchange"] = f"{inst.exchange};"
    name = inst.name
    return {"companyHeader": f"{name} - {inst.exchange}", "companyName": name, "conid": str(inst.conid),
            "description": inst.exchange, "fop": None, "opt": opt, "restricted": None, "sections": sections,
            "symbol": inst.pair or inst.symbol, "war": None}


def _bond_entry(bonds: list[Instrument]) -> dict:
    issuers = {_issuer_id(b): ISSUERS.get(b.symbol, b.name) for b in bonds}
    corporate = any(b.sector != "Government" for b in bonds)
    return {"bondid": len(bonds), "companyHeader": "Corporate Fixed Income" if corporate else "Government Fixed Income",
            "companyName": None, "conid": "2147483647", "description": None, "fop": None,
            "issuers": [{"id": i, "name": n} for i, n in issuers.items()], "opt": None, "restricted": None,
            "sections": [{"secType": "BOND"}], "symbol": None, "war": None}


def search(sim, symbol: str, sec_type: str | None, by_name: bool) -> list[dict]:
    """What ``secdef/search`` returns; records the symbols found for the ``secdef/strikes`` quirk."""
    idx = contract_index(sim.world)
    query = symbol.strip().upper()
    if not query:
        return []
    if by_name:
        found = [i for i in idx.stocks if query in i.name.upper()][:MAX_SEARCH_RESULTS]
    else:
        found = list(idx.by_symbol.get(query, []))
        found += [i for i in idx.indexes.values() if i.symbol == query]
    wanted = {"STK": {"STK", "CASH", "CRYPTO"}, "IND": {"IND"}, "FUT": {"IND"}, "BOND": {"BOND"}}.get(
        (sec_type or "").upper(), {"STK", "CASH", "CRYPTO", "IND", "BOND"})
    found = [i for i in found if i.asset_class in wanted]
    order = {"STK": 0, "IND": 1, "CRYPTO": 2, "CASH": 3}
    out = [_search_entry(idx, i) for i in sorted(found, key=lambda i: order.get(i.asset_class, 9))
           if i.asset_class != "BOND"]
    bonds = [i for i in found if i.asset_class == "BOND"]
    if bonds:
        out.append(_bond_entry(bonds))
    sim.searched_symbols.update(i.symbol.upper() for i in found)
    return out


@endpoints.route("GET", "/iserver/secdef/search")
async def secdef_search_get(sim, request):
    q = request.query_params
    if not q.get("symbol"):
        return error(400, "Bad Request: symbol required")
    return search(sim, q["symbol"], q.get("secType") or q.get("sectype"), flag(q.get("name")))


@endpoints.route("POST", "/iserver/secdef/search")
async def secdef_search_post(sim, request):
    body = await json_body(request)
    if not isinstance(body, dict) or not body.get("symbol"):
        return error(400, "Bad Request: symbol required")
    return search(sim, str(body["symbol"]), body.get("secType"), flag(body.get("name")))


# ---- secdef/strikes and secdef/info -------------------------------------------------------------------------------
def _underlying(world: World, inst: Instrument) -> Instrument:
    """A derivative's underlying (an option's stock, a future's index); anything else is its own."""
    und = lookup(world, inst.und_conid) if inst.und_conid else None
    return und or inst


@endpoints.route("GET", "/iserver/secdef/strikes")
async def secdef_strikes(sim, request):
    q = request.query_params
    conid, sectype, month = parse_conid(q.get("conid")), (q.get("sectype") or "").upper(), (q.get("month") or "").upper()
    if conid is None or not sectype or not month:
        return error(400, "Bad Request: conid, sectype and month are required")
    inst = lookup(sim.world, conid)
    if inst is None:
        return error(500, f"Invalid conid: {conid}", with_code=False)
    und = _underlying(sim.world, inst)
    exchange = (q.get("exchange") or "SMART").upper()
    chain = contract_index(sim.world).options.get(und.conid, [])
    if (sectype != "OPT" or und.symbol.upper() not in sim.searched_symbols
            or exchange not in _opt_exchanges(und).split(";")):
        chain = []
    chain = [o for o in chain if o.month == month]
    return {"call": sorted({o.strike for o in chain if o.right == "C"}),
            "put": sorted({o.strike for o in chain if o.right == "P"})}


def info_entry(inst: Instrument) -> dict:
    """One ``secdef/info`` contract object."""
    out = {"companyName": inst.name, "conid": inst.conid, "currency": inst.currency,
           "exchange": "SMART" if "SMART" in inst.valid_exchanges else inst.exchange,
           "listingExchange": inst.exchange, "maturityDate": inst.expiry, "priceRendering": None,
           "right": inst.right or "?", "secType": inst.asset_class, "strike": float(inst.strike or 0.0),
           "ticker": inst.symbol, "validExchanges": inst.valid_exchanges}
    if inst.asset_class in ("OPT", "FUT"):
        out.update(symbol=inst.symbol, multiplier=f"{inst.multiplier:g}", tradingClass=inst.trading_class,
                   desc1=inst.symbol, desc2=_desc2(inst), cusip=None, coupon="No Coupon", showPrips=False)
    return out


@endpoints.route("GET", "/iserver/secdef/info")
async def secdef_info(sim, request):
    q = request.query_params
    idx = contract_index(sim.world)
    sectype = (q.get("sectype") or q.get("secType") or "").upper()
    if q.get("issuerId"):
        bonds = {b.conid: b for insts in idx.by_symbol.values() for b in insts
                 if b.asset_class == "BOND" and _issuer_id(b) == q["issuerId"]}
        return [info_entry(b) for b in bonds.values()]
    conid = parse_conid(q.get("conid"))
    inst = lookup(sim.world, conid) if conid is not None else None
    if inst is None:
        return error(500, f"Invalid conid: {q.get('conid')}", with_code=False)
    if sectype not in ("OPT", "FUT", "FOP", "WAR"):
        return info_entry(inst)
    month, right = (q.get("month") or "").upper(), (q.get("right") or "").upper()[:1]
    if inst.asset_class in ("OPT", "FUT") and not month:
        return [info_entry(inst)]
    und = _underlying(sim.world, inst)
    pool = idx.options.get(und.conid, []) if sectype == "OPT" else idx.futures.get(und.symbol, [])
    if sectype == "FUT" and und.asset_class not in ("IND", "FUT"):
        pool = []
    exchange = (q.get("exchange") or "").upper()
    strike = q.get("strike")
    try:
        strike_value = float(strike) if strike not in (None, "") else None
    except ValueError:
        return error(400, f"Bad Request: invalid strike {strike}")
    out = [c for c in pool
           if (not month or c.month == month) and (not right or c.right == right)
           and (strike_value is None or abs((c.strike or 0.0) - strike_value) < 1e-6)
           and (not exchange or exchange == c.exchange or exchange in c.valid_exchanges.split(","))]
    return [info_entry(c) for c in out]


# ---- trsrv ---------------------------------------------------------------------------------------------------------
def _symbols(request) -> list[str]:
    return [s.strip() for s in (request.query_params.get("symbols") or "").split(",") if s.strip()]


@endpoints.route("GET", "/trsrv/stocks", access="sso")
async def trsrv_stocks(sim, request):
    symbols = _symbols(request)
    if not symbols:
        return error(400, "Bad Request: symbols required")
    idx = contract_index(sim.world)
    out: dict[str, list[dict]] = {}
    for sym in symbols:
        by_name: dict[str, list[Instrument]] = {}
        for inst in idx.by_symbol.get(sym.upper(), []):
            if inst.asset_class == "STK":
                by_name.setdefault(inst.name, []).append(inst)
        out[sym] = [{"assetClass": "STK", "chineseName": "", "name": name,
                     "contracts": [{"conid": i.conid, "exchange": i.exchange, "isUS": i.country == "US"}
                                   for i in insts]} for name, insts in by_name.items()]
    return out


def _ltd(inst: Instrument) -> int:
    return int((dt.datetime.strptime(required(inst.expiry, "expiry"), "%Y%m%d") - dt.timedelta(days=1))
               .strftime("%Y%m%d"))


@endpoints.route("GET", "/trsrv/futures", access="sso")
async def trsrv_futures(sim, request):
    symbols = _symbols(request)
    if not symbols:
        return error(400, "Bad Request: symbols required")
    idx = contract_index(sim.world)
    today = int(sim.world.today.strftime("%Y%m%d"))
    exchange = (request.query_params.get("exchange") or "").upper()
    out: dict[str, list[dict]] = {}
    for sym in symbols:
        futs = [f for f in idx.futures.get(sym.upper(), [])
                if int(required(f.expiry, "expiry")) >= today and (not exchange or f.exchange == exchange)]
        out[sym] = [{"conid": f.conid, "expirationDate": int(required(f.expiry, "expiry")), "longFuturesCutOff": _ltd(f), "ltd": _ltd(f),
                     "shortFuturesCutOff": _ltd(f), "symbol": f.symbol, "underlyingConid": f.und_conid}
                    for f in futs]
    return out


def secdef_entry(world: World, inst: Instrument) -> dict:
    """One ``/trsrv/secdef`` entry."""
    idx = contract_index(world)
    und = _underlying(world, inst)
    cls = inst.asset_class
    kind = "ETF" if inst.group == "Equity Fund" else "COMMON"
    if cls == "FUT":
        kind = "COMMOD" if inst.symbol in ("CL", "GC") else "IND"
    elif cls == "BOND":
        kind = "CORP" if inst.sector != "Government" else "GOVT"
    digits = decimals(inst)
    return {
        "allExchanges": inst.valid_exchanges, "assetClass": cls, "chineseName": "", "conid": inst.conid,
        "countryCode": inst.country or "US", "currency": inst.currency,  # as in a position row
        "displayRule": {"displayRuleStep": [{"decimalDigits": digits, "lowerEdge": 0.0, "wholeDigits": 4}],
                        "magnification": 0},
        "expiry": inst.expiry if cls in ("OPT", "FUT", "BOND") else None, "fullName": full_name(inst),  # the same as a position row's
        "group": inst.group or und.group or SECTORS.get(cls, ""),
        "hasOptions": bool(idx.options.get(inst.conid)),
        "incrementRules": [{"increment": tick_size(inst), "lowerEdge": 0.0}],
        "isEventContract": False, "isUS": inst.country == "US",
        "lastTradingDay": str(_ltd(inst)) if cls == "FUT" else inst.expiry if cls == "OPT" else None,
        "listingExchange": inst.exchange, "multiplier": inst.multiplier if cls in ("OPT", "FUT", "BOND") else 0.0,
        "name": inst.name, "putOrCall": inst.right, "sector": inst.sector or und.sector or SECTORS.get(cls, ""),
        "sectorGroup": inst.group or und.group or SECTORS.get(cls, ""),
        "strike": f"{inst.strike or 0:g}", "ticker": inst.pair or inst.symbol, "time": 0,
        "type": TYPES.get(cls, kind), "undConid": inst.und_conid,
    }


@endpoints.route("GET", "/trsrv/secdef", access="sso")
async def trsrv_secdef(sim, request):
    raw = [c.strip() for c in (request.query_params.get("conids") or "").split(",") if c.strip()]
    if not raw:
        return error(400, "Bad Request: conids required")
    if len(raw) > MAX_SECDEF_CONIDS:
        return error(400, f"Bad Request: at most {MAX_SECDEF_CONIDS} conids per request")
    conids = [parse_conid(c) for c in raw]
    if None in conids:
        return error(400, "Bad Request: conids must be integers")
    found = [lookup(sim.world, c) for c in conids if c is not None]
    return {"secdef": [secdef_entry(sim.world, i) for i in found if i is not None]}


# ---- contract info -------------------------------------------------------------------------------------------------
@endpoints.route("GET", "/iserver/contract/{conid}/info")
async def contract_info(sim, request):
    conid = parse_conid(request.path_params["conid"])
    inst = lookup(sim.world, conid) if conid is not None else None
    if inst is None:
        return error(500, f"Invalid conid: {request.path_params['conid']}", with_code=False)
    cls = inst.asset_class
    derivative = cls in ("OPT", "FUT")
    smart = "SMART" in inst.valid_exchanges
    out = {
        "allow_sell_long": False, "cfi_code": "", "classifier": None, "company_name": inst.name,
        "con_id": inst.conid, "contract_clarification_type": None,
        # IBKR's own contract month (for CL it is the month after the expiry), not one derived from the expiry
        "contract_month": (inst.contract_month or required(inst.expiry, "expiry")[:6]) if derivative else None, "currency": inst.currency, "cusip": None,
        "exchange": "SMART" if smart else inst.exchange,
        "expiry_full": inst.expiry if derivative else None, "instrument_type": cls,
        "is_zero_commission_security": False, "local_symbol": inst.local_symbol,
        "maturity_date": inst.expiry if derivative or cls == "BOND" else None,
        "multiplier": f"{inst.multiplier:g}" if derivative else None, "r_t_h": cls == "STK",
        "smart_available": smart, "symbol": inst.symbol, "text": _desc2(inst) if derivative else None,
        "trading_class": inst.trading_class or inst.symbol, "underlying_con_id": inst.und_conid,
        "underlying_issuer": None, "valid_exchanges": inst.valid_exchanges,
    }
    if cls == "OPT":
        out.update(cfi_code=f"O{inst.right}XXXS", right="CALL" if inst.right == "C" else "PUT",
                   strike=f"{inst.strike:g}")
    elif not derivative:
        group = inst.group or SECTORS.get(cls, "")
        out.update(category=group, industry=group)
    return out
