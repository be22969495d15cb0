"""What the stream says, laid over the last REST snapshot's figures, in one place.

- :func:`overlay_pnl`: the websocket's ``spl`` rows (per account, base currency: ``dpl`` daily P&L, ``nl`` net
  liquidation, ``upl`` unrealised P&L, ``el`` excess liquidity, ``mv`` gross position value; the same keys as
  ``pnl/partitioned``, cpapi.md 5.3) replace those figures of :func:`~ibkr.analytics.account_totals` and
  :func:`~ibkr.analytics.margin_table`; the report-currency columns, the ``Total`` rows and the ratios (cushion,
  drop to margin call, statuses) are computed again from them with the snapshot's FX rates. Figures the stream
  does not carry (initial and maintenance margin, equity with loan, cash) stay the snapshot's.
- :func:`overlay_marks`: the latest price (field 31) and daily P&L (field 78) of each position's conid
  (``ibkr.position_marks``) over the positions frame: market value and unrealised P&L follow the price; the
  ``daily_pnl`` columns and the mark's age are added.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ibkr.analytics.definitions import DEFAULT_DANGER, DEFAULT_WARNING, FX_PAIR_ASSET_CLASS, PNL_ONLY_ASSET_CLASSES
from ibkr.analytics.definitions import TOTAL_LABEL as TOTAL
from ibkr.analytics.margin import _add_ratios
from ibkr.analytics.totals import AMOUNT_COLUMNS
from ibkr.models.balances import PnlRow

if TYPE_CHECKING:
    from ibkr.position_marks import Mark

TOTALS_FROM_ROW = {"net_liquidation": "net_liquidation", "daily_pnl": "daily_pnl", "unrealized_pnl": "unrealized_pnl"}
"""totals column -> PnlRow attribute"""
MARGIN_FROM_ROW = {"net_liquidation": "net_liquidation", "excess_liquidity": "excess_liquidity",
                   "gross_position_value": "market_value"}
"""margin column -> PnlRow attribute"""


def _row_values(rows: Mapping[str, PnlRow], attribute: str) -> pd.Series:
    return pd.Series({a: getattr(r, attribute) for a, r in rows.items() if getattr(r, attribute) is not None},
                     dtype=float)


def overlay_pnl(totals: pd.DataFrame, margin: pd.DataFrame, rows: Mapping[str, PnlRow], *,
                warning: float = DEFAULT_WARNING, danger: float = DEFAULT_DANGER) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``totals`` and ``margin`` (of one snapshot) with the stream's ``rows`` (account id -> ``spl`` row) laid
    over them; new frames, the inputs are not changed. Accounts without a row keep the snapshot's figures."""
    totals, margin = totals.copy(), margin.copy()
    if rows:
        _overlay_totals(totals, rows)
        margin = _overlay_margin(margin, rows, warning, danger)
    return totals, margin


def _overlay_totals(totals: pd.DataFrame, rows: Mapping[str, PnlRow]) -> None:
    accounts = totals["account"] != TOTAL
    index = totals.loc[accounts, "account"]
    for column, attribute in TOTALS_FROM_ROW.items():
        live = index.map(_row_values(rows, attribute)).astype(float)
        totals.loc[accounts, column] = live.fillna(totals.loc[accounts, column].astype(float))
        totals.loc[accounts, f"{column}_report"] = totals.loc[accounts, column] * totals.loc[accounts, "fx_to_report"]
    total = ~accounts
    same_base = totals.loc[total, "base_currency"].notna().all()
    for column in AMOUNT_COLUMNS:
        totals.loc[total, f"{column}_report"] = totals.loc[accounts, f"{column}_report"].sum(min_count=1)
        totals.loc[total, column] = totals.loc[accounts, column].sum(min_count=1) if same_base else np.nan


def _overlay_margin(margin: pd.DataFrame, rows: Mapping[str, PnlRow], warning: float, danger: float) -> pd.DataFrame:
    frame = margin.set_index("account")
    accounts = frame.index != TOTAL
    names = frame.index[accounts]
    for column, attribute in MARGIN_FROM_ROW.items():
        live = pd.Series(names, index=names).map(_row_values(rows, attribute)).astype(float)
        in_report = live * frame.loc[accounts, "fx_to_report"].astype(float)
        frame.loc[accounts, column] = in_report.fillna(frame.loc[accounts, column].astype(float))
        if TOTAL in frame.index:
            frame.loc[TOTAL, column] = frame.loc[accounts, column].sum(skipna=False)
    frame = _add_ratios(frame, warning, danger)
    return frame.reset_index()[margin.columns]


def utc_times(seconds: pd.Series) -> pd.Series:
    """Epoch seconds (NaN where none) as UTC times (NaT), to the nanosecond. Not ``pd.to_datetime(unit="s")``:
    its rounding runs under ``np.errstate(over="raise")`` and raised FloatingPointError on the Positions page
    once in the 20-session load run (bench/load.py), on values it takes in any other run."""
    values = seconds.to_numpy(dtype=float, na_value=np.nan)
    missing = np.isnan(values)
    nanos = np.round(np.where(missing, 0.0, values) * 1e9).astype(np.int64)
    nanos[missing] = np.iinfo(np.int64).min  # NaT
    return pd.Series(pd.DatetimeIndex(nanos.view("datetime64[ns]")).tz_localize("UTC"), index=seconds.index)


def overlay_marks(positions: pd.DataFrame, marks: Mapping[int, Mark]) -> pd.DataFrame:
    """``positions`` (:func:`~ibkr.analytics.positions_frame`) with each conid's latest mark: ``price`` the mark's
    last price when it moved after the snapshot was read (``Mark.moved_at``), market value scaled to it (IBKR's own value x new / old price, so bonds and multipliers keep
    IBKR's convention), unrealised P&L moved by the same amount; ``daily_pnl`` (native, ``_base``, ``_report``)
    = the mark's daily P&L per unit x the row's quantity (NaN until read), ``daily_pnl_at`` when it was read."""
    out = positions.copy()
    conids = out["conid"]
    last = conids.map({c: m.last for c, m in marks.items() if m.last is not None}).astype(float)
    per_unit = conids.map({c: m.daily_pnl_per_unit for c, m in marks.items()
                           if m.daily_pnl_per_unit is not None}).astype(float)
    out["daily_pnl_at"] = utc_times(conids.map({c: m.at for c, m in marks.items()}))
    rounding = conids.map({c: m.last_rounding for c, m in marks.items()}).astype(float).fillna(0.0)
    moved_at = utc_times(conids.map({c: m.moved_at for c, m in marks.items() if m.moved_at is not None}))
    old_price = out["price"].astype(float)
    # a price that moved since the snapshot was read; IBKR's tick-sized last of a price that did not move, or
    # the same price rounded for display, is no news over the snapshot's mark
    moved = last.notna() & (moved_at > out["as_of"]) & ((last - old_price).abs() > rounding)
    if moved.any():
        ratio = (last / old_price.where(old_price != 0)).where(moved)
        new_mv = (out["market_value"] * ratio).fillna(out["quantity"] * last * out["multiplier"]).where(moved)
        change = (new_mv - out["market_value"]).where(moved, 0.0)
        out["price"] = last.where(moved, old_price)
        out["market_value"] = new_mv.where(moved, out["market_value"])
        out["unrealized_pnl"] = out["unrealized_pnl"] + change
        basis = out["cost_basis"].abs()
        out["unrealized_pnl_pct"] = out["unrealized_pnl"] / basis.where(basis > 0)
        cls = out["asset_class"]
        exposure = out["market_value"].where(~cls.isin(PNL_ONLY_ASSET_CLASSES), out["unrealized_pnl"])
        out["exposure"] = exposure.mask(cls == FX_PAIR_ASSET_CLASS, 0.0)
        for column in ("market_value", "unrealized_pnl", "exposure"):
            out[f"{column}_base"] = out[column] * out["fx_rate"]
    out["daily_pnl"] = per_unit * out["quantity"]
    out["daily_pnl_base"] = out["daily_pnl"] * out["fx_rate"]
    if "fx_rate_report" in out:
        for column in ("market_value", "unrealized_pnl", "exposure", "daily_pnl"):
            out[f"{column}_report"] = out[column] * out["fx_rate_report"]
    return out
