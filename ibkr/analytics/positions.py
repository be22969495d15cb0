"""The positions frame: one row per position of every account, native and base-currency columns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from ibkr.analytics.definitions import FX_PAIR_ASSET_CLASS, OPTION_ASSET_CLASSES, PNL_ONLY_ASSET_CLASSES
from ibkr.analytics.fx import base_to_report, ledger_frame, resolve_base_currencies
from ibkr.models.balances import Ledger
from ibkr.models.positions import Position
from ibkr.numbers import price_decimals

POSITION_COLUMNS = [
    "account", "conid", "symbol", "description", "asset_class", "exchange", "country", "currency",
    "quantity", "price", "multiplier", "market_value", "fx_rate", "fx_missing", "base_currency", "market_value_base",
    "avg_cost", "avg_price", "cost_basis", "unrealized_pnl", "unrealized_pnl_base", "unrealized_pnl_pct",
    "realized_pnl", "realized_pnl_base", "exposure", "exposure_base", "expiry", "strike", "right", "as_of",
]
REPORT_COLUMNS = ["report_currency", "fx_rate_report", "market_value_report", "unrealized_pnl_report",
                  "realized_pnl_report", "exposure_report"]

# frame column -> Position attribute (``""`` becomes None while reading)
_TEXT = {"asset_class": "asset_class", "exchange": "listing_exchange", "country": "country_code",
         "currency": "currency", "right": "put_or_call"}
_NUMBERS = {"quantity": "position", "price": "mkt_price", "multiplier": "multiplier", "market_value": "mkt_value",
            "avg_cost": "avg_cost", "avg_price": "avg_price", "unrealized_pnl": "unrealized_pnl",
            "realized_pnl": "realized_pnl", "strike": "strike"}


def _raw_frame(positions: Iterable[Position] | Mapping[str, Iterable[Position]]) -> pd.DataFrame:
    """Columns read out of the models (attribute reads and the models' own fallbacks only; every calculation
    happens vectorised afterwards)."""
    if isinstance(positions, Mapping):
        pairs = [(acct, p) for acct, items in positions.items() for p in items]
        models = [p for _, p in pairs]
        accounts = [a for a, _ in pairs]
    else:
        models = list(positions)
        accounts = [p.acct_id for p in models]
    rows = [p.__dict__ for p in models]
    data: dict[str, object] = {
        "account": accounts,
        "conid": np.array([d["conid"] for d in rows], dtype=np.int64),
        "symbol": [p.symbol for p in models],
        "description": [d["description"] or None for d in rows],
        "name": [d["name"] or None for d in rows],
        "full_name": [d["full_name"] or None for d in rows],
        "expiry": [d["expiry"] or d["last_trading_day"] for d in rows],
    }
    data.update({col: [d[attr] or None for d in rows] for col, attr in _TEXT.items()})
    data.update({col: np.array([d[attr] for d in rows], dtype=float) for col, attr in _NUMBERS.items()})
    text = ("account", "symbol", "description", "name", "full_name", "expiry", *_TEXT)
    return pd.DataFrame(data).astype({col: object for col in text})


def _description(raw: pd.DataFrame) -> pd.Series:
    """What a trader reads next to the symbol: IBKR's ``contractDesc``, except that where it only repeats the
    symbol (stocks: ``IBM``; forex pairs: ``EUR.USD``; crypto: ``BTC CRYPTO``) the ``name`` (``INTL BUSINESS
    MACHINES CORP``) is shown,
    and options show ``fullName`` (``SPY Jan17'25 440 Call``) instead of ``SPY JAN2025 440 C [SPY 250117C...]``."""
    desc = raw["description"]
    bare = desc.isna() | (desc == raw["symbol"]) | (desc == raw["symbol"] + " " + raw["asset_class"].fillna(""))
    desc = raw["name"].where(bare & raw["name"].notna(), desc)
    readable = raw["asset_class"].isin(OPTION_ASSET_CLASSES) & raw["full_name"].notna()
    return raw["full_name"].where(readable & (raw["full_name"] != raw["symbol"]), desc)


def positions_frame(positions: Iterable[Position] | Mapping[str, Iterable[Position]],
                    ledgers: Mapping[str, Ledger], base_currency: Mapping[str, str | None],
                    as_of: dt.datetime | pd.Timestamp | None = None,
                    report_currency: str | None = None) -> pd.DataFrame:
    """Every position as one row, with native and base-currency columns (``POSITION_COLUMNS``).

    ``positions``: the models of all accounts (account from ``acct_id``), or a mapping account -> models (for the
    ``portfolio2`` shape, which has no ``acctId``). ``base_currency``: account -> ``Account.currency``.

    - ``description``: see :func:`_description` (the company name for stocks, the readable contract for options).
    - ``market_value`` = IBKR's ``mktValue`` (quantity x price x multiplier, native; for futures the notional);
      when IBKR sent none, quantity x price x multiplier.
    - ``fx_rate`` = ``ledger[account][currency].exchangerate`` (1 for the base currency itself). A currency missing
      from the ledger gives NaN in every ``*_base`` column and ``fx_missing = True``; the row is kept.
    - ``*_base`` = native x ``fx_rate``.
    - ``cost_basis`` = quantity x ``avg_cost`` (IBKR's avgCost includes the multiplier; else avgPrice x multiplier).
    - ``unrealized_pnl_pct`` = unrealized_pnl / |cost_basis| (a short that fell shows a gain).
    - ``exposure`` = what the position adds to net liquidation and to FX exposure, native: market value, except
      forex pairs (``CASH``: 0, their effect is already in the cash balances) and futures (their unrealised P&L:
      the notional is not an asset, only the P&L is owed or receivable).
    - ``expiry`` (a Timestamp, expiry else last trading day), ``strike``, ``right`` (``P``/``C``).
    - ``as_of``: the time of the data (default now, UTC), also in ``frame.attrs["as_of"]``.
    - with ``report_currency``: ``REPORT_COLUMNS`` too, native x ``fx_rate`` x (base -> report, see
      :func:`ibkr.analytics.fx.base_to_report`).
    """
    stamp = pd.Timestamp(as_of if as_of is not None else dt.datetime.now(dt.UTC))
    raw = _raw_frame(positions)
    bases = resolve_base_currencies(ledgers, base_currency)
    out = raw[["account", "conid", "symbol", "description", "asset_class", "exchange", "country", "currency"]].copy()
    out["description"] = _description(raw)
    qty, price, mult = raw["quantity"], raw["price"], raw["multiplier"]
    out["quantity"], out["price"], out["multiplier"] = qty, price, mult
    out["market_value"] = raw["market_value"].fillna(qty * price * mult)

    rates = ledger_frame(ledgers).set_index(["account", "currency"])["exchange_rate"]
    keys = pd.MultiIndex.from_arrays([out["account"], out["currency"]])
    fx = pd.Series(rates.reindex(keys).to_numpy(), index=out.index)
    out["base_currency"] = out["account"].map(bases)
    fx = fx.mask(fx.isna() & (out["currency"] == out["base_currency"]), 1.0)
    out["fx_rate"] = fx
    out["fx_missing"] = fx.isna()
    out["market_value_base"] = out["market_value"] * fx

    out["avg_cost"] = raw["avg_cost"].fillna(raw["avg_price"] * mult)
    out["avg_price"] = raw["avg_price"].fillna(out["avg_cost"] / mult.where(mult != 0))  # in price's units
    out["cost_basis"] = qty * out["avg_cost"]
    out["unrealized_pnl"] = raw["unrealized_pnl"]
    out["unrealized_pnl_base"] = out["unrealized_pnl"] * fx
    basis = out["cost_basis"].abs()
    out["unrealized_pnl_pct"] = out["unrealized_pnl"] / basis.where(basis > 0)
    out["realized_pnl"] = raw["realized_pnl"]
    out["realized_pnl_base"] = out["realized_pnl"] * fx

    cls = out["asset_class"]
    exposure = out["market_value"].where(~cls.isin(PNL_ONLY_ASSET_CLASSES), out["unrealized_pnl"])
    out["exposure"] = exposure.mask(cls == FX_PAIR_ASSET_CLASS, 0.0)
    out["exposure_base"] = out["exposure"] * fx

    out["expiry"] = pd.to_datetime(raw["expiry"].astype("string").str[:8], format="%Y%m%d", errors="coerce")
    out["strike"] = raw["strike"]
    out["right"] = raw["right"]
    out["as_of"] = stamp
    out = out[POSITION_COLUMNS]

    if report_currency:
        to_report = base_to_report(ledgers, bases, report_currency, accounts=list(out["account"].unique()))
        rate = fx * out["account"].map(to_report).astype(float)
        out["report_currency"] = report_currency
        out["fx_rate_report"] = rate
        for col in ("market_value", "unrealized_pnl", "realized_pnl", "exposure"):
            out[f"{col}_report"] = out[col] * rate
    out.attrs.update(as_of=stamp, fx_missing=int(out["fx_missing"].sum()), report_currency=report_currency)
    return out


def filter_positions(positions: pd.DataFrame, *, asset_classes: Iterable[str] = (), currencies: Iterable[str] = (),
                     accounts: Iterable[str] = (), text: str = "") -> pd.DataFrame:
    """The rows of :func:`positions_frame` in the given asset classes, currencies and accounts (each: all when
    empty) whose symbol, description or exchange contains ``text`` (case-insensitive, literal)."""
    shown = positions
    for column, wanted in (("asset_class", list(asset_classes)), ("currency", list(currencies)),
                           ("account", list(accounts))):
        if wanted:
            shown = shown[shown[column].isin(wanted)]
    if text:
        haystack = (shown["symbol"].fillna("") + " " + shown["description"].fillna("") + " "
                    + shown["exchange"].fillna(""))
        shown = shown[haystack.str.contains(text, case=False, regex=False)]
    return shown


def rounded_prices(frame: pd.DataFrame, column: str = "price", *, extra: int = 0) -> pd.Series:
    """``frame[column]`` rounded per row to the decimals its instrument is quoted in
    (:func:`ibkr.numbers.price_decimals`, plus ``extra``): for display; the frame keeps IBKR's digits."""
    if frame.empty:
        return frame[column].copy()
    decimals = [price_decimals(c, ccy, p) + extra
                for c, ccy, p in zip(frame["asset_class"], frame["currency"], frame[column], strict=True)]
    return pd.Series([round(p, d) if pd.notna(p) else p for p, d in zip(frame[column], decimals, strict=True)],
                     index=frame.index, dtype="float64")
