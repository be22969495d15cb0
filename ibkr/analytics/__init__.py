"""pandas analytics over the library's models: positions, P&L totals, margin, FX exposure and sensitivity.

Everything is vectorised (no Python loop over positions; loops only over the few accounts and ledgers) and
follows the money definitions of ``docs/design.md``. Each figure's definition is in :data:`HELP` for the UI's help text.

::

    positions_frame(positions, ledgers, base_currency, as_of=None, report_currency=None)   -> POSITION_COLUMNS
    account_totals(positions_df, ledgers, base_currency, pnl=None, summaries=None,
                   report_currency=None)                                                  -> TOTALS_COLUMNS
    margin_table(summaries, ledgers=None, base_currency=None, report_currency=None,
                 *, warning=0.70, danger=0.90)                                            -> MARGIN_COLUMNS
    fx_exposure(positions_df, ledgers, base_currency, report_currency=None)               -> EXPOSURE_COLUMNS
    fx_exposure_by_asset_class(positions_df, ledgers, base_currency, report_currency=None) -> BREAKDOWN_COLUMNS
    snapshot_frames(snapshot, report_currency=None, *, warning, danger) -> all of the above for one snapshot
    fx_sensitivity(exposure, moves)                                                       -> SENSITIVITY_COLUMNS
    fx_table(ledgers, base_currency, report_currency=None)  -> rate per currency in the report currency
    orders_frame(orders) / trades_frame(trades)              -> live orders and executions, one row each
    whatif_table(whatif) / whatif_utilisation(whatif)        -> a what-if preview's figures and utilisation

``ledgers``: account -> :class:`~ibkr.models.balances.Ledger`; ``base_currency``: account -> ``Account.currency``;
``report_currency``: the consolidation currency (default: the first account's base currency).
"""

from ibkr.analytics.definitions import (
    CASH_BALANCE_LABEL,
    DEFAULT_DANGER,
    DEFAULT_WARNING,
    STATUS_DANGER,
    STATUS_OK,
    STATUS_UNKNOWN,
    STATUS_WARNING,
    TOTAL_LABEL,
)
from ibkr.analytics.exposure import (
    BREAKDOWN_COLUMNS,
    EXPOSURE_COLUMNS,
    SENSITIVITY_COLUMNS,
    fx_exposure,
    fx_exposure_by_asset_class,
    fx_sensitivity,
)
from ibkr.analytics.fx import base_to_report, default_report_currency, fx_table, resolve_base_currencies
from ibkr.analytics.help import HELP
from ibkr.analytics.margin import (
    MARGIN_COLUMNS,
    drop_to_margin_call,
    margin_status,
    margin_table,
    nearest_margin_call,
    utilisation,
)
from ibkr.analytics.orders import order_kind, orders_frame, trades_frame
from ibkr.analytics.positions import (
    POSITION_COLUMNS,
    REPORT_COLUMNS,
    filter_positions,
    positions_frame,
    rounded_prices,
)
from ibkr.analytics.snapshot import snapshot_frames
from ibkr.analytics.totals import TOTALS_COLUMNS, account_totals
from ibkr.analytics.whatif import Utilisation, utilisation_status, whatif_table, whatif_utilisation

__all__ = [
    "rounded_prices",
    "snapshot_frames",
    "filter_positions",
    "nearest_margin_call",
    "Utilisation",
    "order_kind",
    "orders_frame",
    "trades_frame",
    "utilisation_status",
    "whatif_table",
    "whatif_utilisation",
    "BREAKDOWN_COLUMNS",
    "CASH_BALANCE_LABEL",
    "DEFAULT_DANGER",
    "DEFAULT_WARNING",
    "EXPOSURE_COLUMNS",
    "HELP",
    "MARGIN_COLUMNS",
    "POSITION_COLUMNS",
    "REPORT_COLUMNS",
    "SENSITIVITY_COLUMNS",
    "STATUS_DANGER",
    "STATUS_OK",
    "STATUS_UNKNOWN",
    "STATUS_WARNING",
    "TOTALS_COLUMNS",
    "TOTAL_LABEL",
    "account_totals",
    "base_to_report",
    "default_report_currency",
    "drop_to_margin_call",
    "fx_exposure",
    "fx_exposure_by_asset_class",
    "fx_sensitivity",
    "fx_table",
    "margin_status",
    "margin_table",
    "positions_frame",
    "resolve_base_currencies",
    "utilisation",
]
