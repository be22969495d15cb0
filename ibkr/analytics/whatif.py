"""IBKR's what-if preview of an order as figures: before / change / after, and the margin utilisation it leaves.

    whatif_table(whatif)                       # figure, current, change, after
    whatif_utilisation(whatif)                 # Utilisation(initial_before, initial_after, maint_before, ...)
    utilisation_status(0.93, warning, danger)  # "danger"

Utilisation and status are :mod:`ibkr.analytics.margin`'s own rules (``utilisation``, ``margin_status``),
applied to the preview's figures, so the ticket and the Margin page can never disagree on them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ibkr.analytics.definitions import DEFAULT_DANGER, DEFAULT_WARNING
from ibkr.analytics.margin import margin_status, utilisation
from ibkr.models import WhatIf

FIGURES = (("equity", "Equity with loan value"), ("initial", "Initial margin"),
           ("maintenance", "Maintenance margin"))


@dataclass(frozen=True)
class Utilisation:
    """Initial and maintenance margin / equity with loan value, before and after the order."""

    initial_before: float | None
    initial_after: float | None
    maint_before: float | None
    maint_after: float | None


def _utilisation(requirement: float | None, equity: float | None) -> float | None:
    if requirement is None or equity is None:
        return None
    value = utilisation(pd.Series([requirement], dtype=float), pd.Series([equity], dtype=float)).iloc[0]
    return None if pd.isna(value) else float(value)


def whatif_utilisation(whatif: WhatIf) -> Utilisation:
    """Margin utilisation (requirement / equity with loan value) before and after, from the preview."""
    eq = whatif.equity
    return Utilisation(_utilisation(whatif.initial.current, eq.current), _utilisation(whatif.initial.after, eq.after),
                       _utilisation(whatif.maintenance.current, eq.current),
                       _utilisation(whatif.maintenance.after, eq.after))


def utilisation_status(value: float | None, warning: float = DEFAULT_WARNING, danger: float = DEFAULT_DANGER) -> str:
    """``ok``, ``warning``, ``danger`` or ``unknown`` for one utilisation, by :func:`margin_status`."""
    return str(margin_status(pd.Series([value], dtype=float), warning, danger).iloc[0])


def whatif_table(whatif: WhatIf) -> pd.DataFrame:
    """One row per figure: current, change, after (the position in units; the rest in base currency)."""
    rows = [{"figure": label, "current": getattr(whatif, key).current, "change": getattr(whatif, key).change,
             "after": getattr(whatif, key).after} for key, label in (*FIGURES, ("position", "Position (units)"))]
    return pd.DataFrame(rows)
