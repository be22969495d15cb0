"""Analytics against numbers worked out by hand.

The world (IBKR-shaped payloads, parsed with the library's models):

U1, base USD. Ledger rates: USD 1, EUR 1.25, JPY 0.0065. Cash: USD 50,000; EUR 20,000; JPY -1,000,000 (borrowed).
  AAPL  STK  USD  +100 @ 200,  avgCost 150          mv  20,000   upnl  5,000
  TSLA  STK  USD   -50 @ 180,  avgCost 200 (short)  mv  -9,000   upnl  1,000 (= -9,000 - (-10,000)), rpnl 250
  SPY   OPT  USD    +2 @ 5.00, x100, avgCost 350    mv   1,000   upnl    300 (= 1,000 - 2 x 350)
  EUR.USD CASH USD +10,000 @ 1.25, avgCost 1.23     mv  12,500   upnl    200 (its effect is in the EUR/USD cash)
  FGBL  FUT  EUR    +1 @ 130, x1000, avgCost 129,500 mv 130,000 (notional)  upnl 500
  SAP   STK  EUR  +100 @ 150,  avgCost 140          mv  15,000   upnl  1,000, rpnl 100
  7203  STK  JPY  +200 @ 2,500, avgCost 2,400       mv 500,000   upnl 20,000
  Net liquidation (ledger BASE) 103,125 USD (see test_fx_exposure_one_account for the sum).

U2, base EUR. Ledger rates: EUR 1, USD 0.8, GBP 1.2. Cash: EUR 10,000; USD -2,000; GBP 1,000.
  ASML  STK  EUR   +10 @ 700,  avgCost 600          mv   7,000   upnl  1,000, rpnl -80
  MSFT  STK  USD   +10 @ 400,  avgCost 350          mv   4,000   upnl    500
  Net liquidation (ledger BASE) 19,800 EUR.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from ibkr.analytics import (
    CASH_BALANCE_LABEL,
    EXPOSURE_COLUMNS,
    HELP,
    MARGIN_COLUMNS,
    POSITION_COLUMNS,
    TOTAL_LABEL,
    TOTALS_COLUMNS,
    account_totals,
    fx_exposure,
    fx_exposure_by_asset_class,
    fx_sensitivity,
    fx_table,
    margin_table,
    positions_frame,
)
from ibkr.models.balances import AccountSummary, Ledger, PartitionedPnl
from ibkr.models.positions import Position
from tests.fixtures.cpapi_samples import load_sample

AS_OF = pd.Timestamp("2025-03-14 15:30", tz="UTC")
BASES = {"U1": "USD", "U2": "EUR"}


# ---- IBKR-shaped payloads ------------------------------------------------------------------------------------------
def position(acct: str, conid: int, ticker: str, cls: str, ccy: str, qty: float, price: float, avg_price: float,
             mult: float = 0.0, upnl: float = 0.0, rpnl: float = 0.0, **extra) -> Position:
    """A ``/portfolio/{id}/positions/{page}`` element (multiplier 0.0 for stocks, strike a string, as IBKR)."""
    unit = mult or 1.0
    payload = {
        "acctId": acct, "conid": conid, "ticker": ticker, "contractDesc": ticker, "assetClass": cls, "currency": ccy,
        "position": qty, "mktPrice": price, "mktValue": round(qty * price * unit, 2), "avgPrice": avg_price,
        "avgCost": avg_price * unit, "multiplier": mult, "unrealizedPnl": upnl, "realizedPnl": rpnl,
        "listingExchange": "SMART", "countryCode": "US", "strike": "0", "putOrCall": None, "expiry": None,
        "pageSize": 100, "incrementRules": [{"increment": 0.01, "lowerEdge": 0.0}],
    }
    payload.update(extra)
    return Position.model_validate(payload)


def ledger(acct: str, entries: dict[str, tuple[float, float]], nlv: float) -> Ledger:
    """A ``/portfolio/{id}/ledger`` payload: currency -> (cashbalance, exchangerate), plus ``BASE``."""
    payload = {ccy: {"acctcode": acct, "currency": ccy, "secondkey": ccy, "key": "LedgerList", "cashbalance": cash,
                     "settledcash": cash, "exchangerate": rate, "netliquidationvalue": 0.0, "severity": 0,
                     "timestamp": 1741966200} for ccy, (cash, rate) in entries.items()}
    payload["BASE"] = {"acctcode": acct, "currency": "BASE", "secondkey": "BASE", "key": "LedgerList",
                       "cashbalance": sum(c * r for c, r in entries.values()), "exchangerate": 1,
                       "netliquidationvalue": nlv, "timestamp": 1741966200}
    return Ledger.model_validate(payload)


def summary(ccy: str, **amounts: float) -> AccountSummary:
    """A ``/portfolio/{id}/summary`` payload: every money key as ``{amount, currency, isNull, ...}``."""
    payload = {key: {"amount": value, "currency": ccy, "isNull": False, "severity": 0, "timestamp": 1741966200000,
                     "value": None} for key, value in amounts.items()}
    payload["accountcode"] = {"amount": 0.0, "currency": None, "isNull": False, "value": "U?"}
    return AccountSummary.model_validate(payload)


U1_POSITIONS = [
    position("U1", 265598, "AAPL", "STK", "USD", 100, 200.0, 150.0, upnl=5_000),
    position("U1", 76792991, "TSLA", "STK", "USD", -50, 180.0, 200.0, upnl=1_000, rpnl=250),
    position("U1", 584891614, "SPY", "OPT", "USD", 2, 5.00, 3.50, mult=100.0, upnl=300,
             strike="440", putOrCall="C", expiry="20250620", contractDesc="SPY JUN2025 440 C [SPY 100]"),
    position("U1", 12087792, "EUR.USD", "CASH", "USD", 10_000, 1.25, 1.23, upnl=200, listingExchange="IDEALPRO"),
    position("U1", 564395016, "FGBL", "FUT", "EUR", 1, 130.0, 129.5, mult=1000.0, upnl=500,
             expiry="20250306", listingExchange="EUREX", countryCode="DE"),
    position("U1", 14204, "SAP", "STK", "EUR", 100, 150.0, 140.0, upnl=1_000, rpnl=100, countryCode="DE"),
    position("U1", 13905, "7203", "STK", "JPY", 200, 2_500.0, 2_400.0, upnl=20_000, countryCode="JP"),
]
U2_POSITIONS = [
    position("U2", 117902840, "ASML", "STK", "EUR", 10, 700.0, 600.0, upnl=1_000, rpnl=-80, countryCode="NL"),
    position("U2", 272093, "MSFT", "STK", "USD", 10, 400.0, 350.0, upnl=500),
]
LEDGERS = {
    "U1": ledger("U1", {"USD": (50_000, 1.0), "EUR": (20_000, 1.25), "JPY": (-1_000_000, 0.0065)}, nlv=103_125),
    "U2": ledger("U2", {"EUR": (10_000, 1.0), "USD": (-2_000, 0.8), "GBP": (1_000, 1.2)}, nlv=19_800),
}
PNL = PartitionedPnl.model_validate({"upnl": {
    "U1.Core": {"rowType": 1, "dpl": 1_200.0, "nl": 103_125.0, "upl": 8_505.0, "el": 55_000.0, "mv": 40_000.0},
    "U2.Core": {"rowType": 1, "dpl": -400.0, "nl": 19_800.0, "upl": 1_400.0, "el": 1_500.0, "mv": 11_000.0},
}})


@pytest.fixture
def one_account() -> pd.DataFrame:
    return positions_frame(U1_POSITIONS, {"U1": LEDGERS["U1"]}, {"U1": "USD"}, as_of=AS_OF)


@pytest.fixture
def two_accounts() -> pd.DataFrame:
    return positions_frame(U1_POSITIONS + U2_POSITIONS, LEDGERS, BASES, as_of=AS_OF, report_currency="USD")


def row(frame: pd.DataFrame, column: str, value) -> pd.Series:
    rows = frame[frame[column] == value]
    assert len(rows) == 1, f"expected one row with {column} == {value!r}, got {len(rows)}"
    return rows.iloc[0]


# ---- positions frame -----------------------------------------------------------------------------------------------
def test_positions_frame_has_one_row_per_position_with_the_documented_columns(one_account):
    assert list(one_account.columns) == POSITION_COLUMNS
    assert len(one_account) == len(U1_POSITIONS)
    assert (one_account["as_of"] == AS_OF).all() and one_account.attrs["as_of"] == AS_OF
    assert not one_account["fx_missing"].any()


def test_short_stock_shows_a_gain_when_the_price_fell(one_account):
    tsla = row(one_account, "symbol", "TSLA")
    # cost basis = -50 x 200 = -10,000; market value = -50 x 180 = -9,000; P&L = +1,000 = +10 % of |cost basis|
    assert tsla["cost_basis"] == pytest.approx(-10_000)
    assert tsla["market_value"] == pytest.approx(-9_000)
    assert tsla["unrealized_pnl_pct"] == pytest.approx(0.10)
    assert tsla["realized_pnl_base"] == pytest.approx(250)


def test_option_market_value_and_cost_include_the_multiplier(one_account):
    spy = row(one_account, "symbol", "SPY")
    # 2 contracts x 5.00 x 100 = 1,000; cost 2 x 350 (avgCost = 3.50 x 100) = 700; P&L 300 / 700 = 42.857 %
    assert spy["multiplier"] == 100
    assert spy["market_value"] == pytest.approx(1_000)
    assert spy["cost_basis"] == pytest.approx(700)
    assert spy["unrealized_pnl_pct"] == pytest.approx(300 / 700)
    # Average price in the units of the price beside it (3.50 per option), not per contract (350).
    assert (spy["price"], spy["avg_price"], spy["avg_cost"]) == (5.0, pytest.approx(3.5), pytest.approx(350))
    assert row(one_account, "symbol", "FGBL")["avg_price"] == pytest.approx(129.5)
    assert (spy["strike"], spy["right"], spy["expiry"]) == (440.0, "C", pd.Timestamp("2025-06-20"))


def test_foreign_positions_are_converted_with_the_ledger_rate(one_account):
    sap, toyota = row(one_account, "symbol", "SAP"), row(one_account, "symbol", "7203")
    # SAP 15,000 EUR x 1.25 = 18,750 USD; Toyota 500,000 JPY x 0.0065 = 3,250 USD, P&L 20,000 x 0.0065 = 130
    assert (sap["fx_rate"], sap["market_value_base"], sap["base_currency"]) == (1.25, pytest.approx(18_750), "USD")
    assert toyota["market_value_base"] == pytest.approx(3_250)
    assert toyota["unrealized_pnl_base"] == pytest.approx(130)


def test_future_exposure_is_its_pnl_not_its_notional(one_account):
    fgbl = row(one_account, "symbol", "FGBL")
    # market value is the notional 1 x 130 x 1,000 = 130,000 EUR; exposure is the open P&L 500 EUR = 625 USD
    assert fgbl["market_value"] == pytest.approx(130_000)
    assert fgbl["exposure"] == pytest.approx(500)
    assert fgbl["exposure_base"] == pytest.approx(625)


def test_a_currency_without_a_ledger_rate_is_flagged_not_dropped():
    nestle = position("U1", 61462, "NESN", "STK", "CHF", 10, 100.0, 90.0, upnl=100)
    frame = positions_frame([*U1_POSITIONS, nestle], {"U1": LEDGERS["U1"]}, {"U1": "USD"}, as_of=AS_OF)
    nesn = row(frame, "symbol", "NESN")
    assert len(frame) == len(U1_POSITIONS) + 1
    assert nesn["fx_missing"] and math.isnan(nesn["fx_rate"]) and math.isnan(nesn["market_value_base"])
    assert nesn["market_value"] == pytest.approx(1_000)
    exposure = fx_exposure(frame, {"U1": LEDGERS["U1"]}, {"U1": "USD"})
    chf = row(exposure, "currency", "CHF")
    assert chf["exposure_native"] == pytest.approx(1_000) and chf["missing"] == 1 and math.isnan(chf["exposure_base"])
    assert account_totals(frame, {"U1": LEDGERS["U1"]}, {"U1": "USD"})["fx_missing"].iloc[0] == 1


def test_positions_in_the_report_currency_use_each_accounts_own_ledger(two_accounts):
    msft, asml = row(two_accounts, "symbol", "MSFT"), row(two_accounts, "symbol", "ASML")
    # U2 (EUR base): MSFT 4,000 USD x 0.8 = 3,200 EUR; to USD: x 1 / ledger[U2][USD] = / 0.8 -> 4,000 USD again
    assert msft["market_value_base"] == pytest.approx(3_200)
    assert msft["market_value_report"] == pytest.approx(4_000)
    # ASML 7,000 EUR x 1 x 1.25 = 8,750 USD
    assert asml["fx_rate_report"] == pytest.approx(1.25) and asml["market_value_report"] == pytest.approx(8_750)


# ---- FX exposure ---------------------------------------------------------------------------------------------------
def test_fx_exposure_one_account(one_account):
    exposure = fx_exposure(one_account, {"U1": LEDGERS["U1"]}, {"U1": "USD"})
    assert list(exposure.columns) == EXPOSURE_COLUMNS
    usd, eur, jpy = (row(exposure, "currency", c) for c in ("USD", "EUR", "JPY"))
    # USD: AAPL 20,000 - TSLA 9,000 + SPY 1,000 = 12,000 (EUR.USD left out) + cash 50,000 = 62,000
    assert (usd["positions_native"], usd["exposure_native"]) == (pytest.approx(12_000), pytest.approx(62_000))
    assert (usd["long_native"], usd["short_native"]) == (pytest.approx(71_000), pytest.approx(-9_000))
    # EUR: SAP 15,000 + FGBL P&L 500 (not 130,000) + cash 20,000 = 35,500 EUR x 1.25 = 44,375 USD.
    # Counting the EUR.USD pair as well would add its 12,500: the pair's EUR is already in the 20,000 of cash.
    assert eur["exposure_native"] == pytest.approx(35_500)
    assert eur["exposure_base"] == pytest.approx(44_375)
    # JPY: Toyota 500,000 + borrowed cash -1,000,000 = -500,000 JPY x 0.0065 = -3,250 USD
    assert jpy["exposure_native"] == pytest.approx(-500_000)
    assert jpy["exposure_base"] == pytest.approx(-3_250)
    assert (jpy["long_base"], jpy["short_base"], jpy["cash_base"]) == (pytest.approx(3_250), pytest.approx(-6_500),
                                                                       pytest.approx(-6_500))
    # net liquidation 62,000 + 44,375 - 3,250 = 103,125 = ledger BASE
    assert exposure["exposure_base"].sum() == pytest.approx(103_125)
    assert eur["pct_of_net_liquidation"] == pytest.approx(44_375 / 103_125)
    assert jpy["pct_of_net_liquidation"] == pytest.approx(-3_250 / 103_125)
    assert usd["is_base"] and not eur["is_base"] and not jpy["is_base"]
    assert list(exposure["currency"]) == ["USD", "EUR", "JPY"]  # largest |exposure_base| first


def test_fx_exposure_consolidated_in_the_report_currency(two_accounts):
    exposure = fx_exposure(two_accounts, LEDGERS, BASES, report_currency="USD")
    by_ccy = exposure.set_index("currency")
    # EUR: U1 35,500 + U2 (ASML 7,000 + cash 10,000) = 52,500 EUR x 1.25 = 65,625 USD
    assert by_ccy.loc["EUR", "exposure_native"] == pytest.approx(52_500)
    assert by_ccy.loc["EUR", "exposure_base"] == pytest.approx(65_625)
    # USD: U1 62,000 + U2 (MSFT 4,000 - borrowed 2,000) = 64,000
    assert by_ccy.loc["USD", "exposure_base"] == pytest.approx(64_000)
    # GBP (only in U2's ledger): 1,000 x 1.2 EUR x 1.25 = 1,500 USD
    assert by_ccy.loc["GBP", "exposure_base"] == pytest.approx(1_500)
    assert by_ccy.loc["GBP", "fx_rate"] == pytest.approx(1.5)
    # net liquidation: 103,125 + 19,800 EUR x 1.25 = 127,875 USD = 64,000 + 65,625 - 3,250 + 1,500
    assert exposure.attrs["net_liquidation"] == pytest.approx(127_875)
    assert by_ccy.loc["JPY", "pct_of_net_liquidation"] == pytest.approx(-3_250 / 127_875)


def test_fx_exposure_by_asset_class_splits_currency_into_classes_and_sides(one_account):
    parts = fx_exposure_by_asset_class(one_account, {"U1": LEDGERS["U1"]}, {"U1": "USD"})
    jpy = parts[parts["currency"] == "JPY"].set_index("asset_class")
    # Toyota long 500,000 JPY = 3,250 USD; the borrowed 1,000,000 JPY is a short cash part of -6,500 USD
    assert jpy.loc["STK", "exposure_base"] == pytest.approx(3_250) and jpy.loc["STK", "side"] == "long"
    assert jpy.loc[CASH_BALANCE_LABEL, "exposure_base"] == pytest.approx(-6_500)
    assert jpy.loc[CASH_BALANCE_LABEL, "side"] == "short"
    assert jpy.loc[CASH_BALANCE_LABEL, "abs_exposure_base"] == pytest.approx(6_500)
    assert "CASH" not in set(parts["asset_class"])  # the EUR.USD pair is not exposure
    fut = parts[(parts["currency"] == "EUR") & (parts["asset_class"] == "FUT")]
    assert fut["exposure_base"].tolist() == [pytest.approx(625)]
    # the parts add up to the net exposure of each currency
    assert parts.groupby("currency")["exposure_base"].sum()["EUR"] == pytest.approx(44_375)


def test_fx_sensitivity_is_move_times_base_exposure_and_leaves_out_the_base(one_account):
    exposure = fx_exposure(one_account, {"U1": LEDGERS["U1"]}, {"U1": "USD"})
    result = fx_sensitivity(exposure, 0.10).set_index("currency")
    # EUR +10 % -> 0.10 x 44,375 = +4,437.5 USD; JPY +10 % -> 0.10 x -3,250 = -325 USD (the borrowing costs more)
    assert set(result.index) == {"EUR", "JPY"}
    assert result.loc["EUR", "nlv_change"] == pytest.approx(4_437.5)
    assert result.loc["JPY", "nlv_change"] == pytest.approx(-325)
    assert result.loc["JPY", "nlv_change_pct"] == pytest.approx(-325 / 103_125)
    one = fx_sensitivity(exposure, {"EUR": -0.05})
    assert one["nlv_change"].tolist() == [pytest.approx(-2_218.75)]  # -0.05 x 44,375
    with pytest.raises(ValueError, match="base currency"):
        fx_sensitivity(exposure, {"USD": 0.1})


# ---- FX rates ------------------------------------------------------------------------------------------------------
def test_fx_table_direct_and_chained_through_another_ledger():
    ledgers = {
        "A": ledger("A", {"USD": (0, 1.0), "EUR": (0, 1.25)}, nlv=0),     # base USD
        "B": ledger("B", {"EUR": (0, 1.0), "GBP": (0, 1.2)}, nlv=0),      # base EUR, no USD in its ledger
        "C": ledger("C", {"CHF": (0, 1.0), "GBP": (0, 1.1)}, nlv=0),      # base CHF, neither USD nor EUR
    }
    table = fx_table(ledgers, {"A": "USD", "B": "EUR", "C": "CHF"}, "USD")
    # EUR direct from A: 1.25 / 1; GBP via EUR in B: 1.2 / 1 x 1.25 = 1.5; CHF via GBP in C: 1 / 1.1 x 1.5
    assert table.loc["EUR", "rate"] == pytest.approx(1.25) and table.loc["EUR", "method"] == "direct"
    assert table.loc["GBP", "rate"] == pytest.approx(1.5) and table.loc["GBP", "method"] == "via EUR"
    assert table.loc["CHF", "rate"] == pytest.approx(1.5 / 1.1) and table.loc["CHF", "source_account"] == "C"
    # a position of C in CHF reaches the report currency through that chain
    frame = positions_frame([position("C", 1, "NESN", "STK", "CHF", 10, 110.0, 100.0)], ledgers,
                            {"A": "USD", "B": "EUR", "C": "CHF"}, as_of=AS_OF, report_currency="USD")
    assert frame["market_value_report"].iloc[0] == pytest.approx(1_100 * 1.5 / 1.1)  # = 1,500 USD


def test_fx_table_defaults_to_the_first_accounts_base():
    table = fx_table(LEDGERS, BASES)
    # report USD: U2's USD rate 0.8 gives EUR = 1 / 0.8 only if U1 were missing; U1 (base USD) is used first
    assert table.attrs["report_currency"] == "USD"
    assert table.loc["EUR", "rate"] == pytest.approx(1.25) and table.loc["EUR", "source_account"] == "U1"
    assert table.loc["GBP", "rate"] == pytest.approx(1.2 / 0.8)


# ---- totals --------------------------------------------------------------------------------------------------------
def test_account_totals_per_account_and_consolidated(two_accounts):
    totals = account_totals(two_accounts, LEDGERS, BASES, pnl=PNL, report_currency="USD")
    assert list(totals.columns) == TOTALS_COLUMNS
    u1, u2, total = (row(totals, "account", a) for a in ("U1", "U2", TOTAL_LABEL))
    # U1 unrealised (USD): 5,000 + 1,000 + 300 + 200 + 500 x 1.25 + 1,000 x 1.25 + 20,000 x 0.0065 = 8,505
    assert u1["unrealized_pnl"] == pytest.approx(8_505)
    # U1 long: AAPL 20,000 + SPY 1,000 + SAP 18,750 + Toyota 3,250 = 43,000 (no pair, no futures notional)
    assert (u1["market_value_long"], u1["market_value_short"]) == (pytest.approx(43_000), pytest.approx(-9_000))
    assert u1["realized_pnl"] == pytest.approx(250 + 100 * 1.25)
    # U2 in EUR: unrealised 1,000 + 500 x 0.8 = 1,400 EUR -> 1,750 USD; net liquidation 19,800 EUR -> 24,750 USD
    assert (u2["base_currency"], u2["unrealized_pnl"]) == ("EUR", pytest.approx(1_400))
    assert (u2["net_liquidation_report"], u2["unrealized_pnl_report"]) == (pytest.approx(24_750),
                                                                           pytest.approx(1_750))
    # daily P&L: 1,200 USD + (-400 EUR x 1.25 = -500 USD) = 700 USD
    assert total["daily_pnl_report"] == pytest.approx(700)
    assert total["net_liquidation_report"] == pytest.approx(103_125 + 24_750)
    assert total["unrealized_pnl_report"] == pytest.approx(8_505 + 1_750)
    assert total["realized_pnl_report"] == pytest.approx(375 - 100)
    # U2 long 7,000 + 3,200 = 10,200 EUR -> 12,750 USD; total 43,000 + 12,750
    assert total["market_value_long_report"] == pytest.approx(55_750)
    assert total["positions"] == 9
    # the base-currency columns of the total are empty: USD and EUR cannot be added
    assert math.isnan(total["net_liquidation"]) and total["base_currency"] is None


def test_an_empty_account_totals_to_zero_and_keeps_its_cash():
    ledgers = {"U3": ledger("U3", {"USD": (10_000, 1.0)}, nlv=10_000)}
    frame = positions_frame([], ledgers, {"U3": "USD"}, as_of=AS_OF)
    assert frame.empty and list(frame.columns) == POSITION_COLUMNS
    totals = account_totals(frame, ledgers, {"U3": "USD"})
    u3 = row(totals, "account", "U3")
    assert (u3["positions"], u3["unrealized_pnl"], u3["net_liquidation"]) == (0, 0.0, 10_000)
    exposure = fx_exposure(frame, ledgers, {"U3": "USD"})
    assert exposure["currency"].tolist() == ["USD"]
    assert exposure["pct_of_net_liquidation"].tolist() == [pytest.approx(1.0)]
    assert fx_sensitivity(exposure, 0.1).empty  # only the base currency: nothing can move


# ---- margin --------------------------------------------------------------------------------------------------------
SUMMARIES = {
    "U1": summary("USD", netliquidation=103_125, equitywithloanvalue=100_000, initmarginreq=60_000,
                  maintmarginreq=45_000, excessliquidity=55_000, availablefunds=40_000, buyingpower=160_000,
                  sma=30_000, grosspositionvalue=150_000, lookaheadinitmarginreq=62_000,
                  lookaheadmaintmarginreq=46_000, lookaheadexcessliquidity=54_000, lookaheadavailablefunds=38_000),
    "U2": summary("EUR", netliquidation=19_800, equitywithloanvalue=20_000, initmarginreq=15_000,
                  maintmarginreq=18_500, excessliquidity=1_500, availablefunds=5_000, buyingpower=20_000,
                  sma=1_000, grosspositionvalue=40_000),
}


def test_margin_utilisation_cushion_and_drop_to_margin_call():
    table = margin_table(SUMMARIES, LEDGERS, BASES, report_currency="USD")
    assert list(table.columns) == MARGIN_COLUMNS
    u1, u2 = row(table, "account", "U1"), row(table, "account", "U2")
    # U1: 60,000 / 100,000 = 0.60; 45,000 / 100,000 = 0.45; cushion 55,000 / 103,125 = 8/15
    assert (u1["utilisation_initial"], u1["utilisation_maint"]) == (pytest.approx(0.60), pytest.approx(0.45))
    assert u1["cushion"] == pytest.approx(8 / 15)
    # m = 45,000 / 150,000 = 0.3; d* = 55,000 / (150,000 x 0.7) = 55,000 / 105,000
    assert u1["drop_to_margin_call"] == pytest.approx(55_000 / 105_000)
    assert u1["lookahead_init_margin"] == pytest.approx(62_000) and u1["status"] == "ok"
    # U2 (amounts x 1.25 into USD; ratios unchanged): 15,000 / 20,000 = 0.75 (warning); 18,500 / 20,000 = 0.925
    assert u2["init_margin"] == pytest.approx(18_750) and u2["fx_to_report"] == pytest.approx(1.25)
    assert (u2["utilisation_initial"], u2["utilisation_maint"]) == (pytest.approx(0.75), pytest.approx(0.925))
    assert (u2["status_initial"], u2["status_maint"], u2["status"]) == ("warning", "danger", "danger")
    # m = 18,500 / 40,000 = 0.4625; d* = 1,500 / (40,000 x 0.5375) = 1,500 / 21,500
    assert u2["drop_to_margin_call"] == pytest.approx(1_500 / 21_500)
    assert u2["cushion"] == pytest.approx(1_500 / 19_800)


def test_margin_total_recomputes_ratios_from_summed_amounts():
    total = row(margin_table(SUMMARIES, LEDGERS, BASES, report_currency="USD"), "account", TOTAL_LABEL)
    # USD: ELV 100,000 + 25,000; initial 60,000 + 18,750; maint 45,000 + 23,125; excess 55,000 + 1,875;
    # net liquidation 103,125 + 24,750; GPV 150,000 + 50,000
    assert total["equity_with_loan"] == pytest.approx(125_000)
    assert total["utilisation_initial"] == pytest.approx(78_750 / 125_000)  # 0.63, not the average 0.675
    assert total["utilisation_maint"] == pytest.approx(68_125 / 125_000)
    assert total["cushion"] == pytest.approx(56_875 / 127_875)
    assert total["drop_to_margin_call"] == pytest.approx(56_875 / (200_000 - 68_125))
    assert total["status"] == "ok"


def test_margin_thresholds_are_parameters_and_inclusive():
    table = margin_table({"U1": SUMMARIES["U1"]}, warning=0.45, danger=0.60)
    u1 = row(table, "account", "U1")
    # initial 0.60 reaches danger 0.60; maintenance 0.45 reaches warning 0.45; the status is the maintenance one
    assert (u1["status_initial"], u1["status_maint"], u1["status"]) == ("danger", "warning", "warning")
    at_default = summary("USD", netliquidation=100, equitywithloanvalue=100, initmarginreq=70, maintmarginreq=50,
                         excessliquidity=50, grosspositionvalue=200)
    x = row(margin_table({"X": at_default}), "account", "X")
    assert (x["status_initial"], x["status"]) == ("warning", "ok")  # initial 70 % = the default line; maint 50 %


def test_margin_deficit_and_empty_account():
    deficit = summary("USD", netliquidation=10_000, equitywithloanvalue=10_000, initmarginreq=12_000,
                      maintmarginreq=11_000, excessliquidity=-1_000, grosspositionvalue=50_000)
    empty = summary("USD", netliquidation=10_000, equitywithloanvalue=10_000, initmarginreq=0, maintmarginreq=0,
                    excessliquidity=10_000, availablefunds=10_000, grosspositionvalue=0)
    table = margin_table({"D": deficit, "E": empty})
    d, e = row(table, "account", "D"), row(table, "account", "E")
    assert d["drop_to_margin_call"] == 0.0 and d["status"] == "danger"
    # no positions: nothing can fall, so no drop to margin call; nothing used
    assert math.isnan(e["drop_to_margin_call"])
    assert (e["utilisation_initial"], e["cushion"], e["status"]) == (0.0, 1.0, "ok")


# ---- IBKR's own example payloads ---------------------------------------------------------------------------------------
def _sample(name: str):
    return load_sample(name)


def test_ibkr_sample_payloads():
    summ = AccountSummary.model_validate(_sample("GET_portfolio_accountId_summary.json"))
    u = row(margin_table({"DU123456": summ}), "account", "DU123456")
    # IBKR's own cushion is "0.994598": excessliquidity / netliquidation must agree
    assert u["cushion"] == pytest.approx(summ.cushion, abs=1e-6)
    assert u["utilisation_maint"] == pytest.approx(summ.maint_margin_req / summ.equity_with_loan_value)
    positions = [Position.model_validate(p) for p in _sample("GET_portfolio_accountId_positions_pageId.json")]
    led = Ledger.model_validate(_sample("GET_portfolio_accountId_ledger.json"))
    frame = positions_frame(positions, {"DU123456": led}, {"DU123456": "USD"}, as_of=AS_OF)
    spy = row(frame, "symbol", "SPY")
    # IBKR: avgCost 5801.0401 (per contract, x100), mktValue 9570.71, unrealizedPnl 3769.67 = 9570.71 - 5801.04
    assert spy["cost_basis"] == pytest.approx(5_801.0401)
    assert spy["market_value"] - spy["cost_basis"] == pytest.approx(spy["unrealized_pnl"], abs=0.01)
    exposure = fx_exposure(frame, {"DU123456": led}, {"DU123456": "USD"}).set_index("currency")
    assert exposure.loc["AUD", "exposure_base"] == pytest.approx(223_911.11 * 0.650378)


def test_description_is_the_company_name_for_stocks_and_the_readable_contract_for_options():
    positions = [Position.model_validate(p) for p in _sample("GET_portfolio_accountId_positions_pageId.json")]
    led = Ledger.model_validate(_sample("GET_portfolio_accountId_ledger.json"))
    frame = positions_frame(positions, {"DU123456": led}, {"DU123456": "USD"}, as_of=AS_OF).set_index("symbol")
    # IBKR: STK contractDesc "IBM" (the ticker again), OPT "SPY    JAN2025 440 C [SPY   250117C00440000 100]",
    # CRYPTO "BTC CRYPTO"; name / fullName carry what a trader reads.
    assert frame.loc["IBM", "description"] == "INTL BUSINESS MACHINES CORP"
    assert frame.loc["SPY", "description"] == "SPY Jan17'25 440 Call"
    assert frame.loc["BTC", "description"] == "Bitcoin cryptocurrency"


def test_every_figure_has_help_text():
    for key in ("utilisation_initial", "utilisation_maint", "cushion", "drop_to_margin_call", "fx_exposure",
                "fx_sensitivity", "unrealized_pnl_pct", "market_value_base", "report_currency"):
        assert HELP[key]


def test_prices_are_shown_at_the_decimals_each_instrument_is_quoted_in_and_the_frame_keeps_ibkrs_digits():
    # The grid showed IBKR's marks with 10 digits (an option at 0.01190317267, cut off by its column).
    from ibkr.analytics import rounded_prices

    frame = pd.DataFrame({
        "asset_class": ["STK", "STK", "OPT", "OPT", "FUT", "CASH", "CASH", "BOND", "CRYPTO", "STK"],
        "currency": ["USD", "JPY", "USD", "USD", "USD", "USD", "JPY", "USD", "USD", "GBP"],
        "price": [228.5049, 2712.04, 38.83312221, 0.01190317267, 5821.2533, 1.0868912, 150.12345, 98.62451,
                  3320.456, 0.9123456],
    })
    shown = rounded_prices(frame).tolist()
    assert shown == [228.5, 2712.0, 38.83, 0.012, 5821.25, 1.08689, 150.123, 98.625, 3320.46, 0.9123]
    assert frame["price"][2] == 38.83312221
