"""The simulator's instrument universe: curated real-looking contracts plus synthetic stocks for scale.

Every instrument has an IBKR-style conid, asset class, currency, listing exchange and country. Options are
priced off their underlying with Black-Scholes; everything else follows its own seeded random walk.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

T = TypeVar("T")

# USD per unit of currency, at the simulator's start.
FX_USD: dict[str, float] = {
    "USD": 1.0, "EUR": 1.0842, "GBP": 1.2715, "JPY": 0.006712, "CHF": 1.1287,
    "CAD": 0.7318, "AUD": 0.6584, "HKD": 0.12815,
}

# (symbol, conid, name, currency, exchange, country, sector, group, price)
STOCKS: list[tuple[str, int, str, str, str, str, str, str, float]] = [
    ("AAPL", 265598, "APPLE INC", "USD", "NASDAQ", "US", "Technology", "Computers", 228.50),
    ("MSFT", 272093, "MICROSOFT CORP", "USD", "NASDAQ", "US", "Technology", "Software", 415.20),
    ("IBM", 8314, "INTL BUSINESS MACHINES CORP", "USD", "NYSE", "US", "Technology", "Computers", 214.75),
    ("SPY", 756733, "SPDR S&P 500 ETF TRUST", "USD", "ARCA", "US", "Funds", "Equity Fund", 575.30),
    ("NVDA", 4815747, "NVIDIA CORP", "USD", "NASDAQ", "US", "Technology", "Semiconductors", 138.60),
    ("JPM", 1520593, "JPMORGAN CHASE & CO", "USD", "NYSE", "US", "Financial", "Banks", 222.10),
    ("XOM", 13977, "EXXON MOBIL CORP", "USD", "NYSE", "US", "Energy", "Oil&Gas", 118.40),
    ("TSLA", 76792991, "TESLA INC", "USD", "NASDAQ", "US", "Consumer, Cyclical", "Auto Manufacturers", 251.80),
    ("SAP", 14204, "SAP SE", "EUR", "IBIS", "DE", "Technology", "Software", 212.35),
    ("SIE", 14228, "SIEMENS AG-REG", "EUR", "IBIS", "DE", "Industrial", "Miscellaneous Manufactur", 181.90),
    ("ASML", 117589399, "ASML HOLDING NV", "EUR", "AEB", "NL", "Technology", "Semiconductors", 642.10),
    ("MC", 39453, "LVMH MOET HENNESSY LOUIS VUI", "EUR", "SBF", "FR", "Consumer, Cyclical", "Apparel", 612.40),
    ("HSBA", 12352, "HSBC HOLDINGS PLC", "GBP", "LSE", "GB", "Financial", "Banks", 6.912),
    ("AZN", 37022, "ASTRAZENECA PLC", "GBP", "LSE", "GB", "Consumer, Non-cyclical", "Pharmaceuticals", 118.62),
    ("BP.", 5386, "BP PLC", "GBP", "LSE", "GB", "Energy", "Oil&Gas", 4.105),
    ("7203", 13905, "TOYOTA MOTOR CORP", "JPY", "TSEJ", "JP", "Consumer, Cyclical", "Auto Manufacturers", 2712.0),
    ("6758", 13889, "SONY GROUP CORP", "JPY", "TSEJ", "JP", "Consumer, Cyclical", "Home Furnishings", 2845.5),
    ("NESN", 39394687, "NESTLE SA-REG", "CHF", "EBS", "CH", "Consumer, Non-cyclical", "Food", 86.42),
    ("NOVN", 38900, "NOVARTIS AG-REG", "CHF", "EBS", "CH", "Consumer, Non-cyclical", "Pharmaceuticals", 98.76),
    ("RY", 5822, "ROYAL BANK OF CANADA", "CAD", "TSE", "CA", "Financial", "Banks", 168.30),
    ("SHOP", 195014116, "SHOPIFY INC - CLASS A", "CAD", "TSE", "CA", "Communications", "Internet", 112.45),
    ("BHP", 4036812, "BHP GROUP LTD", "AUD", "ASX", "AU", "Basic Materials", "Mining", 42.18),
    ("CBA", 4036818, "COMMONWEALTH BANK OF AUSTRAL", "AUD", "ASX", "AU", "Financial", "Banks", 141.60),
    ("700", 52197301, "TENCENT HOLDINGS LTD", "HKD", "SEHK", "HK", "Communications", "Internet", 418.20),
    ("9988", 363986131, "ALIBABA GROUP HOLDING LTD", "HKD", "SEHK", "HK", "Communications", "Internet", 95.35),
]

# (symbol, underlying conid, underlying price, currency, exchange, country, multiplier, description, cycle); cycle
# "Q": quarterly, expiring the third Friday of the contract month; "E": monthly energy, expiring in the month BEFORE
# the contract month (see energy_last_trade)
FUTURES: list[tuple[str, int, float, str, str, str, float, str, str]] = [
    ("ES", 11004968, 5825.0, "USD", "CME", "US", 50.0, "E-mini S&P 500", "Q"),
    ("NQ", 11004958, 20310.0, "USD", "CME", "US", 20.0, "E-mini Nasdaq-100", "Q"),
    ("CL", 17340715, 71.35, "USD", "NYMEX", "US", 1000.0, "Light Sweet Crude Oil", "E"),
    ("GC", 69067924, 2652.0, "USD", "COMEX", "US", 100.0, "Gold", "Q"),
    ("DAX", 825711, 19450.0, "EUR", "EUREX", "DE", 25.0, "DAX Index", "Q"),
    ("ESTX50", 4356500, 4910.0, "EUR", "EUREX", "DE", 10.0, "Euro Stoxx 50", "Q"),
    ("Z", 8880022, 8260.0, "GBP", "ICEEU", "GB", 10.0, "FTSE 100 Index", "Q"),
    ("N225M", 37928772, 38400.0, "JPY", "OSE.JPN", "JP", 100.0, "Nikkei 225 mini", "Q"),
]

# (pair, conid) priced from FX_USD; the position is in the base currency of the pair.
FX_PAIRS: list[tuple[str, int]] = [
    ("EUR.USD", 12087792), ("GBP.USD", 12087797), ("USD.JPY", 15016059), ("AUD.USD", 14433401),
    ("USD.CHF", 12087820), ("USD.CAD", 15016062), ("EUR.GBP", 12087807), ("EUR.CHF", 12087802),
]

# (ticker, conid, description, currency, country, coupon, maturity, price as % of par)
BONDS: list[tuple[str, int, str, str, str, float, str, float]] = [
    ("T", 716812549, "T 4 1/4 11/15/34", "USD", "US", 4.25, "20341115", 98.62),
    ("AAPL", 572347118, "AAPL 3.85 05/04/43", "USD", "US", 3.85, "20430504", 88.41),
    ("DBR", 699143263, "DBR 2.6 08/15/34", "EUR", "DE", 2.6, "20340815", 99.87),
    ("UKT", 682054119, "UKT 4 1/4 12/07/27", "GBP", "GB", 4.25, "20271207", 100.35),
]

# (symbol, conid, name, price)
CRYPTO: list[tuple[str, int, str, float]] = [
    ("BTC", 479624278, "Bitcoin cryptocurrency", 91250.0),
    ("ETH", 495759171, "Ethereum cryptocurrency", 3320.0),
    ("LTC", 495759180, "Litecoin cryptocurrency", 92.4),
]

SYNTHETIC_VENUES = [("USD", "NYSE", "US"), ("USD", "NASDAQ", "US"), ("EUR", "IBIS", "DE"), ("EUR", "SBF", "FR"),
                    ("GBP", "LSE", "GB"), ("JPY", "TSEJ", "JP"), ("CHF", "EBS", "CH"), ("CAD", "TSE", "CA"),
                    ("AUD", "ASX", "AU"), ("HKD", "SEHK", "HK")]
SYNTHETIC_SECTORS = [("Technology", "Software"), ("Financial", "Banks"), ("Industrial", "Machinery-Diversified"),
                     ("Energy", "Oil&Gas"), ("Consumer, Non-cyclical", "Food"), ("Utilities", "Electric")]
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
OPTION_UNDERLYINGS = ("SPY", "AAPL", "MSFT", "SAP")
OPTION_VOL = 0.24
RATE = 0.04


FUT_TICKS = {"ES": 0.25, "NQ": 0.25, "CL": 0.01, "GC": 0.1, "DAX": 1.0, "ESTX50": 1.0, "Z": 0.5, "N225M": 5.0}
OFF_TICK = "The price does not conform to the minimum price variation for this contract."
"""IBKR's words for a price off the contract's tick (TWS API error 110), which the gateway answers too."""


def tick_size(inst: Instrument) -> float:
    """The contract's minimum price variation: one rule for its quotes, its secdef ``incrementRules`` and the
    orders it accepts (futures by their exchange's tick, IDEALPRO half-pips, PAXOS BTC in 0.25)."""
    cls = inst.asset_class
    if cls in ("FUT", "IND"):
        return FUT_TICKS.get(inst.symbol, 0.01)
    if cls == "CASH":
        return 0.005 if (inst.pair or "").endswith(".JPY") else 0.00005
    if cls == "BOND":
        return 0.001
    if cls == "CRYPTO":
        return 0.25 if inst.symbol == "BTC" else 0.01
    if cls == "STK" and inst.currency == "JPY":
        return 0.1
    if cls == "STK" and inst.price < 1:
        return 0.0001
    return 0.01


BOARD_LOTS = {"TSEJ": 100, "SEHK": 100}
"""Shares per board lot where the exchange trades in lots: every TSE domestic stock in units of 100 (JPX, since
October 2018); on SEHK the issuer sets the lot (100 for Tencent 700 and Alibaba 9988)."""
BOARD_LOT = ("The order size must be a multiple of the board lot of {lot} shares on {exchange}: round the "
             "quantity (odd lots are not routed to the exchange's main book).")


def board_lot(inst: Instrument) -> int:
    """Shares per board lot (1 where the exchange trades single shares)."""
    return BOARD_LOTS.get(inst.exchange, 1) if inst.asset_class == "STK" else 1


def to_tick(inst: Instrument, price: float) -> float:
    """``price`` on the contract's tick (the nearest multiple), written with the tick's decimals."""
    tick = tick_size(inst)
    digits = max(0, -Decimal(repr(tick)).normalize().as_tuple().exponent)  # type: ignore[operator]
    return round(round(price / tick) * tick, digits)


def on_tick(inst: Instrument, price: float) -> bool:
    return math.isclose(price, to_tick(inst, price), rel_tol=0, abs_tol=tick_size(inst) * 1e-6)


def required(value: T | None, what: str = "field") -> T:
    """A field the instrument's asset class always has (an option's expiry, strike and right; a pair's symbols)."""
    if value is None:
        raise ValueError(f"the instrument has no {what}")
    return value


@dataclass
class Instrument:
    """One tradable contract. ``multiplier`` is the effective one (1 for stocks, 0.01 for bonds quoted in %)."""

    conid: int
    symbol: str
    asset_class: str
    currency: str
    exchange: str
    country: str
    name: str
    description: str
    price: float
    multiplier: float = 1.0
    sector: str | None = None
    group: str | None = None
    expiry: str | None = None  # YYYYMMDD
    strike: float | None = None
    right: str | None = None  # "C" / "P"
    und_conid: int = 0
    trading_class: str | None = None
    coupon: float | None = None
    pair: str | None = None  # "EUR.USD" for CASH
    valid_exchanges: str = ""
    extra: dict = field(default_factory=dict)
    contract_month: str | None = None  # YYYYMM, a future's own month (CL JAN27 expires in December 2026)

    @property
    def month(self) -> str | None:
        """IBKR's month code like ``DEC26``: a future's contract month, an option's expiry month."""
        month = self.contract_month or (self.expiry[:6] if self.expiry else None)
        if not month:
            return None
        return f"{MONTHS[int(month[4:6]) - 1]}{month[2:4]}"

    @property
    def local_symbol(self) -> str:
        if self.asset_class == "OPT":
            expiry, strike = required(self.expiry, "expiry"), required(self.strike, "strike")
            return f"{self.symbol:<6}{expiry[2:]}{self.right}{int(round(strike * 1000)):08d}"
        if self.asset_class == "FUT":
            month = self.contract_month or required(self.expiry, "expiry")[:6]
            return f"{self.symbol}{'FGHJKMNQUVXZ'[int(month[4:6]) - 1]}{month[3]}"
        return self.pair or self.symbol


def third_friday(year: int, month: int) -> dt.date:
    first = dt.date(year, month, 1)
    offset = (4 - first.weekday()) % 7
    return first + dt.timedelta(days=offset + 14)


def next_expiries(today: dt.date, count: int, quarterly: bool) -> list[dt.date]:
    out: list[dt.date] = []
    year, month = today.year, today.month
    while len(out) < count:
        if not quarterly or month in (3, 6, 9, 12):
            friday = third_friday(year, month)
            if friday > today:
                out.append(friday)
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return out


def _business_day_before(day: dt.date, count: int = 1) -> dt.date:
    while count:
        day -= dt.timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


def energy_last_trade(year: int, month: int) -> dt.date:
    """The last trading day of a CL-style contract month: CME's rule for Light Sweet Crude, "trading terminates 3
    business days before the 25th calendar day of the month prior to the contract month; if the 25th is not a
    business day, 4 business days before it" (CME Group, CL contract specs). Holidays are not modelled."""
    prior_year, prior_month = (year - 1, 12) if month == 1 else (year, month - 1)
    day25 = dt.date(prior_year, prior_month, 25)
    return _business_day_before(day25, 3 if day25.weekday() < 5 else 4)


def next_contracts(today: dt.date, count: int, cycle: str) -> list[tuple[dt.date, dt.date]]:
    """``(contract month's first day, expiry)`` of the next ``count`` unexpired contracts of a cycle."""
    out: list[tuple[dt.date, dt.date]] = []
    year, month = today.year, today.month
    while len(out) < count:
        if cycle == "E":
            expiry = energy_last_trade(year, month)
        elif cycle != "Q" or month in (3, 6, 9, 12):
            expiry = third_friday(year, month)
        else:
            expiry = None
        if expiry is not None and expiry > today:
            out.append((dt.date(year, month, 1), expiry))
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return out


def black_scholes(spot: float, strike: float, years: float, right: str, vol: float = OPTION_VOL) -> float:
    """European option value; good enough for a simulator's marks."""
    years = max(years, 1.0 / 365)
    sd = vol * math.sqrt(years)
    d1 = (math.log(spot / strike) + (RATE + vol * vol / 2) * years) / sd
    d2 = d1 - sd
    cdf = lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2)))  # noqa: E731
    disc = math.exp(-RATE * years)
    if right == "C":
        return spot * cdf(d1) - strike * disc * cdf(d2)
    return strike * disc * cdf(-d2) - spot * cdf(-d1)


def strike_step(price: float) -> float:
    return 1.0 if price < 100 else 5.0 if price < 1000 else 25.0


def build_universe(today: dt.date, synthetic: int, rng: random.Random) -> dict[int, Instrument]:
    """Every instrument of the simulated world, keyed by conid."""
    out: dict[int, Instrument] = {}
    for sym, conid, name, ccy, exch, country, sector, group, price in STOCKS:
        out[conid] = Instrument(conid, sym, "STK", ccy, exch, country, name, sym, price, 1.0, sector, group,
                                valid_exchanges=f"SMART,{exch}")
    for sym, und, price, ccy, exch, country, mult, desc, cycle in FUTURES:
        for i, (month, exp) in enumerate(next_contracts(today, 3, cycle)):
            conid = 500_000_000 + und % 1_000_000 * 10 + i
            inst = Instrument(conid, sym, "FUT", ccy, exch, country, desc, "", round(price * (1 + 0.004 * i), 2),
                              mult, None, None, exp.strftime("%Y%m%d"), contract_month=month.strftime("%Y%m"),
                              und_conid=und, trading_class=sym, valid_exchanges=exch)
            inst.description = f"{sym} {inst.month}"
            out[conid] = inst
    for pair, conid in FX_PAIRS:
        base, quote = pair.split(".")
        out[conid] = Instrument(conid, base, "CASH", quote, "IDEALPRO", "", f"{base}/{quote} forex", pair,
                                FX_USD[base] / FX_USD[quote], 1.0, pair=pair, valid_exchanges="IDEALPRO")
    for ticker, conid, desc, ccy, country, coupon, maturity, price in BONDS:
        out[conid] = Instrument(conid, ticker, "BOND", ccy, "SMART", country, desc, desc, price, 0.01,
                                "Government" if ticker != "AAPL" else "Technology", None, maturity,
                                coupon=coupon, valid_exchanges="SMART")
    for sym, conid, name, price in CRYPTO:
        out[conid] = Instrument(conid, sym, "CRYPTO", "USD", "PAXOS", "US", name, f"{sym} CRYPTO", price, 1.0,
                                valid_exchanges="PAXOS")
    for i in range(synthetic):
        ccy, exch, country = SYNTHETIC_VENUES[i % len(SYNTHETIC_VENUES)]
        sector, group = SYNTHETIC_SECTORS[(i // len(SYNTHETIC_VENUES)) % len(SYNTHETIC_SECTORS)]
        price = round(rng.uniform(5, 400) / (FX_USD[ccy] if ccy in ("JPY", "HKD") else 1), 2)
        sym = f"Z{i:05d}"
        out[900_000_000 + i] = Instrument(900_000_000 + i, sym, "STK", ccy, exch, country, f"SIMULATED CO {i:05d}",
                                          sym, price, 1.0, sector, group, valid_exchanges=f"SMART,{exch}")
    _add_option_chains(out, today)
    return out


def _add_option_chains(out: dict[int, Instrument], today: dt.date) -> None:
    by_symbol = {i.symbol: i for i in out.values() if i.asset_class == "STK"}
    for n, sym in enumerate(OPTION_UNDERLYINGS):
        und = by_symbol[sym]
        step = strike_step(und.price)
        atm = round(und.price / step) * step
        for e, exp in enumerate(next_expiries(today, 3, quarterly=False)):
            for k in range(-8, 9):
                strike = atm + k * step
                for r, right in enumerate("CP"):
                    conid = 700_000_000 + n * 1_000_000 + e * 10_000 + (k + 8) * 10 + r
                    inst = Instrument(conid, sym, "OPT", und.currency, "SMART", und.country, und.name, "", 0.0,
                                      100.0, und.sector, und.group, exp.strftime("%Y%m%d"), float(strike), right,
                                      und.conid, trading_class=sym, valid_exchanges=und.valid_exchanges)
                    inst.description = f"{sym} {inst.month} {strike:g} {right}"
                    out[conid] = inst
