"""Net FX exposure per currency (positions plus cash), its asset-class breakdown and its sensitivity."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ibkr.analytics.definitions import CASH_BALANCE_LABEL, FX_PAIR_ASSET_CLASS
from ibkr.analytics.fx import (
    base_net_liquidation,
    base_to_report,
    default_report_currency,
    fx_table,
    ledger_frame,
    resolve_base_currencies,
)
from ibkr.models.balances import Ledger

PARTS = ["positions", "cash", "exposure", "long", "short"]
EXPOSURE_COLUMNS = ["currency", "is_base", *(f"{p}_native" for p in PARTS), "fx_rate", "base_currency",
                    *(f"{p}_base" for p in PARTS), "pct_of_net_liquidation", "missing"]
BREAKDOWN_COLUMNS = ["currency", "asset_class", "side", "is_base", "exposure_native", "exposure_base",
                     "abs_exposure_base"]
SENSITIVITY_COLUMNS = ["currency", "move", "exposure_base", "nlv_change", "nlv_change_pct"]


def _components(positions_df: pd.DataFrame, ledgers: Mapping[str, Ledger], bases: dict[str, str],
                report: str) -> tuple[pd.DataFrame, list[str]]:
    """One row per exposure component: each position (forex pairs left out) and each non-zero ledger cash balance.

    Columns ``account, currency, asset_class, source, native, rate`` where ``rate`` is native -> report.
    """
    pos = positions_df[positions_df["asset_class"] != FX_PAIR_ASSET_CLASS]
    cash = ledger_frame(ledgers)
    cash = cash[cash["cash_balance"].fillna(0.0) != 0.0]
    is_base = cash["currency"] == cash["account"].map(bases)
    base_rate = cash["exchange_rate"].mask(cash["exchange_rate"].isna() & is_base, 1.0)
    comps = pd.concat([
        pd.DataFrame({"account": pos["account"], "currency": pos["currency"], "asset_class": pos["asset_class"],
                      "source": "position", "native": pos["exposure"], "fx_rate": pos["fx_rate"]}),
        pd.DataFrame({"account": cash["account"], "currency": cash["currency"], "asset_class": CASH_BALANCE_LABEL,
                      "source": "cash", "native": cash["cash_balance"], "fx_rate": base_rate}),
    ], ignore_index=True)
    accounts = list(dict.fromkeys([*ledgers, *comps["account"].unique()]))
    to_report = base_to_report(ledgers, bases, report, accounts)
    comps["rate"] = comps["fx_rate"].astype(float) * comps["account"].map(to_report).astype(float)
    comps["base"] = comps["native"].astype(float) * comps["rate"]
    return comps, accounts


def _net_liquidation(ledgers: Mapping[str, Ledger], bases: dict[str, str], report: str, comps: pd.DataFrame,
                     accounts: list[str]) -> float:
    """Sum over accounts of ledger ``BASE.netliquidationvalue`` x (base -> report); an account without it counts
    as the sum of its components."""
    to_report = base_to_report(ledgers, bases, report, accounts)
    per_account = base_net_liquidation(ledgers).reindex(accounts) * to_report
    fallback = comps.groupby("account")["base"].sum().reindex(accounts)
    return float(per_account.fillna(fallback).sum(min_count=1))


def fx_exposure(positions_df: pd.DataFrame, ledgers: Mapping[str, Ledger], base_currency: Mapping[str, str | None],
                report_currency: str | None = None) -> pd.DataFrame:
    """Net exposure per currency (``EXPOSURE_COLUMNS``), largest first.

    For currency ``c``, in ``c`` (``*_native``):

    - ``positions`` = sum of the ``exposure`` column of positions priced in ``c``: their market value, except that
      forex pairs (asset class ``CASH``, e.g. ``EUR.USD``) are left out because their effect is already in the cash
      balances, and **futures count by their unrealised P&L, not their notional**: the notional is not an asset,
      only the P&L is owed or receivable.
    - ``cash`` = the ledger cash balance in ``c``, negative (borrowed) balances included.
    - ``exposure`` = positions + cash; ``long`` / ``short`` = the sum of the positive / negative parts (each
      position and each cash balance is one part), so a borrowed currency shows as a short.

    ``*_base`` = native x ``fx_rate`` (units of ``base_currency`` per unit of ``c``). "Base" is the account's base
    currency for one account; for several accounts it is ``report_currency`` (default: the first account's base),
    and every account converts through its own ledger (``ledger[c] / ledger[report]``, see
    :func:`ibkr.analytics.fx.base_to_report`). ``pct_of_net_liquidation`` = exposure_base / net liquidation (ledger
    ``BASE``, summed in the report currency). ``is_base``: the base currency itself, which carries no FX risk.
    ``missing``: parts without a value or an FX rate (left out of the ``*_base`` sums, never silently).

    Pass only the ledgers of the accounts in scope (and their positions). ``frame.attrs["net_liquidation"]`` holds
    the denominator.
    """
    bases = resolve_base_currencies(ledgers, base_currency)
    report = report_currency or default_report_currency(bases) or ""
    comps, accounts = _components(positions_df, ledgers, bases, report)
    native, base = comps["native"], comps["base"]
    parts = pd.DataFrame({
        "currency": comps["currency"],
        "positions_native": native.where(comps["source"] == "position", 0.0),
        "cash_native": native.where(comps["source"] == "cash", 0.0),
        "exposure_native": native,
        "long_native": native.where(native > 0, 0.0), "short_native": native.where(native < 0, 0.0),
        "positions_base": base.where(comps["source"] == "position", 0.0),
        "cash_base": base.where(comps["source"] == "cash", 0.0),
        "exposure_base": base,
        "long_base": base.where(native > 0, 0.0), "short_base": base.where(native < 0, 0.0),
        "missing": base.isna().astype(int),
    })
    frame = parts.groupby("currency", dropna=False, sort=False).sum(min_count=1).reset_index()
    frame["missing"] = frame["missing"].astype(int)
    nlv = _net_liquidation(ledgers, bases, report, comps, accounts)
    frame["fx_rate"] = frame["currency"].map(fx_table(ledgers, bases, report)["rate"]).astype(float)
    frame["base_currency"] = report
    frame["is_base"] = frame["currency"] == report
    frame["pct_of_net_liquidation"] = frame["exposure_base"] / nlv if nlv else np.nan
    order = frame["exposure_base"].abs().sort_values(ascending=False, na_position="last").index
    frame = frame.loc[order, EXPOSURE_COLUMNS].reset_index(drop=True)
    frame.attrs.update(base_currency=report, net_liquidation=nlv)
    return frame


def fx_exposure_by_asset_class(positions_df: pd.DataFrame, ledgers: Mapping[str, Ledger],
                               base_currency: Mapping[str, str | None],
                               report_currency: str | None = None) -> pd.DataFrame:
    """The exposure of :func:`fx_exposure` split by currency -> asset class -> side (``BREAKDOWN_COLUMNS``).

    Same parts and rules (forex pairs out, futures by P&L); cash balances are the asset class ``"Cash balance"``.
    ``side`` is ``long`` for positive parts and ``short`` for negative ones, so each row has one sign and
    ``abs_exposure_base`` can size a treemap or sunburst.
    """
    bases = resolve_base_currencies(ledgers, base_currency)
    report = report_currency or default_report_currency(bases) or ""
    comps, _ = _components(positions_df, ledgers, bases, report)
    comps["side"] = np.where(comps["native"] < 0, "short", "long")
    comps["exposure_native"], comps["exposure_base"] = comps["native"], comps["base"]
    keys = ["currency", "asset_class", "side"]
    frame = comps.groupby(keys, dropna=False)[["exposure_native", "exposure_base"]].sum(min_count=1).reset_index()
    frame["abs_exposure_base"] = frame["exposure_base"].abs()
    frame["is_base"] = frame["currency"] == report
    return frame[BREAKDOWN_COLUMNS]


def fx_sensitivity(exposure: pd.DataFrame, moves: float | Mapping[str, float]) -> pd.DataFrame:
    """Change of net liquidation if currency ``c`` moves by ``x`` (a fraction: 0.05 = +5 %) against base.

    ``nlv_change = x * exposure_base(c)``; ``nlv_change_pct = x * pct_of_net_liquidation(c)``. ``moves`` is one
    fraction for every non-base currency, or a mapping currency -> fraction (currencies without exposure give 0).
    The base currency carries no FX risk and is never in the result (asking to move it is a ``ValueError``).
    ``result["nlv_change"].sum()`` is the effect of all the moves together.
    """
    table = exposure.set_index("currency")
    base = set(table.index[table["is_base"]])
    if isinstance(moves, Mapping):
        if base & set(moves):
            raise ValueError(f"{', '.join(sorted(base & set(moves)))} is the base currency: it cannot move "
                             "against itself; pick another currency.")
        move = pd.Series(dict(moves), dtype=float)
    else:
        move = pd.Series(float(moves), index=table.index[~table["is_base"]], dtype=float)
    move.index.name = "currency"
    exp = table["exposure_base"].reindex(move.index).fillna(0.0)
    pct = table["pct_of_net_liquidation"].reindex(move.index).fillna(0.0)
    frame = pd.DataFrame({"move": move, "exposure_base": exp, "nlv_change": move * exp, "nlv_change_pct": move * pct})
    return frame.reset_index()[SENSITIVITY_COLUMNS]
