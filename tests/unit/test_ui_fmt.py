"""The pages' number formatting: the privacy mask, the drop to a margin call, margin alerts."""

from __future__ import annotations

import math

from ibkr_desk.ui import fmt


def test_money_is_masked_but_ratios_are_not():
    assert fmt.money(12_345_678.4, "USD") == "12,345,678 USD"
    assert fmt.money(12_345_678.4, "USD", masked=True) == f"{fmt.MASK} USD"
    assert fmt.signed_money(-2_001, "EUR") == "-2,001 EUR"
    assert fmt.pct(0.1034) == "10.3 %"
    assert fmt.money(math.nan) == fmt.pct(None) == "—"


def test_a_drop_of_100_percent_or_more_means_no_margin_call():
    assert fmt.drop(0.417) == "41.7 %"
    assert fmt.drop(1.231) == "none (> 100 %)"
    assert fmt.drop(math.nan) == "—"


def row(status: str, initial: float, maint: float, excess: float = 1.0) -> dict:
    return {"account": "U1", "status": status, "utilisation_initial": initial, "utilisation_maint": maint,
            "excess_liquidity": excess}


def test_margin_alert_names_the_utilisation_over_the_threshold():
    assert fmt.margin_alert(row("ok", 0.5, 0.3), 0.7, 0.9) is None
    assert fmt.margin_alert(row("warning", 0.708, 0.454), 0.7, 0.9) == (
        "U1: initial utilisation 70.8 % is above the warning level (70%).")
    danger = fmt.margin_alert(row("danger", 0.5, 0.95), 0.7, 0.9)
    assert danger.startswith("U1: maintenance utilisation 95.0 % is above the danger level (90%).")
    assert "Reduce positions or add funds" in danger
    assert "liquidat" in fmt.margin_alert(row("danger", 1.2, 1.1, excess=-5.0), 0.7, 0.9)
