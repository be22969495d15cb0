"""Balances, margin and P&L of a simulated account, computed from the world the way IBKR defines them.

Margin follows documented per-asset-class rates (a Reg T style model):

| class  | initial                          | maintenance                      |
|--------|----------------------------------|----------------------------------|
| STK    | 50 % long, 50 % short of |value| | 25 % long, 30 % short            |
| OPT    | long 0; short |value| + 20 % of underlying notional | short |value| + 15 % |
| FUT    | 8 % of notional                  | 6.5 % of notional                |
| CASH   | 3 % of |notional| (forex pairs)  | 2.5 %                            |
| BOND   | 10 % of |value|                  | 8 %                              |
| CRYPTO | 100 % of |value|                 | 100 %                            |

Equity with loan value = net liquidation - value of long options (they have no loan value);
excess liquidity = ELV - maintenance; available funds = ELV - initial; buying power = 4 x available funds;
cushion = excess liquidity / net liquidation; SMA = ELV - 50 % of gross stock value.
Futures add only their open P&L to net liquidation; forex pairs add nothing (their effect is in cash).
"""

from __future__ import annotations

import time

from ibkr_sim.world.world import Account, World

INITIAL = {"STK": (0.50, 0.50), "FUT": (0.08, 0.08), "CASH": (0.03, 0.03), "BOND": (0.10, 0.10),
           "CRYPTO": (1.0, 1.0)}
MAINT = {"STK": (0.25, 0.30), "FUT": (0.065, 0.065), "CASH": (0.025, 0.025), "BOND": (0.08, 0.08),
         "CRYPTO": (1.0, 1.0)}
SHORT_OPT_UNDERLYING = (0.20, 0.15)
LEDGER_FIELDS = {"STK": "stockmarketvalue", "OPT": "stockoptionmarketvalue", "FUT": "futuremarketvalue",
                 "BOND": "corporatebondsmarketvalue", "CRYPTO": "cryptocurrencyvalue"}
ZERO_LEDGER_FIELDS = ("cashbalancefxsegment", "commoditymarketvalue", "dividends", "funds", "futureoptionmarketvalue",
                      "issueroptionsmarketvalue", "moneyfunds", "tbillsmarketvalue", "tbondsmarketvalue",
                      "warrantsmarketvalue")


def ledger(world: World, acct: Account) -> dict[str, dict]:
    """``/portfolio/{acct}/ledger``: one entry per currency plus ``BASE``, whose every amount is the sum of the
    currency entries at their exchange rates."""
    world.catch_up()
    stamp = int(time.time())
    ccys = sorted(set(acct.cash) | {world.instruments[c].currency for c in acct.holdings}
                  | ({acct.base_currency}))
    entries: dict[str, dict] = {}
    for ccy in ccys:
        e = {k: 0.0 for k in ZERO_LEDGER_FIELDS}
        e.update({f: 0.0 for f in LEDGER_FIELDS.values()})
        upnl = rpnl = fut_pnl = 0.0
        for h in acct.holdings.values():
            inst = world.instruments[h.conid]
            if inst.currency != ccy:
                continue
            upnl += world.unrealized_pnl(h)
            rpnl += h.realized_pnl
            if inst.asset_class in LEDGER_FIELDS:
                e[LEDGER_FIELDS[inst.asset_class]] += world.netliq_value(h)
            if inst.asset_class == "FUT":
                fut_pnl += world.unrealized_pnl(h)
        cash = acct.cash.get(ccy, 0.0)
        e = {k: round(v, 2) for k, v in e.items()}
        e.update(cashbalance=round(cash, 2), settledcash=round(cash, 2), unrealizedpnl=round(upnl, 2),
                 realizedpnl=round(rpnl, 2), futuresonlypnl=round(fut_pnl, 2), interest=0.0)
        e["netliquidationvalue"] = round(e["cashbalance"] + sum(e[f] for f in LEDGER_FIELDS.values()), 2)
        e["exchangerate"] = world.rate(ccy, acct.base_currency)
        entries[ccy] = e
    base = {k: round(sum(e[k] * e["exchangerate"] for e in entries.values()), 2)
            for k in entries[acct.base_currency] if k != "exchangerate"}
    base["exchangerate"] = 1
    entries["BASE"] = base
    out = {}
    for ccy, e in entries.items():
        out[ccy] = {"acctcode": acct.id, "currency": ccy, "key": "LedgerList", "secondkey": ccy, "sessionid": 1,
                    "severity": 0, "timestamp": stamp, **dict(sorted(e.items()))}
    out[sorted(k for k in out if k != "BASE")[-1]]["endofbundle"] = 1
    return dict(sorted(out.items()))


def margin(world: World, acct: Account) -> dict[str, float]:
    """Every balance and requirement of an account in its base currency, split into securities (-s) and
    commodities (-c, futures) segments."""
    world.catch_up()
    led = ledger(world, acct)
    nlv = led["BASE"]["netliquidationvalue"]
    cash = led["BASE"]["cashbalance"]
    init_s = init_c = maint_s = maint_c = 0.0
    gross = long_opt = gross_stock = fut_pnl = 0.0
    for h in acct.holdings.values():
        inst = world.instruments[h.conid]
        fx = world.rate(inst.currency, acct.base_currency)
        value = world.market_value(h) * fx
        side = 0 if h.position > 0 else 1
        cls = inst.asset_class
        if cls == "OPT":
            if h.position > 0:
                long_opt += value
            else:
                und = world.instruments[inst.und_conid]
                notional = abs(h.position) * und.price * inst.multiplier * fx
                init_s += abs(value) + SHORT_OPT_UNDERLYING[0] * notional
                maint_s += abs(value) + SHORT_OPT_UNDERLYING[1] * notional
            gross += abs(value)
        elif cls == "FUT":
            init_c += INITIAL[cls][side] * abs(value)
            maint_c += MAINT[cls][side] * abs(value)
            fut_pnl += world.unrealized_pnl(h) * fx
        else:
            init_s += INITIAL[cls][side] * abs(value)
            maint_s += MAINT[cls][side] * abs(value)
            if cls != "CASH":
                gross += abs(value)
            if cls == "STK":
                gross_stock += abs(value)
    elv = nlv - long_opt
    # Segments: futures P&L lives in the commodities segment, everything else in securities.
    nlv_c = fut_pnl
    nlv_s = nlv - nlv_c
    elv_c, elv_s = nlv_c, elv - nlv_c
    m = {
        "netliquidation": (nlv_c, nlv_s), "equitywithloanvalue": (elv_c, elv_s),
        "initmarginreq": (init_c, init_s), "maintmarginreq": (maint_c, maint_s),
        "totalcashvalue": (0.0, cash), "grosspositionvalue": (0.0, gross),
    }
    m["excessliquidity"] = tuple(e - r for e, r in zip(m["equitywithloanvalue"], m["maintmarginreq"], strict=True))
    m["availablefunds"] = tuple(e - r for e, r in zip(m["equitywithloanvalue"], m["initmarginreq"], strict=True))
    flat = {k: round(c + s, 2) for k, (c, s) in m.items()}
    segments = {f"{k}-c": round(c, 2) for k, (c, _) in m.items()} | {f"{k}-s": round(s, 2) for k, (_, s) in m.items()}
    flat.update(segments)
    flat["buyingpower"] = round(4 * flat["availablefunds"], 2)
    flat["sma"] = round(flat["equitywithloanvalue"] - 0.5 * gross_stock, 2)
    flat["cushion"] = flat["excessliquidity"] / flat["netliquidation"] if flat["netliquidation"] else 0.0
    flat["long_option_value"] = round(long_opt, 2)
    return flat


def daily_pnl(world: World, acct: Account) -> float:
    """P&L since the simulator's start of day, in base currency."""
    total = 0.0
    for h in acct.holdings.values():
        inst = world.instruments[h.conid]
        move = (inst.price - world.open_price.get(inst.conid, inst.price)) * h.position * inst.multiplier
        total += move * world.rate(inst.currency, acct.base_currency)
    return round(total, 2)


NEAR_MARGIN = 0.74
"""Maintenance utilisation of the demo world's last account: above the dashboard's 70 % warning, below danger, so
the margin features (status, alerts, drop to call, the ticket's margin limit) have something to show."""


def bring_near_margin(world: World, acct: Account, utilisation: float = NEAR_MARGIN) -> None:
    """Lower (or raise) the account's base cash so its maintenance requirement is ``utilisation`` of its equity
    with loan value. Cash carries no margin here, so the requirement stays and only the equity moves."""
    m = margin(world, acct)
    elv, maint = m["equitywithloanvalue"], m["maintmarginreq"]
    if maint <= 0:
        return
    acct.cash[acct.base_currency] = round(acct.cash.get(acct.base_currency, 0.0) + maint / utilisation - elv, 2)


def pnl_rows(world: World) -> dict[str, dict[str, float | int]]:
    """Daily P&L per account as IBKR partitions it, keyed ``"<account>.Core"``: ``rowType``, ``dpl`` (daily P&L),
    ``nl`` (net liquidation), ``upl`` (unrealised P&L), ``el`` and ``uel`` (excess liquidity, rounded and not),
    ``mv`` (gross position value), all in base currency. ``/iserver/account/pnl/partitioned`` and the ``spl``
    websocket topic both serve these rows."""
    rows: dict[str, dict[str, float | int]] = {}
    for acct in world.accounts.values():
        m = margin(world, acct)
        upl = sum(world.unrealized_pnl(h) * world.rate(world.instruments[h.conid].currency, acct.base_currency)
                  for h in acct.holdings.values())
        rows[f"{acct.id}.Core"] = {
            "rowType": 1, "dpl": daily_pnl(world, acct), "nl": m["netliquidation"], "upl": round(upl, 2),
            "el": m["excessliquidity"], "uel": m["excessliquidity"], "mv": m["grosspositionvalue"],
        }
    return rows
