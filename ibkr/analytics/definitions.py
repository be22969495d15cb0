"""The names and thresholds the analytics share: labels of consolidated rows, asset-class rules, margin statuses.

The texts that explain each figure are in :mod:`ibkr.analytics.help`.
"""

from __future__ import annotations

TOTAL_LABEL = "Total"
"""The ``account`` of the consolidated row of :func:`account_totals` and :func:`margin_table`."""

CASH_BALANCE_LABEL = "Cash balance"
"""The ``asset_class`` given to ledger cash balances in the exposure breakdown."""

PNL_ONLY_ASSET_CLASSES = frozenset({"FUT"})
"""Asset classes whose notional is not an asset: only their open P&L is owed or receivable."""

FX_PAIR_ASSET_CLASS = "CASH"
"""IBKR's asset class for forex pairs (``EUR.USD``): their effect is already in the ledger's cash balances."""

OPTION_ASSET_CLASSES = frozenset({"OPT", "FOP", "WAR"})
"""Asset classes whose ``fullName`` (``SPY Jan17'25 440 Call``) reads better than their ``contractDesc``."""

STATUS_OK, STATUS_WARNING, STATUS_DANGER, STATUS_UNKNOWN = "ok", "warning", "danger", "unknown"
DEFAULT_WARNING, DEFAULT_DANGER = 0.70, 0.90
"""Margin utilisation thresholds (fractions) when the caller gives none; the dashboard passes its settings'
``margin_warning_pct`` / ``margin_danger_pct``, read once (:meth:`ibkr.config.Settings.margin_thresholds`)."""
