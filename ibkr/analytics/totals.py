"""Totals per account and consolidated: net liquidation, daily, unrealised and realised P&L, long/short value."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ibkr.analytics.definitions import FX_PAIR_ASSET_CLASS, PNL_ONLY_ASSET_CLASSES, TOTAL_LABEL
from ibkr.analytics.fx import base_net_liquidation, base_to_report, default_report_currency, resolve_base_currencies
from ibkr.models.balances import AccountSummary, Ledger, PartitionedPnl

AMOUNT_COLUMNS = ["net_liquidation", "cash", "daily_pnl", "unrealized_pnl", "realized_pnl",
                  "market_value_long", "market_value_short"]
TOTALS_COLUMNS = ["account", "base_currency", "positions", "fx_missing", *AMOUNT_COLUMNS,
                  "report_currency", "fx_to_report", *(f"{c}_report" for c in AMOUNT_COLUMNS)]


def _ordered_accounts(*sources: Mapping | pd.Index | list) -> list[str]:
    return list(dict.fromkeys(acct for source in sources for acct in source))


def account_totals(positions_df: pd.DataFrame, ledgers: Mapping[str, Ledger],
                   base_currency: Mapping[str, str | None], pnl: PartitionedPnl | None = None,
                   summaries: Mapping[str, AccountSummary] | None = None,
                   report_currency: str | None = None) -> pd.DataFrame:
    """One row per account plus a consolidated ``Total`` row (``TOTALS_COLUMNS``).

    In each account's base currency:

    - ``net_liquidation`` = summary ``netliquidation``, else ledger ``BASE.netliquidationvalue``, else the P&L
      row's ``nl``; ``cash`` = ledger ``BASE.cashbalance``.
    - ``daily_pnl`` = ``dpl`` of the account's row of ``/iserver/account/pnl/partitioned`` (NaN without it).
    - ``unrealized_pnl``, ``realized_pnl`` = sums of the positions' ``*_base`` columns (0 for an empty account).
    - ``market_value_long`` / ``_short`` = sums of positive / negative ``market_value_base``, forex pairs and
      futures excluded (a pair's effect is already in cash; a future adds only its P&L to net liquidation).
    - ``positions``: the number of positions; ``fx_missing``: how many of them had no FX rate (their amounts are
      missing from the sums).

    ``*_report`` = the same x ``fx_to_report`` (base -> ``report_currency``, default the first account's base; see
    :func:`ibkr.analytics.fx.base_to_report`). The ``Total`` row sums the ``*_report`` columns; its base-currency
    columns are sums too when every account has the same base currency, otherwise NaN.
    """
    bases = resolve_base_currencies(ledgers, base_currency)
    report = report_currency or default_report_currency(bases)
    summaries = summaries or {}
    by_acct = positions_df.groupby("account", sort=False)
    accounts = _ordered_accounts(base_currency, ledgers, summaries, by_acct.groups.keys())
    frame = pd.DataFrame(index=pd.Index(accounts, name="account"))
    frame["base_currency"] = pd.Series(bases, dtype=object)
    frame["positions"] = by_acct.size().reindex(accounts, fill_value=0)
    frame["fx_missing"] = by_acct["fx_missing"].sum().reindex(accounts, fill_value=0).astype(int)

    nlv = pd.Series({a: s.net_liquidation for a, s in summaries.items()}, dtype=float).reindex(accounts)
    nlv = nlv.fillna(base_net_liquidation(ledgers).reindex(accounts))
    rows = {a: (pnl.for_account(a) if pnl else None) for a in accounts}
    pnl_nl = pd.Series({a: r.net_liquidation if r else None for a, r in rows.items()}, dtype=float)
    frame["net_liquidation"] = nlv.fillna(pnl_nl)
    base_rows = {a: ledgers[a].base if a in ledgers else None for a in accounts}
    frame["cash"] = pd.Series({a: row.cash_balance if row else None for a, row in base_rows.items()}, dtype=float)
    frame["daily_pnl"] = pd.Series({a: r.daily_pnl if r else None for a, r in rows.items()}, dtype=float)
    frame["unrealized_pnl"] = by_acct["unrealized_pnl_base"].sum().reindex(accounts, fill_value=0.0)
    frame["realized_pnl"] = by_acct["realized_pnl_base"].sum().reindex(accounts, fill_value=0.0)
    valued = positions_df[~positions_df["asset_class"].isin([FX_PAIR_ASSET_CLASS, *PNL_ONLY_ASSET_CLASSES])]
    mv = valued["market_value_base"]
    frame["market_value_long"] = mv.where(mv > 0, 0.0).groupby(valued["account"]).sum().reindex(accounts,
                                                                                                 fill_value=0.0)
    frame["market_value_short"] = mv.where(mv < 0, 0.0).groupby(valued["account"]).sum().reindex(accounts,
                                                                                                  fill_value=0.0)
    frame["report_currency"] = report
    frame["fx_to_report"] = base_to_report(ledgers, bases, report, accounts) if report else np.nan
    for col in AMOUNT_COLUMNS:
        frame[f"{col}_report"] = frame[col] * frame["fx_to_report"]

    total = {col: frame[f"{col}_report"].sum(min_count=1) for col in AMOUNT_COLUMNS}
    total = {f"{col}_report": value for col, value in total.items()}
    same_base = frame["base_currency"].nunique(dropna=False) == 1 and len(frame) > 0
    for col in AMOUNT_COLUMNS:
        total[col] = frame[col].sum(min_count=1) if same_base else np.nan
    total.update(base_currency=frame["base_currency"].iloc[0] if same_base else None,
                 positions=int(frame["positions"].sum()), fx_missing=int(frame["fx_missing"].sum()),
                 report_currency=report, fx_to_report=np.nan)
    frame.loc[TOTAL_LABEL] = pd.Series(total)
    frame = frame.reset_index()
    frame[["positions", "fx_missing"]] = frame[["positions", "fx_missing"]].astype(int)
    return frame[TOTALS_COLUMNS]
