"""Contract look-up tables and quote arithmetic shared by the simulator's contract and market-data routes.

- ``contract_index(world)``: symbol / option-chain / futures tables over a world's instruments, plus the ``IND``
  underlyings of the futures (ES -> 11004968, ...), which ``World.instruments`` does not hold.
- ``quote(world, inst)``: last, bid/ask (a per-asset-class spread snapped to the tick), sizes, open, high, low,
  prior close (``World.open_price``) and volume, seeded by conid and clock tick so a frozen world repeats itself.
- ``greeks(world, inst)``: Black-Scholes delta, gamma, theta (per day) and vega (per vol point) of an option.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import weakref
from dataclasses import dataclass, field

from ibkr_sim.world.instruments import (
    FUT_TICKS,
    FUTURES,
    OPTION_VOL,
    RATE,
    Instrument,
    required,
    tick_size,
    to_tick,
)
from ibkr_sim.world.world import World

SPREAD = {"STK": 0.0004, "OPT": 0.03, "FUT": 0.0, "CASH": 0.00004, "BOND": 0.002, "CRYPTO": 0.0008, "IND": 0.0}
DAILY_VOLUME = {"STK": (3e5, 6e7), "OPT": (20.0, 8e3), "FUT": (2e4, 1.5e6), "CASH": (0.0, 0.0), "BOND": (5e4, 2e6),
                "CRYPTO": (50.0, 5e3), "IND": (0.0, 0.0)}
TICKS_PER_DAY = 4680  # 6.5 trading hours of 5-second ticks


@dataclass
class ContractIndex:
    """Look-up tables over a world's (immutable) instrument universe, built once per world."""

    by_symbol: dict[str, list[Instrument]] = field(default_factory=dict)  # STK, CASH (also by pair), CRYPTO, BOND
    stocks: list[Instrument] = field(default_factory=list)
    options: dict[int, list[Instrument]] = field(default_factory=dict)  # underlying conid -> options
    futures: dict[str, list[Instrument]] = field(default_factory=dict)  # symbol -> futures by expiry
    indexes: dict[int, Instrument] = field(default_factory=dict)  # futures underlyings (IND)


_INDEXES: weakref.WeakKeyDictionary[World, ContractIndex] = weakref.WeakKeyDictionary()
_EXTREMES: weakref.WeakKeyDictionary[World, dict[int, list[float]]] = weakref.WeakKeyDictionary()


def contract_index(world: World) -> ContractIndex:
    idx = _INDEXES.get(world)
    if idx is None:
        idx = ContractIndex()
        for inst in world.instruments.values():
            cls = inst.asset_class
            if cls == "OPT":
                idx.options.setdefault(inst.und_conid, []).append(inst)
            elif cls == "FUT":
                idx.futures.setdefault(inst.symbol, []).append(inst)
            else:
                idx.by_symbol.setdefault(inst.symbol.upper(), []).append(inst)
                if inst.pair:
                    idx.by_symbol.setdefault(inst.pair, []).append(inst)
                if cls == "STK":
                    idx.stocks.append(inst)
        for chain in (*idx.options.values(), *idx.futures.values()):
            chain.sort(key=lambda i: (i.expiry, i.strike or 0.0, i.right or ""))
        for sym, und, price, ccy, exch, country, _mult, desc, _cycle in FUTURES:
            idx.indexes[und] = Instrument(und, sym, "IND", ccy, exch, country, desc, desc, price,
                                          valid_exchanges=exch, trading_class=sym)
        _INDEXES[world] = idx
    return idx


def lookup(world: World, conid: int) -> Instrument | None:
    """The instrument for a conid, including the IND underlyings of futures (priced off the front month)."""
    inst = world.instruments.get(conid)
    if inst is not None:
        return inst
    idx = contract_index(world)
    ind = idx.indexes.get(conid)
    if ind is not None and idx.futures.get(ind.symbol):
        ind.price = idx.futures[ind.symbol][0].price
    return ind


def decimals(inst: Instrument) -> int:
    """Price decimals IBKR displays for the contract."""
    cls = inst.asset_class
    if cls == "CASH":
        return 3 if inst.currency == "JPY" else 5
    if cls == "BOND":
        return 3
    if cls in ("FUT", "IND") and inst.symbol in FUT_TICKS:
        return len(f"{FUT_TICKS[inst.symbol]:g}".partition(".")[2])
    if cls == "STK" and inst.currency == "JPY":
        return 1
    return 3 if cls == "STK" and inst.price < 10 else 2


def flag(value: object) -> bool:
    """A query-string or JSON boolean (``true``, ``1``, ``True``)."""
    return value is not None and str(value).lower() in ("true", "1", "yes")


def parse_conid(raw: object) -> int | None:
    """``"265598"``, ``265598`` or ``"265598@SMART"`` -> 265598; None when it is not a conid."""
    try:
        return int(str(raw).partition("@")[0].strip())
    except (TypeError, ValueError):
        return None


# ---- formatting (IBKR's snapshot strings) ---------------------------------------------------------------------------
def money(x: float, digits: int = 2) -> str:
    """``1234.5`` -> ``"1,234.50"`` (never ``"-0.00"``)."""
    return f"{round(x, digits) + 0.0:,.{digits}f}"


def signed(x: float, digits: int = 2) -> str:
    """``1.5`` -> ``"+1.50"``, ``-1.5`` -> ``"-1.50"``, nothing -> ``"0.00"``."""
    x = round(x, digits) + 0.0
    return f"{x:+,.{digits}f}" if x else f"{0.0:.{digits}f}"


def compact(n: float) -> str:
    """Volume as IBKR formats it: ``950``, ``12.3K``, ``1.23M``, ``4.56B``."""
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= scale * 0.9995:  # 999,999 is "1M", not "1e+03K"
            return f"{n / scale:.3g}{suffix}"
    return f"{n:.0f}"


# ---- quotes --------------------------------------------------------------------------------------------------------
@dataclass
class Quote:
    last: float
    bid: float
    ask: float
    bid_size: int
    ask_size: int
    last_size: int
    open: float
    high: float
    low: float
    prior_close: float
    volume: int
    avg_volume: int
    digits: int

    @property
    def mark(self) -> float:
        """IBKR's mark: the ask if it is below last, the bid if it is above last, else last."""
        return self.ask if self.ask < self.last else self.bid if self.bid > self.last else self.last


def _lot(inst: Instrument) -> int:
    return {"STK": 100, "CASH": 100_000, "BOND": 10_000}.get(inst.asset_class, 1)


def daily_volume(inst: Instrument) -> float:
    """A seeded full-day volume for the contract (0 for forex and indexes, which IBKR reports without volume)."""
    lo, hi = DAILY_VOLUME.get(inst.asset_class, (0.0, 0.0))
    if hi <= 0:
        return 0.0
    return math.exp(random.Random(inst.conid).uniform(math.log(lo), math.log(hi)))


def quote(world: World, inst: Instrument) -> Quote:
    seeded = random.Random(inst.conid)
    now = random.Random(inst.conid * 7_919 + world.ticks)
    digits, tick = decimals(inst), tick_size(inst)
    price = inst.price
    half = max(tick, price * SPREAD.get(inst.asset_class, 0.0) / 2)
    bid = max(0.0, math.floor((price - half) / tick + 1e-9) * tick)
    ask = math.ceil((price + half) / tick - 1e-9) * tick
    prior = world.open_price.get(inst.conid)
    if prior is None:  # an IND underlying: its front future's prior close
        futs = contract_index(world).futures.get(inst.symbol) or [inst]
        prior = world.open_price.get(futs[0].conid, price)
    open_ = prior * math.exp(0.002 * seeded.gauss(0, 1))
    extremes = _EXTREMES.setdefault(world, {})
    hi_lo = extremes.get(inst.conid)
    if hi_lo is None:
        hi_lo = extremes[inst.conid] = [max(open_, price) * (1 + 0.004 * seeded.random()),
                                        min(open_, price) * (1 - 0.004 * seeded.random())]
    hi_lo[0], hi_lo[1] = max(hi_lo[0], price), min(hi_lo[1], price)
    base = daily_volume(inst)
    volume = int(base * 0.35) + world.ticks * int(base / TICKS_PER_DAY) if base else 0
    lot = _lot(inst)
    sizes = [now.randint(1, 40) * lot, now.randint(1, 40) * lot, now.randint(1, 5) * lot]
    if inst.asset_class == "IND":
        sizes = [0, 0, 0]
    bid_size, ask_size, last_size = sizes
    return Quote(to_tick(inst, price), to_tick(inst, bid), to_tick(inst, ask), bid_size, ask_size,
                 last_size, open_, hi_lo[0], hi_lo[1], prior, volume, int(base), digits)


# ---- options --------------------------------------------------------------------------------------------------------
def _years(world: World, inst: Instrument) -> float:
    expiry = dt.datetime.strptime(required(inst.expiry, "expiry"), "%Y%m%d").date()
    return max((expiry - world.today).days / 365.0, 1.0 / 365)


def greeks(world: World, inst: Instrument) -> dict[str, float]:
    """Black-Scholes greeks of an option at the world's volatility and rate."""
    spot, strike, years = world.instruments[inst.und_conid].price, required(inst.strike, "strike"), _years(world, inst)
    vol = OPTION_VOL
    sd = vol * math.sqrt(years)
    d1 = (math.log(spot / strike) + (RATE + vol * vol / 2) * years) / sd
    d2 = d1 - sd
    pdf = math.exp(-d1 * d1 / 2) / math.sqrt(2 * math.pi)
    cdf = lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2)))  # noqa: E731
    disc = math.exp(-RATE * years)
    decay = -spot * pdf * vol / (2 * math.sqrt(years))
    if inst.right == "C":
        delta, theta = cdf(d1), decay - RATE * strike * disc * cdf(d2)
    else:
        delta, theta = cdf(d1) - 1, decay + RATE * strike * disc * cdf(-d2)
    return {"delta": delta, "gamma": pdf / (spot * sd), "theta": theta / 365, "vega": spot * pdf * math.sqrt(years) / 100,
            "iv": vol}
