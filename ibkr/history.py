"""The history of each account's figures: net liquidation, daily P&L, margin utilisation and FX exposure, a row
per account at most every ``settings.history_minutes``, kept in the desk's database (:mod:`ibkr.db`).

The background portfolio refresher hands every good snapshot to :meth:`History.record` (wired in
``ibkr_desk.ui.services``). Only figures that were actually read go in: an account whose balances or ledger could
not be read in that snapshot writes no row (never zeros), a snapshot already recorded is not recorded again, and a
figure that is missing (daily P&L without the brokerage session) is stored as NULL. The figures are computed by
:mod:`ibkr.analytics` exactly as the Overview, Margin and Currency exposure pages compute them, in the account's
base currency. No Streamlit here.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ibkr import analytics
from ibkr.analytics.definitions import DEFAULT_DANGER, DEFAULT_WARNING
from ibkr.db import Database
from ibkr.portfolio import PortfolioSnapshot

log = logging.getLogger(__name__)

DDL = """
CREATE TABLE IF NOT EXISTS account_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,                 -- the snapshot's as-of time, ISO 8601 UTC
    account TEXT NOT NULL,
    base_currency TEXT,
    net_liquidation REAL NOT NULL,    -- in the base currency
    daily_pnl REAL,                   -- in the base currency; NULL when IBKR's daily P&L was not available
    margin_utilisation REAL,          -- maintenance margin / equity with loan value (a fraction)
    fx_exposure TEXT NOT NULL         -- JSON {currency: net exposure in the base currency}
);
CREATE INDEX IF NOT EXISTS account_history_at ON account_history (account, at);
"""

COLUMNS = ["at", "account", "base_currency", "net_liquidation", "daily_pnl", "margin_utilisation", "fx_exposure"]


@dataclass(frozen=True)
class Figures:
    """One account's figures of one snapshot (what a history row holds)."""

    at: dt.datetime
    account: str
    base_currency: str | None
    net_liquidation: float
    daily_pnl: float | None
    margin_utilisation: float | None
    fx_exposure: dict[str, float]


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def account_figures(snap: PortfolioSnapshot, warning: float = DEFAULT_WARNING,
                    danger: float = DEFAULT_DANGER) -> list[Figures]:
    """The figures of every account of ``snap`` whose balances (summary) and cash (ledger) were read in it."""
    out: list[Figures] = []
    for account in snap.account_ids:
        if account not in snap.summaries or account not in snap.ledgers:
            continue  # its read failed in this snapshot: nothing was read, nothing is written
        one = snap.only([account])
        base = one.base_currency
        try:
            positions = analytics.positions_frame(one.positions, one.ledgers, base, as_of=one.as_of)
            totals = analytics.account_totals(positions, one.ledgers, base, pnl=one.pnl, summaries=one.summaries)
            margin = analytics.margin_table(one.summaries, one.ledgers, base, warning=warning, danger=danger)
            exposure = analytics.fx_exposure(positions, one.ledgers, base)
        except Exception:  # a figure that cannot be computed must not stop the refresher: say it, skip the account
            log.exception("history: the figures of %s could not be computed", account)
            continue
        row = totals[totals["account"] == account].iloc[0]
        nlv = _number(row["net_liquidation"])
        if nlv is None:
            continue
        mrow = margin[margin["account"] == account]
        util = _number(mrow["utilisation_maint"].iloc[0]) if len(mrow) else None
        fx = {str(r.currency): float(r.exposure_base) for r in exposure.itertuples()
              if _number(r.exposure_base) is not None}
        ccy = row["base_currency"] if isinstance(row["base_currency"], str) else base.get(account)
        out.append(Figures(snap.as_of, account, ccy, nlv, _number(row["daily_pnl"]),
                           util if util is None or math.isfinite(util) else None, fx))
    return out


class History:
    """The ``account_history`` table: :meth:`record` snapshots, :meth:`frame` to read them back."""

    def __init__(self, path: Path | None, minutes: float = 5.0, *, warning: float = DEFAULT_WARNING,
                 danger: float = DEFAULT_DANGER) -> None:
        self.db = Database.at(path)
        self.db.declare("history", DDL)
        self.interval = dt.timedelta(minutes=minutes)
        self.warning, self.danger = warning, danger
        self._lock = threading.Lock()
        self._last: dict[str, dt.datetime] = {
            r["account"]: dt.datetime.fromisoformat(r["at"])
            for r in self.db.read("SELECT account, MAX(at) AS at FROM account_history GROUP BY account")}

    def record(self, snap: PortfolioSnapshot) -> list[Figures]:
        """Write a row for each account of ``snap`` that was read and whose last row is at least the interval
        older than the snapshot; the rows written."""
        with self._lock:
            due = [f for f in account_figures(snap, self.warning, self.danger)
                   if f.account not in self._last or f.at - self._last[f.account] >= self.interval]
            if not due:
                return []
            self.db.write_many(
                "INSERT INTO account_history (at, account, base_currency, net_liquidation, daily_pnl, "
                "margin_utilisation, fx_exposure) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(f.at.astimezone(dt.UTC).isoformat(), f.account, f.base_currency, f.net_liquidation, f.daily_pnl,
                  f.margin_utilisation, json.dumps(f.fx_exposure, sort_keys=True)) for f in due])
            for f in due:
                self._last[f.account] = f.at
            return due

    def last_utilisation(self) -> dict[str, float]:
        """Each account's newest recorded maintenance margin utilisation (where a restarted dashboard's margin
        watch resumes, so a level already reported before the restart is not news again)."""
        rows = self.db.read(
            "SELECT h.account, h.margin_utilisation FROM account_history h JOIN (SELECT account, MAX(at) AS at "
            "FROM account_history GROUP BY account) m ON h.account = m.account AND h.at = m.at "
            "WHERE h.margin_utilisation IS NOT NULL")
        return {r["account"]: float(r["margin_utilisation"]) for r in rows}

    def frame(self, accounts: Iterable[str] | None = None, days: float = 7.0,
              now: dt.datetime | None = None) -> pd.DataFrame:
        """The rows of the last ``days`` (of ``accounts``, default all), oldest first; ``at`` a UTC timestamp and
        ``fx_exposure`` a dict."""
        since = ((now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=days)).astimezone(dt.UTC).isoformat()
        sql = f"SELECT {', '.join(COLUMNS)} FROM account_history WHERE at >= ?"
        params: list = [since]
        if accounts is not None:
            accounts = list(accounts)
            if not accounts:
                return pd.DataFrame(columns=COLUMNS)
            sql += f" AND account IN ({', '.join('?' for _ in accounts)})"
            params += accounts
        rows = self.db.read(sql + " ORDER BY at, account", params)
        frame = pd.DataFrame([dict(r) for r in rows], columns=COLUMNS)
        frame["at"] = pd.to_datetime(frame["at"], utc=True, format="ISO8601")
        frame["fx_exposure"] = frame["fx_exposure"].map(json.loads)
        return frame
