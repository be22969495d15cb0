"""Margin per account and in total: requirements, utilisation, cushion, drop to margin call, a status."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ibkr.analytics.definitions import (
    DEFAULT_DANGER,
    DEFAULT_WARNING,
    STATUS_DANGER,
    STATUS_OK,
    STATUS_UNKNOWN,
    STATUS_WARNING,
    TOTAL_LABEL,
)
from ibkr.analytics.fx import base_to_report, default_report_currency, resolve_base_currencies
from ibkr.models.balances import AccountSummary, Ledger

# frame column -> AccountSummary attribute
MARGIN_AMOUNTS = {
    "net_liquidation": "net_liquidation", "equity_with_loan": "equity_with_loan_value",
    "init_margin": "init_margin_req", "maint_margin": "maint_margin_req", "excess_liquidity": "excess_liquidity",
    "available_funds": "available_funds", "buying_power": "buying_power", "sma": "sma",
    "gross_position_value": "gross_position_value",
    "lookahead_init_margin": "lookahead_init_margin_req", "lookahead_maint_margin": "lookahead_maint_margin_req",
    "lookahead_excess_liquidity": "lookahead_excess_liquidity",
    "lookahead_available_funds": "lookahead_available_funds",
}
RATIO_COLUMNS = ["utilisation_initial", "utilisation_maint", "cushion", "drop_to_margin_call"]
MARGIN_COLUMNS = ["account", "base_currency", "report_currency", "fx_to_report", *MARGIN_AMOUNTS, *RATIO_COLUMNS,
                  "status_initial", "status_maint", "status"]


def utilisation(requirement: pd.Series, equity: pd.Series) -> pd.Series:
    """requirement / equity with loan value; 0 without a requirement; inf when equity <= 0 under a requirement."""
    ratio = requirement / equity.where(equity > 0)
    ratio = ratio.mask((requirement > 0) & (equity <= 0), np.inf)
    return ratio.mask(requirement == 0, 0.0)


def drop_to_margin_call(excess: pd.Series, maint: pd.Series, gpv: pd.Series) -> pd.Series:
    """``d* = excess / (GPV x (1 - m))`` with ``m = maint / GPV`` (i.e. ``excess / (GPV - maint)``).

    NaN without positions (GPV <= 0: no fall of position value can cause a call) or when ``m >= 1`` (a fall does
    not reduce excess liquidity); 0 when excess liquidity is already negative.
    """
    valid = gpv > 0
    m = maint / gpv.where(valid)
    denominator = gpv * (1.0 - m)
    d = excess / denominator.where(denominator > 0)
    return d.clip(lower=0.0)


def margin_status(ratio: pd.Series, warning: float = DEFAULT_WARNING, danger: float = DEFAULT_DANGER) -> pd.Series:
    """``ok`` below ``warning``, ``warning`` from it, ``danger`` from ``danger``, ``unknown`` for NaN."""
    labels = np.select([ratio.isna(), ratio >= danger, ratio >= warning], [STATUS_UNKNOWN, STATUS_DANGER,
                                                                         STATUS_WARNING], STATUS_OK)
    return pd.Series(labels, index=ratio.index, dtype=object)


def _add_ratios(frame: pd.DataFrame, warning: float, danger: float) -> pd.DataFrame:
    elv = frame["equity_with_loan"]
    frame["utilisation_initial"] = utilisation(frame["init_margin"], elv)
    frame["utilisation_maint"] = utilisation(frame["maint_margin"], elv)
    nlv = frame["net_liquidation"]
    frame["cushion"] = frame["excess_liquidity"] / nlv.where(nlv != 0)
    frame["drop_to_margin_call"] = drop_to_margin_call(frame["excess_liquidity"], frame["maint_margin"],
                                                       frame["gross_position_value"])
    frame["status_initial"] = margin_status(frame["utilisation_initial"], warning, danger)
    frame["status_maint"] = margin_status(frame["utilisation_maint"], warning, danger)
    # IBKR liquidates on maintenance margin (excess liquidity below zero), not on initial margin: the status is
    # the maintenance one, and danger whenever excess liquidity is negative. Initial has its own status beside it.
    maint = frame["utilisation_maint"].mask(frame["excess_liquidity"] < 0, np.inf)
    frame["status"] = margin_status(maint, warning, danger)
    return frame


def margin_table(summaries: Mapping[str, AccountSummary], ledgers: Mapping[str, Ledger] | None = None,
                 base_currency: Mapping[str, str | None] | None = None, report_currency: str | None = None, *,
                 warning: float = DEFAULT_WARNING, danger: float = DEFAULT_DANGER) -> pd.DataFrame:
    """Margin per account and a ``Total`` row (``MARGIN_COLUMNS``); amounts in ``report_currency``.

    Amounts (``MARGIN_AMOUNTS``) come from ``/portfolio/{id}/summary`` in the account's base currency and are
    multiplied by ``fx_to_report`` (base -> report, from the ledgers; 1 when they are the same currency, so without
    ledgers use one base currency). ``report_currency`` defaults to the first account's base currency; the base
    currency defaults to the summary's own currency.

    - ``utilisation_initial`` = init_margin / equity_with_loan; ``utilisation_maint`` = maint_margin /
      equity_with_loan (0 without a requirement, inf when equity <= 0 under a requirement).
    - ``cushion`` = excess_liquidity / net_liquidation.
    - ``drop_to_margin_call`` d* = excess_liquidity / (GPV x (1 - m)), m = maint_margin / GPV: NaN without
      positions, 0 when already in deficit.
    - ``status_initial`` / ``status_maint``: each utilisation against ``warning`` (default 0.70) and ``danger``
      (0.90); ``status``: the maintenance one (what IBKR liquidates on), and ``danger`` whenever excess liquidity
      is negative. A high initial utilisation only limits new positions; its status says so on its own.
    - ``Total``: amounts summed in the report currency (NaN if any account lacks the amount or a rate), ratios
      and statuses recomputed from those sums, never averaged.
    """
    ledgers = ledgers or {}
    given = {a: ccy for a, ccy in (base_currency or {}).items() if ccy}
    bases = resolve_base_currencies(ledgers, {**{a: s.currency for a, s in summaries.items()}, **given})
    report = report_currency or default_report_currency({a: bases.get(a) for a in summaries})
    accounts = list(summaries)
    frame = pd.DataFrame({col: [getattr(summaries[a], attr) for a in accounts]
                          for col, attr in MARGIN_AMOUNTS.items()}, index=pd.Index(accounts, name="account"),
                         dtype=float)
    to_report = base_to_report(ledgers, bases, report, accounts) if report else pd.Series(np.nan, index=accounts)
    frame[list(MARGIN_AMOUNTS)] = frame[list(MARGIN_AMOUNTS)].mul(to_report, axis=0)
    frame.insert(0, "base_currency", pd.Series(bases, dtype=object).reindex(accounts))
    frame.insert(1, "report_currency", report)
    frame.insert(2, "fx_to_report", to_report)
    total = frame[list(MARGIN_AMOUNTS)].sum(skipna=False)
    frame.loc[TOTAL_LABEL, list(MARGIN_AMOUNTS)] = total
    frame.loc[TOTAL_LABEL, "report_currency"] = report
    if frame["base_currency"].iloc[:-1].nunique(dropna=False) == 1:
        frame.loc[TOTAL_LABEL, "base_currency"] = frame["base_currency"].iloc[0]
    frame = _add_ratios(frame, warning, danger)
    return frame.reset_index()[MARGIN_COLUMNS]


def nearest_margin_call(margin: pd.DataFrame) -> pd.Series | None:
    """The row of :func:`margin_table` of the account nearest to a margin call (the smallest drop to margin call;
    margin is called per account, so this, not the ``Total``, is the headline). None when no account can fall."""
    accounts = margin[margin["account"] != TOTAL_LABEL].dropna(subset=["drop_to_margin_call"])
    return accounts.loc[accounts["drop_to_margin_call"].idxmin()] if len(accounts) else None
