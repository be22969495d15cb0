"""The dashboard's figures worked out from the simulator's truth (``GET /sim/state``), independently of the client
and of ``ibkr.analytics``: docs/design.md's money definitions applied to plain dicts.

``fx_rates[c]`` of an account is the value of one unit of ``c`` in that account's base currency, so a base amount
converts to the report currency ``R`` as ``amount / fx_rates[R]``.
"""

from __future__ import annotations

from collections import defaultdict


def accounts(state: dict, only: list[str] | None = None) -> list[dict]:
    return [a for a in state["accounts"] if only is None or a["id"] in only]


def to_report(acct: dict, report: str) -> float:
    """Units of the report currency per unit of the account's base currency."""
    return 1.0 / acct["fx_rates"][report]


def net_liquidation(acct: dict) -> float:
    """Base currency: cash in every currency plus what each position adds (futures their P&L, pairs nothing)."""
    fx = acct["fx_rates"]
    return (sum(v * fx[c] for c, v in acct["cash"].items())
            + sum(p["netliq_value"] * fx[p["currency"]] for p in acct["positions"]))


def equity_with_loan(acct: dict) -> float:
    """Net liquidation less the value of long options (they have no loan value)."""
    fx = acct["fx_rates"]
    long_options = sum(p["market_value"] * fx[p["currency"]] for p in acct["positions"]
                       if p["asset_class"] == "OPT" and p["position"] > 0)
    return net_liquidation(acct) - long_options


def unrealized_pnl(acct: dict) -> float:
    fx = acct["fx_rates"]
    return sum(p["unrealized_pnl"] * fx[p["currency"]] for p in acct["positions"])


def position_count(state: dict, only: list[str] | None = None, currency: str | None = None) -> int:
    return sum(1 for a in accounts(state, only) for p in a["positions"] if currency in (None, p["currency"]))


def market_value(state: dict, report: str, only: list[str] | None = None, currency: str | None = None) -> float:
    """Sum of the positions' market values (futures at notional, as IBKR's mktValue) in the report currency."""
    return sum(p["market_value"] * a["fx_rates"][p["currency"]] * to_report(a, report)
               for a in accounts(state, only) for p in a["positions"] if currency in (None, p["currency"]))


def fx_exposure(state: dict, report: str, only: list[str] | None = None) -> dict[str, dict[str, float]]:
    """Per currency ``c``: ``native`` = positions priced in c (what they add to net liquidation: pairs 0,
    futures their P&L) + the cash balance in c, borrowed cash included; ``report`` = native in the report
    currency; ``short`` = the negative parts in the report currency."""
    out: dict[str, dict[str, float]] = defaultdict(lambda: {"native": 0.0, "report": 0.0, "short": 0.0})
    for a in accounts(state, only):
        parts = [(p["currency"], p["netliq_value"]) for p in a["positions"] if p["asset_class"] != "CASH"]
        parts += [(c, v) for c, v in a["cash"].items() if v]
        for ccy, native in parts:
            in_report = native * a["fx_rates"][ccy] * to_report(a, report)
            row = out[ccy]
            row["native"] += native
            row["report"] += in_report
            row["short"] += min(in_report, 0.0)
    return dict(out)


def margin(state: dict, summaries: dict[str, dict], report: str) -> dict[str, dict[str, float]]:
    """Utilisation per account and ``Total``: requirement (IBKR's summary, the one figure /sim/state does not
    carry) over equity with loan value worked out from the state; totals from sums in the report currency."""
    out: dict[str, dict[str, float]] = {}
    sums = defaultdict(float)
    for a in state["accounts"]:
        s = summaries[a["id"]]
        elv, k = equity_with_loan(a), to_report(a, report)
        init, maint = s["initmarginreq"]["amount"], s["maintmarginreq"]["amount"]
        out[a["id"]] = {"initial": init / elv, "maint": maint / elv, "elv": elv}
        sums["init"] += init * k
        sums["maint"] += maint * k
        sums["elv"] += elv * k
    out["Total"] = {"initial": sums["init"] / sums["elv"], "maint": sums["maint"] / sums["elv"], "elv": sums["elv"]}
    return out
