"""Market data as IBKR's gateway serves it: ``/iserver/marketdata/snapshot``, ``/iserver/marketdata/history`` and
the unsubscribe endpoints.

Snapshot: the first request for a conid only starts its stream (``{"conid", "conidEx"}``) and adds it to
``sim.md_streaming``; later requests carry every requested field IBKR would have for the contract, as IBKR's
formatted strings, plus ``_updated``, ``server_id``, ``6119`` and ``6509``. Fields the contract has no value for
(greeks of a stock, position fields without a position) are left out, as IBKR does.

History: bars on a random walk seeded by (conid, bar size, bar index), scaled so that the last bar closes at the
current price; the same bar keeps its shape from one call to the next. Daily and intraday bars skip weekends
(except forex and crypto); trading hours are not modelled. As IBKR does (docs/cpapi.md 5.2, [live]: measurements
against a real gateway published in stephus182/ibkr_core_mcp, docs/ibkr-api-behaviors-reference.md, 2026-08-05
and 2026-09-22):

- ``startTime`` is the window's **end**: the bars cover the ``period`` before it (without it, before now);
- a window with no bars (a weekend of a stock, future, option or bond; a window more than ``MAX_WALK`` bars
  back, before the simulated data starts) answers 200 with ``points: 0`` and one placeholder bar without ``t``,
  ``{"o": 0.0, "c": 0.0}``, not an error;
- an upper-case ``period`` or ``bar`` is silently replaced: the simulator answers with its defaults (``1d``,
  ``1min``), since what IBKR substitutes is not reported;
- a conid with no chart data (here: one the world does not know) answers 500 "Chart data unavailable".
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time

from ibkr_sim.routes.base import Endpoints, error, json_body
from ibkr_sim.world.instruments import OPTION_VOL, Instrument
from ibkr_sim.world.quotes import (
    compact,
    contract_index,
    daily_volume,
    decimals,
    flag,
    greeks,
    lookup,
    money,
    parse_conid,
    quote,
    signed,
)

endpoints = Endpoints()

AVAILABILITY = "RpB"  # realtime, consolidated, book
DEFAULT_FIELDS = ("31", "84", "85", "86", "88")
UNIT_SECONDS = {"min": 60, "h": 3600, "d": 86_400, "w": 604_800, "m": 2_592_000, "y": 31_536_000}
DURATION = re.compile(r"^\s*(\d+)\s*(mins?|h|d|w|m|y)\s*$", re.IGNORECASE)
MAX_POINTS = 1000
MAX_WALK = 50_000  # bars walked back from now to reach a startTime; the simulated data starts there
EMPTY_WINDOW_BAR = {"o": 0.0, "c": 0.0}  # IBKR's placeholder bar of a window with no data (no "t")
ANNUAL_VOL = {"STK": 0.25, "OPT": 0.9, "FUT": 0.18, "CASH": 0.08, "BOND": 0.06, "CRYPTO": 0.6, "IND": 0.18}
ROUND_THE_CLOCK = ("CASH", "CRYPTO")
_MASK = (1 << 64) - 1


# ---- snapshot ------------------------------------------------------------------------------------------------------
MAX_SNAPSHOT_CONIDS = 100
def _position_values(sim, inst: Instrument, digits: int, memo: dict) -> dict[str, str]:
    """Fields 73-80, 7292, 7639, 7920, 7921 for the selected (else first) account's position, if it has one."""
    world = sim.world
    acct_id = sim.session.selected_account if sim.session.selected_account in world.accounts else None
    acct = world.accounts.get(acct_id) if acct_id else next(iter(world.accounts.values()), None)
    h = acct.holdings.get(inst.conid) if acct else None
    if acct is None or h is None:
        return {}
    upnl, cost = world.unrealized_pnl(h), h.position * h.avg_price * inst.multiplier
    daily = (inst.price - world.open_price.get(inst.conid, inst.price)) * h.position * inst.multiplier
    gross = memo.get(acct.id)
    if gross is None:  # once per request: an account can hold 10,000 lines
        gross = memo[acct.id] = sum(abs(world.market_value(x)) * world.rate(world.instruments[x.conid].currency,
                                                                            acct.base_currency)
                                    for x in acct.holdings.values())
    mark_share = abs(world.market_value(h)) * world.rate(inst.currency, acct.base_currency) / gross * 100 if gross else 0
    position = money(h.position, 0) if float(h.position).is_integer() else f"{h.position:,.4f}"
    return {"73": money(world.market_value(h)), "74": money(h.avg_price, max(digits, 2)), "75": money(upnl),
            "76": position, "77": money(upnl), "78": money(daily), "79": money(h.realized_pnl),
            "80": f"{upnl / abs(cost) * 100:.2f}" if cost else "0.00", "7292": money(cost),
            "7639": f"{mark_share:.2f}", "7920": f"{daily:.2f}", "7921": f"{cost:.2f}"}


def _option_values(sim, inst: Instrument) -> dict[str, str]:
    g = greeks(sim.world, inst)
    return {"7308": f"{g['delta']:.3f}", "7309": f"{g['gamma']:.4f}", "7310": f"{g['theta']:.3f}",
            "7311": f"{g['vega']:.3f}", "7633": f"{g['iv'] * 100:.1f}%", "7283": f"{OPTION_VOL * 100:.1f}%",
            "201": inst.right or "", "6457": str(inst.und_conid), "6073": inst.expiry or "",
            "7638": money(int(daily_volume(inst) * 7), 0)}


def field_values(sim, inst: Instrument, fields: list[str], memo: dict | None = None) -> dict[str, str]:
    """The requested fields IBKR has for the contract, formatted the way IBKR formats them (``memo`` caches
    per-request account totals)."""
    world = sim.world
    q = quote(world, inst)
    d = q.digits
    change = q.last - q.prior_close
    values = {
        "31": money(q.last, d), "84": money(q.bid, d), "86": money(q.ask, d), "88": money(q.bid_size, 0),
        "85": money(q.ask_size, 0), "7059": money(q.last_size, 0), "70": money(q.high, d), "71": money(q.low, d),
        "7295": money(q.open, d), "7296": money(q.last, d), "7741": money(q.prior_close, d), "82": signed(change, d),
        "83": signed(change / q.prior_close * 100 if q.prior_close else 0.0), "7682": signed(q.last - q.open, d),
        "7635": money(q.mark, d), "55": inst.pair or inst.symbol, "6004": inst.exchange, "6008": str(inst.conid),
        "6070": inst.asset_class, "7051": inst.name, "7221": inst.exchange, "7094": f"{inst.conid}@{inst.exchange}",
        "7219": inst.description or inst.symbol, "7220": inst.name, "7184": "1", "7768": "1",
        "7293": money(max(q.high, q.prior_close * 1.18), d), "7294": money(min(q.low, q.prior_close * 0.81), d),
    }
    if inst.asset_class == "IND":  # an index has a value, no book and no trades
        for key in ("84", "86", "88", "85", "7059"):
            values.pop(key)
    if q.avg_volume:
        values.update({"87": compact(q.volume), "7762": str(q.volume), "7282": compact(q.avg_volume)})
    if inst.sector:
        values.update({"7280": inst.sector, "7281": inst.group or inst.sector})
    chain = contract_index(world).options.get(inst.conid)
    if chain:
        values.update({"7283": f"{OPTION_VOL * 100:.1f}%", "6072": ";".join(dict.fromkeys(o.month or "" for o in chain)),
                       "7089": compact(sum(daily_volume(o) for o in chain) * 0.4)})
    if inst.asset_class == "FUT":
        values.update({"6457": str(inst.und_conid), "6073": inst.expiry or "", "7697": money(int(daily_volume(inst) * 2), 0)})
    wanted = set(fields)
    if inst.asset_class == "OPT" and wanted & {"7308", "7309", "7310", "7311", "7633", "7283", "201", "6457", "6073",
                                               "7638"}:
        values.update(_option_values(sim, inst))
    if wanted & {"73", "74", "75", "76", "77", "78", "79", "80", "7292", "7639", "7920", "7921"}:
        values.update(_position_values(sim, inst, d, {} if memo is None else memo))
    return {f: values[f] for f in fields if f in values}


@endpoints.route("GET", "/iserver/marketdata/snapshot")
async def snapshot(sim, request):
    q = request.query_params
    tokens = [c.strip() for c in (q.get("conids") or "").split(",") if c.strip()]
    if not tokens:
        return error(400, "Bad Request: conids required")
    if len(tokens) > MAX_SNAPSHOT_CONIDS:  # IBKR v1 docs: "A maximum of 100 conids may be specified"
        return error(400, f"Bad Request: at most {MAX_SNAPSHOT_CONIDS} conids per request")
    fields = list(dict.fromkeys(f.strip() for f in (q.get("fields") or "").split(",") if f.strip()))
    stamp = int(time.time() * 1000)
    out: list[dict] = []
    memo: dict[str, float] = {}
    for n, token in enumerate(tokens):
        conid = parse_conid(token)
        if conid is None:
            return error(400, f"Bad Request: invalid conid {token}")
        entry: dict = {"conid": conid, "conidEx": token}
        inst = lookup(sim.world, conid)
        if inst is None or conid not in sim.md_streaming:  # preflight: the stream starts, no data yet
            if inst is not None:
                sim.md_streaming.add(conid)
            out.append(entry)
            continue
        marker = f"q{n}"
        entry.update({"_updated": stamp, "server_id": marker, "6119": marker, "6509": AVAILABILITY})
        entry.update(field_values(sim, inst, fields or list(DEFAULT_FIELDS), memo))
        out.append(entry)
    return out


@endpoints.route("POST", "/iserver/marketdata/unsubscribe")
async def unsubscribe(sim, request):
    body = await json_body(request)
    raw = body.get("conid") if isinstance(body, dict) else None
    conid = parse_conid(raw if raw is not None else request.query_params.get("conid"))
    if conid is None:
        return error(400, "Bad Request: conid required")
    sim.md_streaming.discard(conid)
    return {"success": True}


@endpoints.route("GET", "/iserver/marketdata/unsubscribeall")
async def unsubscribe_all(sim, request):
    sim.md_streaming.clear()
    return {"unsubscribed": True}


# ---- history -------------------------------------------------------------------------------------------------------
def duration_seconds(text: str | None, allow_years: bool = True) -> int | None:
    """``"5min"`` -> 300, ``"1d"`` -> 86400, ``"1m"`` -> one month (30 days), ``"1y"`` -> 365 days."""
    m = DURATION.match(text or "")
    if not m:
        return None
    unit = "min" if m.group(2).lower().startswith("min") else m.group(2).lower()
    if unit == "y" and not allow_years:
        return None
    return int(m.group(1)) * UNIT_SECONDS[unit] or None


def _uniform(conid: int, bar: int, k: int, salt: int) -> float:
    """A hash-based uniform in (0, 1): cheap, and stable for the same (conid, bar size, bar index)."""
    x = (conid * 0x9E3779B97F4A7C15 + bar * 0xBF58476D1CE4E5B9 + k * 0x94D049BB133111EB + salt) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return ((x ^ (x >> 31)) + 0.5) / 2.0**64


def _gauss(conid: int, bar: int, k: int) -> float:
    u, v = _uniform(conid, bar, k, 1), _uniform(conid, bar, k, 2)
    return math.sqrt(-2 * math.log(u)) * math.cos(2 * math.pi * v)


def bars(world, inst: Instrument, bar_s: int, period_s: int, end_s: float, source: str) -> list[dict]:
    """OHLCV bars (oldest first) ending with the bar that holds ``end_s``; the bar holding *now* closes at the
    current price."""
    weekdays_only = inst.asset_class not in ROUND_THE_CLOCK and bar_s <= 86_400
    k_now = int(time.time() // bar_s)
    k_end = min(k_now, int(end_s // bar_s))
    k_first = max(int((end_s - period_s) // bar_s) + 1, k_now - MAX_WALK)

    def trades(k: int) -> bool:
        return k == k_now or not weekdays_only or dt.datetime.fromtimestamp(k * bar_s, dt.UTC).weekday() < 5

    sigma = ANNUAL_VOL.get(inst.asset_class, 0.2) * math.sqrt(bar_s / 31_536_000)
    walk: list[tuple[int, float, bool]] = []  # (bar index, log close, in the window), newest first
    log_close, k, in_window = math.log(max(inst.price, 1e-9)), k_now, 0
    while k >= k_now - MAX_WALK:
        if trades(k):
            inside = k_first <= k <= k_end and in_window < MAX_POINTS
            walk.append((k, log_close, inside))
            in_window += inside
            if k <= k_end and not inside:
                break  # the close before the window: the first bar's open
            log_close -= sigma * _gauss(inst.conid, bar_s, k)
        k -= 1
    walk.reverse()
    digits = decimals(inst)
    base = daily_volume(inst) * min(1.0, bar_s / 23_400) if source == "last" else 0.0
    factor = 100 if inst.asset_class == "STK" else 1
    out = []
    for n, (k, log_c, inside) in enumerate(walk):
        if not inside:
            continue
        c = math.exp(log_c)
        o = math.exp(walk[n - 1][1]) if n else c
        wick = sigma * 0.5
        h = max(o, c) * math.exp(wick * abs(_gauss(inst.conid, bar_s, k + 7_777_777)))
        low = min(o, c) * math.exp(-wick * abs(_gauss(inst.conid, bar_s, k + 13_131_313)))
        v = base * (0.5 + _uniform(inst.conid, bar_s, k, 3)) / factor
        out.append({"o": round(o, digits), "h": round(h, digits), "l": round(low, digits), "c": round(c, digits),
                    "t": k * bar_s * 1000, "v": round(v, 2)})
    return out


def _extreme(bar: dict, key: str, factor: int, start_ms: int) -> str:
    volume = f"{bar['v']:.2f}".rstrip("0").rstrip(".")
    return f"{round(bar[key] * factor)}/{volume}/{(bar['t'] - start_ms) // 60_000}"


@endpoints.route("GET", "/iserver/marketdata/history")
async def history(sim, request):
    q = request.query_params
    started = time.perf_counter()
    conid = parse_conid(q.get("conid"))
    if conid is None:
        return error(400, "Bad Request: conid required")
    inst = lookup(sim.world, conid)
    if inst is None:
        return error(500, "Chart data unavailable", with_code=False)
    period, bar = _lower_case_only(q.get("period"), "1d"), _lower_case_only(q.get("bar"), "1min")
    period_s, bar_s = duration_seconds(period), duration_seconds(bar, allow_years=False)
    if period_s is None or bar_s is None or bar_s > period_s:
        return error(400, f"Bad Request: invalid period {period!r} or bar {bar!r}")
    source = (q.get("source") or "Last").lower().replace("-", "_")
    source = source if source in ("last", "bid_ask", "midpoint") else "last"
    now = time.time()
    end = now
    if q.get("startTime"):
        try:
            end = min(now, dt.datetime.strptime(q["startTime"], "%Y%m%d-%H:%M:%S").replace(tzinfo=dt.UTC).timestamp())
        except ValueError:
            return error(400, f"Bad Request: invalid startTime {q['startTime']!r}")
    data = bars(sim.world, inst, bar_s, period_s, end, source)
    digits = decimals(inst)
    factor = 10**digits
    start_ms = data[0]["t"] - bar_s * 1000 if data else int((end - period_s) * 1000)
    stamp = lambda ms: dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y%m%d-%H:%M:%S")  # noqa: E731
    extremes = {
        "high": _extreme(max(data, key=lambda b: b["h"]), "h", factor, start_ms),
        "low": _extreme(min(data, key=lambda b: b["l"]), "l", factor, start_ms),
    } if data else {}
    return {
        "barLength": bar_s, "chartPanStartTime": stamp(int(now * 1000)), "data": data or [dict(EMPTY_WINDOW_BAR)],
        "direction": -1, **extremes, "mdAvailability": "S", "messageVersion": 2, "mktDataDelay": 0,
        "negativeCapable": False, "outsideRth": flag(q.get("outsideRth")), "points": max(len(data) - 1, 0),
        "priceDisplayRule": 1, "priceDisplayValue": str(digits), "priceFactor": factor,
        "serverId": str(4_155_800 + conid % 100), "startTime": stamp(start_ms), "symbol": inst.pair or inst.symbol,
        "text": inst.name, "timePeriod": period, "travelTime": max(1, int((time.perf_counter() - started) * 1000)),
        "volumeFactor": 100 if inst.asset_class == "STK" else 1,
    }


def _lower_case_only(value: str | None, default: str) -> str:
    """``period`` or ``bar`` as IBKR reads it: an upper-case value is silently replaced (here by the default)."""
    return value if value and value == value.lower() else default
