"""Each position's latest price and daily P&L (IBKR's market-data fields 31 and 78), for every position of every
account, inside IBKR's pacing and market-data line limits: one reader per process, shared by every viewer.

IBKR's gateway serves about 100 market-data lines at once and 10 snapshot requests a second (cpapi.md 5.1, 6).
So, with conids ranked by the size of their positions (summed over accounts, largest first):

- the first ``lines`` conids (``IBKR_STREAM_MD_LINES``, 100) stream by the websocket's ``smd`` while the stream
  is live: their marks move as the market moves, at no REST cost;
- every other conid (and all of them while the stream is down) is read by ``/iserver/marketdata/snapshot`` in
  batches of 100, one request per ``1 / per_second`` s at most (``IBKR_SNAPSHOT_PER_SECOND``, 1): IBKR's first
  answer for a conid is a preflight without fields, so each batch is asked again for what is missing (at most
  twice). No ``/iserver/marketdata/unsubscribeall`` follows: it would end the order ticket's quote stream too,
  and IBKR asks of an order for a contract without one whether to submit it without market data. A round over
  all conids starts at most every ``cycle_seconds``.

Field 78 is the daily P&L of the position in the account IBKR reports market data for (the selected one), with
its quantity in field 76: the daily P&L per unit (78 / 76) times each account's quantity gives every account's
row; where the selected account holds none of it, the day's change (82) times the multiplier per unit. Until a
conid is read its daily P&L is missing (the page shows "—"), never 0. No Streamlit here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING

from ibkr._worker import Worker
from ibkr.endpoints.marketdata import SNAPSHOT_BATCH
from ibkr.errors import IbkrError, RateLimited
from ibkr.models import MarketDataUpdate, Position
from ibkr.models._base import parse_formatted

if TYPE_CHECKING:
    from ibkr.client import ClientPortalClient
    from ibkr.stream import StreamClient

log = logging.getLogger(__name__)

FIELDS = ("31", "76", "78", "82")
"""last price, the reported account's position, its daily P&L, the day's change"""
PREFLIGHT_RETRIES = 2


@dataclass(frozen=True)
class Mark:
    """One conid's latest figures: ``last`` price, daily P&L per unit held, when (epoch s), from where."""

    conid: int
    last: float | None
    daily_pnl_per_unit: float | None
    at: float
    source: str  # "stream" or "snapshot"
    last_rounding: float = 0.0  # half a unit of the last price's last digit as IBKR formatted it
    moved_at: float | None = None  # when ``last`` last changed from an earlier value (None: not since first read)


def _rounding(text: str | None) -> float:
    """Half a unit of the last digit of a formatted number: ``"101.50"`` -> 0.005, ``"1,300"`` -> 0.5."""
    digits = text.strip().rpartition(".")[2] if text and "." in text else ""
    return 0.5 * 10.0 ** -len(digits) if digits.isdigit() else 0.5


def mark_from_fields(conid: int, fields: Mapping[str, str], multiplier: float | None, at: float, source: str) -> Mark:
    """A :class:`Mark` from a conid's field strings (see the module docstring for the daily P&L per unit)."""
    position, daily, change = (parse_formatted(fields.get(code)) for code in ("76", "78", "82"))
    if daily is not None and position:
        per_unit: float | None = daily / position
    elif change is not None:
        per_unit = change * (multiplier or 1.0)
    else:
        per_unit = None
    return Mark(conid, parse_formatted(fields.get("31")), per_unit, at, source, _rounding(fields.get("31")))


def plan(positions: Iterable[Position], lines: int) -> tuple[list[int], list[int]]:
    """(streamed, polled): each conid once, by the size of its positions summed over accounts (native market
    value: a ranking, not a sum anyone reads), largest first; the first ``lines`` stream."""
    size: dict[int, float] = {}
    for p in positions:
        size[p.conid] = size.get(p.conid, 0.0) + abs(p.mkt_value or 0.0)
    ranked = sorted(size, key=lambda conid: size[conid], reverse=True)
    return ranked[:lines], ranked[lines:]


@dataclass
class MarksStatus:
    conids: int = 0  # distinct conids held
    streamed: int = 0  # streaming by smd now
    read: int = 0  # conids with a mark
    calls: Counter[str] = field(default_factory=Counter)  # REST calls by kind (snapshot, unsubscribeall)
    started_at: float | None = None  # monotonic: the first round began
    filled_after: float | None = None  # seconds from the first round's start until every conid had a mark
    last_round_seconds: float | None = None
    error: str | None = None


class PositionMarks:
    """The reader (see the module docstring). ``positions()`` gives the latest snapshot's positions; ``stream()``
    the process's stream (or None) and ``live()`` whether it can be trusted; ``ready()`` whether the gateway
    has a brokerage session."""

    def __init__(self, client: ClientPortalClient, positions: Callable[[], Sequence[Position]], *,
                 stream: Callable[[], StreamClient | None] = lambda: None, live: Callable[[], bool] = lambda: False,
                 ready: Callable[[], bool] = lambda: True, lines: int = 100, per_second: float = 1.0,
                 cycle_seconds: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.client, self._positions, self._stream, self._live, self._ready = client, positions, stream, live, ready
        self.lines, self.gap, self.cycle_seconds, self._clock = lines, 1.0 / per_second, cycle_seconds, clock
        self._lock = threading.Lock()
        self._fields: dict[int, dict[str, str]] = {}
        self._marks: dict[int, Mark] = {}
        self._multiplier: dict[int, float | None] = {}
        self._streamed: set[int] = set()
        self._attached: object | None = None  # the stream whose smd callback is registered
        self._status = MarksStatus()
        self._version = 0
        self._last_call = -1e9
        self._worker = Worker(self._run, "position-marks")
        self._stop = self._worker.stopping

    # ---- readers ------------------------------------------------------------------------------------------------
    def marks(self) -> dict[int, Mark]:
        with self._lock:
            return dict(self._marks)

    @property
    def version(self) -> int:
        """Grows with every new mark: a viewer redraws its positions when it changed."""
        with self._lock:
            return self._version

    def status(self) -> MarksStatus:
        with self._lock:
            s = self._status
            return MarksStatus(s.conids, len(self._streamed), len(self._marks), Counter(s.calls), s.started_at,
                               s.filled_after, s.last_round_seconds, s.error)

    # ---- lifecycle ----------------------------------------------------------------------------------------------
    def start(self) -> PositionMarks:
        self._worker.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._worker.stop(timeout)

    # ---- the thread ---------------------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._ready():
                self._stop.wait(1.0)
                continue
            started, held = self._clock(), 0
            try:
                held = self.run_round()
                error = None
            except RateLimited as exc:  # IBKR's penalty: the limiter holds every request; wait a round
                error = exc.message
            except IbkrError as exc:
                error = exc.message
            except Exception as exc:  # a bug must not end the thread
                log.exception("position marks: round failed")
                error = f"{type(exc).__name__}: {exc}"
            with self._lock:
                self._status.error = error
                self._status.last_round_seconds = self._clock() - started
            wait = self.cycle_seconds - (self._clock() - started) if held else 1.0  # no positions yet: look again
            self._stop.wait(max(1.0, wait))

    def run_round(self) -> int:
        """One round: the stream's ``smd`` set brought in line with the plan, then every other conid read;
        returns how many conids are held."""
        positions = list(self._positions())
        streamed, polled = plan(positions, self.lines)
        with self._lock:
            self._multiplier = {p.conid: p.multiplier for p in positions}
            self._status.conids = len(streamed) + len(polled)
            if self._status.started_at is None and positions:
                self._status.started_at = self._clock()
        live = self._live()
        self._sync_stream(streamed if live else [])
        wanted = polled if live else streamed + polled
        for start in range(0, len(wanted), SNAPSHOT_BATCH):
            if self._stop.is_set():
                break
            self._read_batch(wanted[start:start + SNAPSHOT_BATCH])
        self._note_filled(streamed + polled)
        return len(streamed) + len(polled)

    def _note_filled(self, conids: list[int]) -> None:
        with self._lock:
            s = self._status
            if s.filled_after is None and s.started_at is not None and conids and all(
                    c in self._marks for c in conids):
                s.filled_after = self._clock() - s.started_at

    def _sync_stream(self, wanted: list[int]) -> None:
        stream = self._stream()
        if stream is None:
            with self._lock:
                self._streamed = set()
            return
        if self._attached is not stream:
            stream.on("smd", self._streamed_update)
            self._attached = stream
        keep = set(wanted)
        for conid in stream.market_data_conids():
            if conid not in keep:
                stream.unsubscribe_market_data(conid)
        for conid in wanted:
            if conid not in self._streamed or conid not in stream.market_data_conids():
                stream.subscribe_market_data(conid, FIELDS)
        with self._lock:
            self._streamed = keep

    def _streamed_update(self, update: MarketDataUpdate) -> None:
        self._store(update.conid, update.fields, "stream")

    def _store(self, conid: int, fields: Mapping[str, str], source: str) -> None:
        with self._lock:
            merged = self._fields.setdefault(conid, {})
            merged.update({k: v for k, v in fields.items() if k in FIELDS})
            if not merged:
                return
            now, old = time.time(), self._marks.get(conid)
            mark = mark_from_fields(conid, merged, self._multiplier.get(conid), now, source)
            moved = old is not None and mark.last is not None and old.last is not None and mark.last != old.last
            self._marks[conid] = replace(mark, moved_at=now if moved else old.moved_at if old else None)
            self._version += 1

    def _call(self, kind: str, fn: Callable[[], object]) -> object:
        """One REST call at this reader's own pace (the process-wide limiter applies on top)."""
        wait = self._last_call + self.gap - self._clock()
        if wait > 0:
            self._stop.wait(wait)
        self._last_call = self._clock()
        with self._lock:
            self._status.calls[kind] += 1
        return fn()

    def _read_batch(self, batch: list[int]) -> None:
        lacking = list(batch)
        for _ in range(1 + PREFLIGHT_RETRIES):
            if not lacking or self._stop.is_set():
                break
            asked = lacking
            answer = self._call("snapshot", partial(self.client.marketdata_snapshot, asked, FIELDS))
            got = set()
            for snap in answer:  # type: ignore[attr-defined]
                if not snap.is_preflight:
                    self._store(snap.conid, snap.fields, "snapshot")
                    got.add(snap.conid)
            lacking = [c for c in asked if c not in got]
        # No /iserver/marketdata/unsubscribeall after a batch: it ends every market-data stream of the session,
        # the order ticket's too, and IBKR then asks "You are submitting an order without market data" (o354)
        # of the next order for a contract the ticket had quoted (the trading day met it at every order).
