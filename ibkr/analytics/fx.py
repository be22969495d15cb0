"""FX rates from the ledgers: native -> an account's base currency, and base -> a report currency.

Every rate comes from IBKR's ``/portfolio/{id}/ledger``: ``exchangerate`` of currency ``c`` is the value of one
unit of ``c`` in the account's base currency. Nothing is fetched from elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from ibkr.models.balances import Ledger

LEDGER_COLUMNS = ["account", "currency", "exchange_rate", "cash_balance", "net_liquidation_value"]


def ledger_frame(ledgers: Mapping[str, Ledger]) -> pd.DataFrame:
    """One row per (account, currency) of the ledgers, without the ``BASE`` aggregate: ``LEDGER_COLUMNS``."""
    rows = [(acct, ccy, e.exchange_rate, e.cash_balance, e.net_liquidation_value)
            for acct, ledger in ledgers.items() for ccy, e in ledger.currencies.items()]
    frame = pd.DataFrame(rows, columns=LEDGER_COLUMNS)
    return frame.astype({"exchange_rate": float, "cash_balance": float, "net_liquidation_value": float})


def base_net_liquidation(ledgers: Mapping[str, Ledger]) -> pd.Series:
    """Ledger ``BASE`` net liquidation per account (NaN when the ledger has no ``BASE`` entry)."""
    values = {acct: (ledger.base.net_liquidation_value if ledger.base else None) for acct, ledger in ledgers.items()}
    return pd.Series(values, dtype=float, name="net_liquidation")


def _rates(ledger: Ledger) -> dict[str, float]:
    return {ccy: e.exchange_rate for ccy, e in ledger.currencies.items()
            if e.exchange_rate is not None and e.exchange_rate > 0}


def resolve_base_currencies(ledgers: Mapping[str, Ledger], base_currency: Mapping[str, str | None]) -> dict[str, str]:
    """Base currency per account: ``base_currency`` (from ``Account.currency``) where given, else the ledger's only
    currency whose exchange rate is exactly 1. Accounts where neither works are left out."""
    out = {acct: ccy for acct, ccy in base_currency.items() if ccy}
    for acct, ledger in ledgers.items():
        if acct not in out:
            ones = [ccy for ccy, rate in _rates(ledger).items() if rate == 1.0]
            if len(ones) == 1:
                out[acct] = ones[0]
    return out


def default_report_currency(base_currency: Mapping[str, str | None]) -> str | None:
    """The first account's base currency (the order of ``base_currency``), or None without accounts."""
    return next((ccy for ccy in base_currency.values() if ccy), None)


def fx_table(ledgers: Mapping[str, Ledger], base_currency: Mapping[str, str | None],
             report_currency: str | None = None) -> pd.DataFrame:
    """Units of ``report_currency`` per unit of every currency in any ledger.

    Index ``currency``; columns ``rate``, ``source_account`` (whose ledger gave it), ``method``.

    - ``direct``: ``rate(c -> report) = ledger[acct][c].exchangerate / ledger[acct][report].exchangerate`` from an
      account whose ledger lists the report currency (accounts whose base *is* the report currency first, where the
      denominator is 1).
    - fallback ``via X``: a ledger without the report currency is chained through a currency ``X`` it shares with
      rates already known (its base currency first): ``rate(c) = ledger[acct][c] / ledger[acct][X] * rate(X)``.
    - a currency no chain reaches is absent; callers turn it into NaN and flag it.

    ``report_currency`` defaults to the first account's base currency.
    """
    bases = resolve_base_currencies(ledgers, base_currency)
    report = report_currency or default_report_currency(bases)
    table: dict[str, tuple[float, str | None, str]] = {}
    if report:
        table[report] = (1.0, None, "identity")
    rates = {acct: {**({bases[acct]: 1.0} if acct in bases else {}), **_rates(ledger)}
             for acct, ledger in ledgers.items()}
    order = sorted(rates, key=lambda acct: bases.get(acct) != report)
    for acct in order:
        r = rates[acct]
        if report in r:
            for ccy, rate in r.items():
                table.setdefault(ccy, (rate / r[report], acct, "direct"))
    changed = True
    while changed and report:
        changed = False
        for acct in order:
            r = rates[acct]
            anchors = [x for x in [bases.get(acct), *sorted(r)] if x in r and x in table]
            missing = [ccy for ccy in r if ccy not in table]
            if anchors and missing:
                anchor = anchors[0]
                for ccy in missing:
                    table[ccy] = (r[ccy] / r[anchor] * table[anchor][0], acct, f"via {anchor}")
                changed = True
    frame = pd.DataFrame.from_dict(table, orient="index", columns=["rate", "source_account", "method"])
    frame.index.name = "currency"
    frame.attrs["report_currency"] = report
    return frame.astype({"rate": float})


def base_to_report(ledgers: Mapping[str, Ledger], base_currency: Mapping[str, str | None],
                   report_currency: str, accounts: list[str] | None = None) -> pd.Series:
    """Units of ``report_currency`` per unit of each account's base currency, indexed by account.

    1 when the base is the report currency; ``1 / ledger[acct][report].exchangerate`` when the account's own ledger
    lists the report currency (so native -> report equals ``ledger[c] / ledger[report]`` exactly); otherwise the
    :func:`fx_table` fallback for the account's base currency; NaN when no ledger links the two.
    """
    bases = resolve_base_currencies(ledgers, base_currency)
    table = fx_table(ledgers, bases, report_currency)["rate"]
    out: dict[str, float] = {}
    for acct in accounts if accounts is not None else list(dict.fromkeys([*bases, *ledgers])):
        base = bases.get(acct)
        own = _rates(ledgers[acct]) if acct in ledgers else {}
        if base == report_currency:
            out[acct] = 1.0
        elif report_currency in own:
            out[acct] = 1.0 / own[report_currency]
        else:
            out[acct] = float(table.get(base, math.nan)) if base else math.nan
    return pd.Series(out, dtype=float, name="fx_to_report")
