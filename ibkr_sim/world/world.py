"""The simulator's seeded world: accounts, holdings, cash, prices that move on a clock, and fills.

Everything is deterministic for a given seed and number of clock ticks. Handlers run on one asyncio event
loop, so a mutation here is never interleaved with a read.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from dataclasses import dataclass, field

from ibkr_sim.world.instruments import FX_USD, Instrument, black_scholes, board_lot, build_universe, required

BASE_CURRENCIES = ["USD", "EUR", "GBP", "CHF", "JPY", "CAD", "AUD", "HKD"]
ACCOUNT_TITLES = ["Northbridge Capital LLC", "Aurelia Family Office", "K. Tanaka Individual", "Mistral Partners",
                  "Harbor Macro Fund", "Juniper Trust"]
VOL_PER_TICK = {"STK": 0.0015, "FUT": 0.001, "BOND": 0.0002, "CRYPTO": 0.003}
FX_VOL_PER_TICK = 0.0004
# Share of an account's positions by asset class; the rest are stocks.
MIX = {"OPT": 0.15, "FUT": 0.10, "CASH": 0.10, "BOND": 0.08, "CRYPTO": 0.07}


@dataclass
class Holding:
    conid: int
    position: float
    avg_price: float  # per unit of price (per share, per % of par, per index point)
    realized_pnl: float = 0.0


@dataclass
class Account:
    id: str
    base_currency: str
    title: str
    cash: dict[str, float]
    holdings: dict[int, Holding] = field(default_factory=dict)
    opened_ms: int = 1_590_724_800_000


@dataclass
class Fill:
    execution_id: str
    order_id: int
    account: str
    conid: int
    side: str  # "B" / "S"
    quantity: float
    price: float
    commission: float
    time: float
    order_ref: str | None


class World:
    """Accounts, instruments and prices. ``tick_seconds`` > 0 moves prices on the wall clock; 0 freezes them."""

    def __init__(self, seed: int = 7, accounts: int = 3, positions: int = 20, tick_seconds: float = 5.0,
                 today: dt.date | None = None, subaccounts: int = 0, subaccount_positions: int = 6) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.today = today or dt.date.today()
        self.tick_seconds = tick_seconds
        self.ticks = 0
        self._clock_origin = time.monotonic()
        stocks_needed = max(0, positions - 20)
        self.instruments: dict[int, Instrument] = build_universe(self.today, stocks_needed, self.rng)
        self.fx_usd: dict[str, float] = dict(FX_USD)
        self.open_price: dict[int, float] = {}
        self.open_fx: dict[str, float] = dict(self.fx_usd)
        self._reprice_derivatives()
        self.open_price = {c: i.price for c, i in self.instruments.items()}
        self.accounts: dict[str, Account] = {}
        self.master: str | None = None  # an advisor's master account (``subaccounts`` > 0)
        if subaccounts:
            self._make_advisor(subaccounts, subaccount_positions)
        else:
            for n in range(accounts):
                acct = self._make_account(n, positions)
                self.accounts[acct.id] = acct
        self.fills: list[Fill] = []

    @property
    def subaccount_ids(self) -> list[str]:
        """An advisor's sub-accounts (every account but the master); without an advisor, every account."""
        return [a for a in self.accounts if a != self.master]

    # ---- generation -------------------------------------------------------------------------------------------
    def _make_advisor(self, subaccounts: int, positions: int) -> None:
        """A financial advisor's structure: the ``DF…`` master (paper; a live one is ``F…``), which holds cash and
        no positions, and its clients' ``DU…`` sub-accounts, each with a few positions (docs/cpapi.md section 2)."""
        master = Account(f"DF{self.rng.randint(1_000_000, 9_999_999)}", "USD", "Advisor master",
                         {"USD": round(self.rng.uniform(20_000, 80_000), 2)})
        self.master = master.id
        self.accounts[master.id] = master
        for n in range(subaccounts):
            acct = self._make_account(n, positions)
            self.accounts[acct.id] = acct

    def _make_account(self, n: int, positions: int) -> Account:
        rng = self.rng
        acct_id = f"DU{rng.randint(1_000_000, 9_999_999)}"
        while acct_id in self.accounts:  # hundreds of sub-accounts: ids must stay unique
            acct_id = f"DU{rng.randint(1_000_000, 9_999_999)}"
        base = BASE_CURRENCIES[n % len(BASE_CURRENCIES)]
        title = ACCOUNT_TITLES[n % len(ACCOUNT_TITLES)]
        base_cash = round(rng.uniform(1.5e6, 4e6) / self.fx_usd[base], 2)
        acct = Account(acct_id, base, title, {base: base_cash})
        by_class: dict[str, list[Instrument]] = {}
        for inst in self.instruments.values():
            by_class.setdefault(inst.asset_class, []).append(inst)
        picks: list[Instrument] = []
        for cls, share in MIX.items():
            pool = by_class[cls]
            k = min(len(pool), max(1, round(positions * share)))
            picks += rng.sample(pool, k)
        stocks = by_class["STK"]
        k = min(len(stocks), max(1, positions - len(picks)))
        # Curated stocks first so small worlds span markets; synthetic ones fill large worlds.
        curated = [s for s in stocks if s.conid < 900_000_000]
        synthetic = [s for s in stocks if s.conid >= 900_000_000]
        picks += rng.sample(curated, min(k, len(curated))) + rng.sample(synthetic, max(0, k - len(curated)))
        for inst in picks:
            self._seed_holding(acct, inst)
        # Foreign cash balances; the second account borrows a currency (a negative balance).
        for ccy in rng.sample([c for c in BASE_CURRENCIES if c != base], 3):
            acct.cash[ccy] = round(rng.uniform(20_000, 250_000) / self.fx_usd[ccy], 2)
        if n % 3 == 1:
            borrowed = "JPY" if base != "JPY" else "USD"
            acct.cash[borrowed] = -round(rng.uniform(150_000, 400_000) / self.fx_usd[borrowed], 2)
        return acct

    def _seed_holding(self, acct: Account, inst: Instrument) -> None:
        rng = self.rng
        budget_base = rng.uniform(15_000, 120_000)  # USD-equivalent exposure per line
        unit_value = max(inst.price * inst.multiplier * self.fx_usd[inst.currency], 1e-9)
        if inst.asset_class == "FUT":
            qty = float(rng.randint(1, 4))
        elif inst.asset_class == "OPT":
            qty = float(rng.randint(1, 20))
        elif inst.asset_class == "CASH":
            qty = float(round(budget_base / self.fx_usd[inst.symbol], -3) or 1000)
        elif inst.asset_class == "BOND":
            qty = float(rng.choice([10_000, 25_000, 50_000, 100_000]))
        elif inst.asset_class == "CRYPTO":
            qty = round(budget_base / unit_value, 4)
        else:
            lot = board_lot(inst)  # Tokyo and Hong Kong trade in board lots: holdings are whole lots
            qty = float(max(1, round(budget_base / unit_value / lot)) * lot)
        if inst.asset_class in ("STK", "OPT", "FUT") and rng.random() < 0.2:
            qty = -qty
        avg = inst.price * rng.uniform(0.82, 1.12)
        acct.holdings[inst.conid] = Holding(inst.conid, qty, avg, round(rng.uniform(-2_000, 5_000), 2))

    # ---- prices -----------------------------------------------------------------------------------------------
    def catch_up(self) -> None:
        """Apply the clock ticks that wall time has earned since the last call."""
        if self.tick_seconds <= 0:
            return
        due = int((time.monotonic() - self._clock_origin) / self.tick_seconds)
        if due > self.ticks:
            self.advance(due - self.ticks, from_clock=True)

    def advance(self, ticks: int = 1, from_clock: bool = False) -> None:
        """Move every price ``ticks`` steps along its seeded random walk."""
        ticks = min(int(ticks), 10_000)
        for _ in range(ticks):
            step = random.Random(self.seed * 1_000_003 + self.ticks)
            for ccy in self.fx_usd:
                if ccy != "USD":
                    self.fx_usd[ccy] *= math.exp(FX_VOL_PER_TICK * step.gauss(0, 1))
            for inst in self.instruments.values():
                vol = VOL_PER_TICK.get(inst.asset_class)
                if vol:
                    inst.price = max(0.01, inst.price * math.exp(vol * step.gauss(0, 1)))
            self.ticks += 1
            self._reprice_derivatives()
        if not from_clock:
            self._clock_origin -= ticks * self.tick_seconds

    def _reprice_derivatives(self) -> None:
        years_base = self.today
        for inst in self.instruments.values():
            if inst.asset_class == "CASH":
                base, quote = required(inst.pair, "pair").split(".")
                inst.price = self.fx_usd[base] / self.fx_usd[quote]
            elif inst.asset_class == "OPT":
                und = self.instruments[inst.und_conid]
                expiry = dt.datetime.strptime(required(inst.expiry, "expiry"), "%Y%m%d").date()
                years = (expiry - years_base).days / 365.0
                inst.price = max(0.01, black_scholes(und.price, required(inst.strike, "strike"), years,
                                                     required(inst.right, "right")))

    def price(self, conid: int) -> float:
        return self.instruments[conid].price

    def rate(self, ccy: str, base: str) -> float:
        """Units of ``base`` per unit of ``ccy``."""
        return self.fx_usd[ccy] / self.fx_usd[base]

    # ---- valuation --------------------------------------------------------------------------------------------
    def market_value(self, h: Holding) -> float:
        """IBKR's ``mktValue``: position x price x multiplier, in the instrument's currency (notional for FUT)."""
        inst = self.instruments[h.conid]
        return h.position * inst.price * inst.multiplier

    def unrealized_pnl(self, h: Holding) -> float:
        inst = self.instruments[h.conid]
        return h.position * (inst.price - h.avg_price) * inst.multiplier

    def netliq_value(self, h: Holding) -> float:
        """What the holding adds to net liquidation: futures only their open P&L, forex pairs nothing (their
        effect is already in cash), everything else its market value."""
        cls = self.instruments[h.conid].asset_class
        if cls == "FUT":
            return self.unrealized_pnl(h)
        if cls == "CASH":
            return 0.0
        return self.market_value(h)

    # ---- fills ------------------------------------------------------------------------------------------------
    def apply_fill(self, account_id: str, conid: int, quantity: float, price: float, commission: float,
                   order_id: int, order_ref: str | None) -> Fill:
        """Book a fill: ``quantity`` is signed (+ buy, - sell). Updates holdings, cash and realised P&L."""
        acct = self.accounts[account_id]
        inst = self.instruments[conid]
        h = acct.holdings.get(conid) or Holding(conid, 0.0, price)
        realized = 0.0
        if h.position and (h.position > 0) != (quantity > 0):  # closing some or all
            closed = min(abs(quantity), abs(h.position)) * (1 if h.position > 0 else -1)
            realized = closed * (price - h.avg_price) * inst.multiplier
        new_pos = h.position + quantity
        if abs(new_pos) < 1e-12:
            new_pos = 0.0
        if new_pos and (h.position == 0 or (h.position > 0) != (new_pos > 0)):
            h.avg_price = price  # opened, or flipped through zero
        elif new_pos and abs(new_pos) > abs(h.position):
            h.avg_price = (h.avg_price * h.position + price * quantity) / new_pos
        h.position = new_pos
        h.realized_pnl = round(h.realized_pnl + realized - commission, 2)
        acct.holdings[conid] = h
        if inst.asset_class == "CASH":
            base, quote = required(inst.pair, "pair").split(".")
            self._cash(acct, base, quantity)
            self._cash(acct, quote, -quantity * price)
            self._cash(acct, "USD", -commission)
        elif inst.asset_class == "FUT":
            self._cash(acct, inst.currency, realized - commission)
        else:
            self._cash(acct, inst.currency, -quantity * price * inst.multiplier - commission)
        if h.position == 0:
            # IBKR keeps a closed line for the rest of the day; the simulator drops it to keep state simple.
            del acct.holdings[conid]
        fill = Fill(f"sim.{order_id}.{len(self.fills) + 1}", order_id, account_id, conid,
                    "B" if quantity > 0 else "S", abs(quantity), price, commission, time.time(), order_ref)
        self.fills.append(fill)
        return fill

    def _cash(self, acct: Account, ccy: str, amount: float) -> None:
        acct.cash[ccy] = round(acct.cash.get(ccy, 0.0) + amount, 2)

    # ---- truth ------------------------------------------------------------------------------------------------
    def state(self) -> dict:
        """The truth the tests compare against (``GET /sim/state``)."""
        self.catch_up()
        accounts = []
        for acct in self.accounts.values():
            positions = []
            for h in acct.holdings.values():
                inst = self.instruments[h.conid]
                positions.append({
                    "conid": inst.conid, "symbol": inst.local_symbol if inst.asset_class != "STK" else inst.symbol,
                    "asset_class": inst.asset_class, "currency": inst.currency, "position": h.position,
                    "market_price": inst.price, "market_value": round(self.market_value(h), 2),
                    "avg_price": h.avg_price, "multiplier": inst.multiplier,
                    "unrealized_pnl": round(self.unrealized_pnl(h), 2), "realized_pnl": h.realized_pnl,
                    "netliq_value": round(self.netliq_value(h), 2),
                })
            accounts.append({"id": acct.id, "base_currency": acct.base_currency, "cash": dict(acct.cash),
                             "fx_rates": {c: self.rate(c, acct.base_currency) for c in self.fx_usd},
                             "positions": positions})
        return {"accounts": accounts, "ticks": self.ticks, "master": self.master}
