"""The pages' number formatting: the privacy mask, the drop to a margin call, margin alerts."""

from __future__ import annotations

import math
import re

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


def test_margin_alert_names_the_maintenance_utilisation_ibkr_liquidates_on_with_the_initial_beside_it():
    assert fmt.margin_alert(row("ok", 0.5, 0.3), 0.7, 0.9) is None
    assert fmt.margin_alert(row("ok", 0.95, 0.49), 0.7, 0.9) is None  # a high initial alone is no margin danger
    assert fmt.margin_alert(row("warning", 0.808, 0.754), 0.7, 0.9) == (
        "U1: maintenance utilisation 75.4 % is above the warning level (70%); initial 80.8 %.")
    danger = fmt.margin_alert(row("danger", 0.5, 0.95), 0.7, 0.9)
    assert danger.startswith("U1: maintenance utilisation 95.0 % is above the danger level (90%); initial 50.0 %.")
    assert "Reduce positions or add funds" in danger
    assert "liquidat" in fmt.margin_alert(row("danger", 1.2, 1.1, excess=-5.0), 0.7, 0.9)
    # Initial at 137 % (negative available funds) was a footnote of the maintenance warning, or said nowhere.
    assert fmt.margin_alert(row("warning", 1.37, 0.74), 0.7, 0.9) == (
        "U1: maintenance utilisation 74.0 % is above the warning level (70%). Initial utilisation 137.0 %: available "
        "funds are negative, so IBKR refuses orders that add margin.")
    assert "refuses orders that add margin" in fmt.margin_alert(row("ok", 1.003, 0.54), 0.7, 0.9)


def test_quantities_are_exact_with_thousands_separators_never_rounded_nor_in_exponent_form():
    # 10,266 HSBA shares were shown as 10,270; a 100,000 bond as 1e+05; a ticket read "BUY 1e+09 AAPL".
    from ibkr.numbers import exact

    assert [exact(v) for v in (10266, 27.2848, 100000.0, 1e9, 229.123456, 1e-07, -5.0, None)] == [
        "10,266", "27.2848", "100,000", "1,000,000,000", "229.123456", "0.0000001", "-5", "—"]
    assert fmt.quantity(10266.0) == "10,266" and fmt.quantity(10266.0, masked=True) == fmt.MASK


def test_a_ticket_describes_its_quantity_and_prices_exactly():
    from ibkr.orders import StockOrder

    ticket = StockOrder(account_id="DU1", symbol="AAPL", side="BUY", quantity=1e9, order_type="LMT",
                        limit_price=229.123456)
    assert ticket.describe() == "BUY 1,000,000,000 AAPL LMT limit 229.123456 DAY"


def test_bar_labels_outside_short_bars_fit_inside_the_plot_with_their_sign():
    # At 1280 px a -29.7k STK bar read "9k" and a -255.2k JPY bar "5.2k": labels cut at the plot's edge.
    import pandas as pd

    from ibkr_desk.ui import figures

    positions = pd.DataFrame({"asset_class": ["STK", "OPT", "FUT"], "unrealized_pnl_report": [-29_700, 1_200, 250_000]})
    fig = figures.pnl_by_asset_class(positions, "USD")
    bar = fig.data[0]
    assert list(bar.text) == ["-29.7k", "1.2k", "250.0k"] and bar.cliponaxis is False
    lo, hi = fig.layout.xaxis.range
    span = 250_000 + 29_700
    assert lo <= -29_700 - 0.2 * span and hi >= 250_000 + 0.2 * span  # room for a label beyond either end


def test_escaped_text_can_neither_format_nor_inject_html():
    # A name from a sign-in provider or IBKR goes into markdown that allows HTML (the sidebar's identity, IBKR's
    # question header): every character that starts a tag or formatting is escaped.
    from ibkr_desk.ui.fmt import escape

    shown = escape("<img src=x onerror=alert(1)> *bold* [link](http://evil.example)")
    assert re.search(r"(?<!\\)[<>]", shown) is None and "\\<img" in shown
    assert "\\*bold\\*" in shown and "\\[link\\]\\(http://evil\\.example\\)" in shown
