"""Market data endpoints: snapshot (with the preflight handled), history, unsubscribe (docs/cpapi.md section 5)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from ibkr.endpoints._base import EndpointGroup, csv, ibkr_endpoint
from ibkr.models import DEFAULT_FIELDS, HistoryBars, Snapshot, UnsubscribeAllResult, UnsubscribeResult

log = logging.getLogger(__name__)
TAG = "Trading Market Data"


SNAPSHOT_BATCH = 100
"""Conids per snapshot request: IBKR's maximum (v1 docs, Market Data Snapshot)."""


class MarketDataEndpoints(EndpointGroup):
    """IBKR's "Market Data" group."""

    snapshot_polls: int = 3
    snapshot_poll_interval: float = 0.5

    @ibkr_endpoint("GET", "/iserver/marketdata/snapshot", TAG)
    def marketdata_snapshot(self, conids: Iterable[int], fields: Iterable[str | int] = DEFAULT_FIELDS) -> list[Snapshot]:
        """The raw snapshot calls, :data:`SNAPSHOT_BATCH` conids each (IBKR: "A maximum of 100 conids may be
        specified"). The first call for a conid only starts its stream (no fields): see :meth:`snapshot`.

        Needs ``/iserver/accounts`` first (primed automatically) and, for derivatives, a prior secdef search.
        """
        ids = [c for c in str(conids).split(",") if c] if isinstance(conids, str | int) else list(conids)
        codes = csv(fields)
        found: list[Snapshot] = []
        for start in range(0, len(ids), SNAPSHOT_BATCH) or [0]:
            params = {"conids": csv(ids[start:start + SNAPSHOT_BATCH]), "fields": codes}
            found += self._get(list[Snapshot], "/iserver/marketdata/snapshot", params)
        return found

    def snapshot(
        self, conids: Iterable[int], fields: Iterable[str | int] = DEFAULT_FIELDS, *, polls: int | None = None
    ) -> list[Snapshot]:
        """Snapshots with the preflight handled: asks again (up to ``polls`` calls) while a conid lacks fields.

        IBKR answers the first request for a conid with ``{"conid", "conidEx"}`` only; later calls carry the
        requested fields. Fields a contract never has (no subscription) stay missing after the last poll.
        """
        ids = [int(c) for c in conids]
        codes = [str(f) for f in fields]
        result = self.marketdata_snapshot(ids, codes)
        for _ in range(max(0, (polls or self.snapshot_polls) - 1)):
            if all(not s.is_preflight for s in result) and len(result) >= len(ids):
                break
            log.debug("snapshot preflight for %s; asking again", [s.conid for s in result if s.is_preflight])
            self._sleep(self.snapshot_poll_interval)
            result = self.marketdata_snapshot(ids, codes)
        order = {conid: i for i, conid in enumerate(ids)}
        return sorted(result, key=lambda s: order.get(s.conid, len(order)))

    @ibkr_endpoint("GET", "/iserver/marketdata/history", TAG)
    def history(
        self,
        conid: int,
        *,
        period: str = "1w",
        bar: str = "1d",
        exchange: str | None = None,
        outside_rth: bool | None = None,
        start_time: str | None = None,
        source: str | None = None,
    ) -> HistoryBars:
        """Historical bars: ``period`` like ``"1d"``/``"1w"``/``"1y"``, ``bar`` like ``"5min"``/``"1d"``.

        ``start_time`` is ``YYYYMMDD-hh:mm:ss`` UTC and is the window's **end** (the ``period`` before it); ``source``
        is Last, Bid_Ask or Midpoint. ``period`` and ``bar`` go out in lower case: IBKR silently replaces upper-case
        ones. A window IBKR has no data for answers no bars (docs/cpapi.md 5.2). At most 5 requests run at once
        (the pacing limiter holds the rest).
        """
        params = {"conid": conid, "period": period.strip().lower(), "bar": bar.strip().lower(), "exchange": exchange,
                  "outsideRth": outside_rth, "startTime": start_time, "source": source}
        return self._get(HistoryBars, "/iserver/marketdata/history", params)

    @ibkr_endpoint("POST", "/iserver/marketdata/unsubscribe", TAG)
    def unsubscribe(self, conid: int) -> UnsubscribeResult:
        """Stop one conid's market data stream (frees a market data line)."""
        return self._post(UnsubscribeResult, "/iserver/marketdata/unsubscribe", {"conid": int(conid)}, idempotent=True)

    @ibkr_endpoint("GET", "/iserver/marketdata/unsubscribeall", TAG)
    def unsubscribe_all(self) -> UnsubscribeAllResult:
        """Stop every market data stream of this session."""
        return self._get(UnsubscribeAllResult, "/iserver/marketdata/unsubscribeall")
