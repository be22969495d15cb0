"""``/portfolio/{acct}/summary``: IBKR's 114 keys, money in ``amount`` and the rest as strings in ``value``."""

from __future__ import annotations

import time

from ibkr_sim.world import accounting
from ibkr_sim.world.world import Account, World

# Keys with -c/-s segment variants and an all-segment total (money, in ``amount``).
SEGMENTED = ["accruedcash", "accrueddividend", "availablefunds", "availabletotrade", "availabletowithdraw",
             "billable", "equitywithloanvalue", "excessliquidity", "fullavailablefunds", "fullexcessliquidity",
             "fullinitmarginreq", "fullmaintmarginreq", "guarantee", "indianstockhaircut", "initmarginreq",
             "lookaheadavailablefunds", "lookaheadexcessliquidity", "lookaheadinitmarginreq",
             "lookaheadmaintmarginreq", "maintmarginreq", "netliquidation", "pasharesvalue",
             "physicalcertificatevalue", "postexpirationexcess", "postexpirationmargin", "totalcashvalue",
             "totaldebitcardpendingcharges"]
# Money keys with only a total and a -s variant.
SECURITIES_ONLY = ["grosspositionvalue", "previousdayequitywithloanvalue", "regtequity", "regtmargin", "sma"]
TOTAL_ONLY = ["buyingpower", "netliquidationuncertainty"]
# Where a key's number comes from in accounting.margin().
SOURCE = {"availabletotrade": "availablefunds", "availabletowithdraw": "availablefunds",
          "fullavailablefunds": "availablefunds", "fullexcessliquidity": "excessliquidity",
          "fullinitmarginreq": "initmarginreq", "fullmaintmarginreq": "maintmarginreq",
          "lookaheadavailablefunds": "availablefunds", "lookaheadexcessliquidity": "excessliquidity",
          "lookaheadinitmarginreq": "initmarginreq", "lookaheadmaintmarginreq": "maintmarginreq",
          "postexpirationexcess": "excessliquidity", "postexpirationmargin": "maintmarginreq",
          "previousdayequitywithloanvalue": "equitywithloanvalue", "regtequity": "equitywithloanvalue",
          "regtmargin": "initmarginreq"}


def _money(amount: float, ccy: str, stamp: int) -> dict:
    return {"amount": round(amount, 2), "currency": ccy, "isNull": False, "severity": 0, "timestamp": stamp,
            "value": None}


def _text(value: str, stamp: int, currency: str | None = None) -> dict:
    return {"amount": 0.0, "currency": currency, "isNull": False, "severity": 0, "timestamp": stamp, "value": value}


def summary(world: World, acct: Account) -> dict:
    m = accounting.margin(world, acct)
    ccy = acct.base_currency
    stamp = int(time.time() * 1000)

    def get(key: str, seg: str = "") -> float:
        src = SOURCE.get(key, key) + seg
        return m.get(src, 0.0)

    out: dict[str, dict] = {}
    for key in SEGMENTED:
        for seg in ("", "-c", "-s"):
            out[key + seg] = _money(get(key, seg), ccy, stamp)
    for key in SECURITIES_ONLY:
        out[key] = _money(get(key), ccy, stamp)
        out[key + "-s"] = _money(get(key, "-s") if key + "-s" in m else get(key), ccy, stamp)
    for key in TOTAL_ONLY:
        out[key] = _money(get(key), ccy, stamp)
    leverage = m["grosspositionvalue"] / m["netliquidation"] if m["netliquidation"] else 0.0
    out.update({
        "accountcode": _text(acct.id, stamp), "accountready": _text("true", stamp),
        "accounttype": _text("LLC", stamp), "columnprio-c": _text("1", stamp), "columnprio-s": _text("0", stamp),
        "cushion": _text(f"{m['cushion']:.6f}", stamp),
        "daytradesremaining": _text("-1", stamp),
        **{f"daytradesremainingt+{i}": _text("-1", stamp) for i in range(1, 5)},
        "daytradingstatus-s": _text("NONE", stamp), "depositoncredithold": _text("false", stamp),
        "highestseverity": _text("0", stamp), "leverage-s": _text(f"{leverage:.2f}", stamp),
        "lookaheadnextchange": _text(str(int(time.time()) + 6 * 3600), stamp),
        "nlvandmargininreview": _text("false", stamp), "segmenttitle-c": _text("Commodities", stamp),
        "segmenttitle-s": _text("Securities", stamp), "tradingtype-s": _text("STKNOPT", stamp),
        "whatifpmenabled": _text("true", stamp),
    })
    return dict(sorted(out.items()))
