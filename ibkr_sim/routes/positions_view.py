"""IBKR's position objects (``/portfolio/{acct}/positions/{page}``, ``/portfolio2``, per-conid views)."""

from __future__ import annotations

import time

from ibkr_sim.world.instruments import Instrument, required, tick_size
from ibkr_sim.world.world import Holding, World

PAGE_SIZE = 100
EXCHANGES = {"STK": "SMART,AMEX,NYSE,CBOE,PHLX,ARCA,ISLAND,BATS,IEX,EDGX,MEMX,PEARL",
             "OPT": "AMEX,CBOE,PHLX,PSE,ISE,BOX,BATS,NASDAQOM,CBOE2,MIAX,GEMINI,EDGX,PEARL,EMERALD,MEMX"}
TYPES = {"STK": "COMMON", "BOND": "CORP", "FUT": "", "OPT": "", "CASH": "", "CRYPTO": ""}


def _display_rule(inst: Instrument) -> dict:
    digits = 5 if inst.asset_class == "CASH" else 4 if inst.asset_class == "BOND" else 2
    return {"displayRuleStep": [{"decimalDigits": digits, "lowerEdge": 0.0, "wholeDigits": 6}], "magnification": 0}


def contract_desc(inst: Instrument) -> str:
    if inst.asset_class == "OPT":
        return f"{inst.symbol:<6} {inst.month} {inst.strike:g} {inst.right} [{inst.local_symbol} 100]"
    if inst.asset_class == "FUT":
        return f"{inst.symbol} {inst.month}"
    return inst.description or inst.symbol


def position_item(world: World, acct_id: str, h: Holding, page_size: int = PAGE_SIZE) -> dict:
    """One element of ``/portfolio/{acct}/positions/{page}`` with every key of IBKR's example."""
    inst = world.instruments[h.conid]
    cls = inst.asset_class
    is_deriv = cls in ("OPT", "FUT")
    shown_mult = inst.multiplier if cls in ("OPT", "FUT", "BOND") else 0.0
    item = {
        "acctId": acct_id, "allExchanges": EXCHANGES.get(cls, inst.valid_exchanges),
        "assetClass": cls, "avgCost": h.avg_price * inst.multiplier, "avgPrice": h.avg_price,
        "chineseName": inst.name, "conExchMap": [], "conid": inst.conid, "contractDesc": contract_desc(inst),
        "countryCode": inst.country or "US", "currency": inst.currency, "displayRule": _display_rule(inst),
        "exchs": None, "exerciseStyle": "A" if cls == "OPT" else None, "expiry": inst.expiry if is_deriv or cls == "BOND" else None,
        "fullName": full_name(inst), "group": inst.group, "hasOptions": cls == "STK" and inst.conid < 900_000_000,
        "incrementRules": [{"increment": tick_size(inst), "lowerEdge": 0.0}], "isEventContract": False,
        "isUS": inst.country == "US", "lastTradingDay": inst.expiry if is_deriv else None,
        "listingExchange": inst.exchange, "mktPrice": inst.price, "mktValue": round(world.market_value(h), 2),
        "model": "", "multiplier": shown_mult, "name": inst.name, "pageSize": page_size,
        "position": h.position, "putOrCall": inst.right, "realizedPnl": h.realized_pnl,
        "sector": inst.sector, "sectorGroup": inst.group, "strike": f"{inst.strike:g}" if inst.strike else "0",
        "ticker": inst.pair or inst.symbol, "time": 12, "type": TYPES.get(cls, ""), "undConid": inst.und_conid,
        "unrealizedPnl": round(world.unrealized_pnl(h), 2),
    }
    if cls == "OPT":
        und = world.instruments[inst.und_conid]
        item.update(crossCurrency=False, undComp=und.name, undSym=und.symbol)
    return item


SECDEF_KEPT = ("acctId", "assetClass", "avgCost", "avgPrice", "conExchMap", "conid", "contractDesc", "currency",
               "exchs", "mktPrice", "mktValue", "model", "position", "realizedPnl", "unrealizedPnl")
"""What a position row keeps without its security definition: the keys of IBKR's no-secDef example (spec,
``individualPositionWithNoSecDef``); the rest are absent or empty as there (``multiplier`` null, ``strike`` 0)."""


def without_secdef(item: dict) -> dict:
    """A row as IBKR sends it before the security definition is loaded (IBKR's spec: "If false, position may
    not have secDef portion"; ibind #6: rows "sometimes" come with 41 or 21 fields)."""
    out = {k: item[k] for k in SECDEF_KEPT if k in item}
    out.update(exerciseStyle=None, expiry=None, multiplier=None, putOrCall=None, strike=0.0, undConid=0)
    return out


def lacks_secdef(conid: int) -> bool:
    """The rows the simulator sends without their definition (a deterministic quarter of the contracts)."""
    return conid % 4 == 0


def full_name(inst: Instrument) -> str:
    """IBKR's ``fullName``: ``META Jun21'24 330 Put`` (its spec's examples), ``ES DEC26``, ``EUR.USD``."""
    if inst.asset_class == "OPT":
        exp = required(inst.expiry, "expiry")
        months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return f"{inst.symbol} {months[int(exp[4:6]) - 1]}{exp[6:]}'{exp[2:4]} {inst.strike:g} " + \
            ("Call" if inst.right == "C" else "Put")
    if inst.asset_class == "FUT":
        return f"{inst.symbol} {inst.month}"
    return inst.pair or inst.symbol


def position2_item(world: World, h: Holding) -> dict:
    """One element of ``/portfolio2/{acct}/positions`` (its own field names; conid as a string)."""
    inst = world.instruments[h.conid]
    return {
        "assetClass": inst.asset_class, "avgCost": h.avg_price * inst.multiplier, "avgPrice": h.avg_price,
        "conid": str(inst.conid), "currency": inst.currency, "description": contract_desc(inst),  # the paged rows' contractDesc
        "group": inst.group or "", "isLastToLoq": False, "marketPrice": inst.price,
        "marketValue": round(world.market_value(h), 2), "model": "", "position": h.position,
        "realizedPnl": h.realized_pnl, "secType": inst.asset_class, "sector": inst.sector or "",
        "timestamp": int(time.time()), "unrealizedPnl": round(world.unrealized_pnl(h), 2),
    }


def sort_key(world: World, field: str):
    """Sort keys of the positions endpoint's ``sort`` parameter."""

    def key(h: Holding):
        inst = world.instruments[h.conid]
        if field in ("mktValue", "marketValue"):
            return world.market_value(h)
        if field in ("unrealizedPnl",):
            return world.unrealized_pnl(h)
        if field in ("position",):
            return h.position
        if field in ("assetClass",):
            return (inst.asset_class, contract_desc(inst))
        return (contract_desc(inst), inst.conid)

    return key
