"""The money definitions as text: one entry per figure the dashboard shows, for its help tooltip.

The formulas are the money definitions of ``docs/design.md``; the functions of :mod:`ibkr.analytics` implement
exactly these. The names and thresholds they share are in :mod:`ibkr.analytics.definitions`.
"""

from __future__ import annotations

HELP: dict[str, str] = {
    "market_value": "Market value in the instrument's currency as IBKR reports it: quantity x price x multiplier. "
    "For futures this is the notional, not an asset.",
    "fx_rate": "Units of the account's base currency per unit of the position's currency, from the account's ledger "
    "(`exchangerate`). Empty when the ledger has no rate for that currency: such rows are flagged, never dropped.",
    "market_value_base": "Market value x FX rate (native -> the account's base currency).",
    "price": "IBKR's mark price, rounded to the decimals the instrument is quoted in (stocks 2, JPY stocks 1, "
    "forex 5 or 3, bonds 3, ...); the CSV download has every digit IBKR sent.",
    "avg_price": "Rounded to two decimals more than Price. IBKR's average price per unit, in the same units as Price (per share, per option or future "
    "point, % of par for bonds); from avgPrice, else avgCost / multiplier.",
    "avg_cost": "IBKR's average cost per contract or share, multiplier included (avgCost): what one unit cost "
    "in currency.",
    "cost_basis": "Quantity x average cost (IBKR's avgCost already includes the multiplier); negative for shorts.",
    "unrealized_pnl": "Open P&L from IBKR's positions endpoint: market value - cost basis.",
    "unrealized_pnl_base": "Unrealised P&L x FX rate.",
    "unrealized_pnl_pct": "Unrealised P&L / |cost basis|: positive when a long rose or a short fell.",
    "realized_pnl": "Realised P&L of the position today, from IBKR's positions endpoint (native; x FX rate for base).",
    "net_liquidation": "Net liquidation value of the account (summary `netliquidation`, else ledger BASE "
    "`netliquidationvalue`), in base currency.",
    "daily_pnl": "P&L since the start of the trading day, from /iserver/account/pnl/partitioned (`dpl`), in base; "
                 "while the stream is live, from its spl rows as they change.",
    "position_daily_pnl": "The position's P&L since the start of the trading day: IBKR's market-data field 78 per "
                          "unit held (78 / 76, the reported account's position) x this position's quantity; the "
                          "largest positions stream, the rest are read by snapshot in the background. An "
                          "estimate where the accounts traded the instrument differently today (a trade's own P&L "
                          "is spread over every account's units); the Overview's daily P&L per account is IBKR's.",
    "market_value_long": "Sum of the positive market values in base currency; forex pairs and futures excluded "
    "(a pair's effect is in cash; a future adds only its P&L).",
    "market_value_short": "Sum of the negative market values in base currency (forex pairs and futures excluded).",
    "report_currency": "Consolidation currency. Rate(c -> report) = ledger[acct][c].exchangerate / "
    "ledger[acct][report].exchangerate when the report currency is in that account's ledger; otherwise it is "
    "chained through another account's ledger that holds both the account's base and the report currency.",
    "utilisation_initial": "Initial margin utilisation = initial margin requirement / equity with loan value.",
    "utilisation_maint": "Maintenance margin utilisation = maintenance margin requirement / equity with loan value.",
    "cushion": "Cushion = excess liquidity / net liquidation.",
    "excess_liquidity": "Excess liquidity = equity with loan value - maintenance requirement (IBKR's summary). "
    "Below zero IBKR may liquidate positions.",
    "available_funds": "Available funds = equity with loan value - initial requirement: what new positions can use.",
    "equity_with_loan": "Equity with loan value = net liquidation - the value of long options (no loan value).",
    "drop_to_margin_call": "Uniform fall of position value that would exhaust excess liquidity: with m = maintenance "
    "requirement / gross position value, d* = excess liquidity / (gross position value x (1 - m)). Empty when there "
    "are no positions (no fall can cause a call); 0 when excess liquidity is already negative.",
    "status": "ok below the warning threshold, warning from it (default 70 %), danger from the danger threshold "
    "(default 90 %) or when excess liquidity is negative; judged on maintenance utilisation, what IBKR liquidates "
    "on (initial utilisation only limits new positions and has its own status beside it).",
    "margin_total": "Total row: amounts summed across accounts in the report currency; ratios recomputed from the "
    "sums (not averaged).",
    "fx_exposure": "Net exposure to currency c, in c: market value of positions priced in c (forex pairs excluded, "
    "their effect is already in cash; futures by their unrealised P&L, not their notional) plus the ledger cash "
    "balance in c, negative (borrowed) balances included. In base currency: times the ledger exchange rate.",
    "exposure_long": "Sum of the positive parts (long positions, positive cash) of the exposure.",
    "exposure_short": "Sum of the negative parts (short positions, borrowed cash) of the exposure.",
    "pct_of_net_liquidation": "Exposure in base currency / net liquidation in base currency.",
    "is_base": "The base (or report) currency itself: it carries no FX risk and is left out of the sensitivity.",
    "fx_sensitivity": "Change of net liquidation if currency c moves by x (a fraction) against base: "
    "x x exposure_base(c).",
}
