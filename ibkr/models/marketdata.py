"""Market data models: snapshot (formatted strings parsed), history bars, unsubscribe (docs/cpapi.md section 5)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field, computed_field, model_validator

from ibkr.models._base import Bool, IbkrModel, Int, Num, Str, from_epoch_ms, parse_formatted

# Field codes (docs/cpapi.md 5.1) exposed as attributes; everything else is in Snapshot.fields.
LAST, BID, ASK, BID_SIZE, ASK_SIZE, LAST_SIZE = "31", "84", "86", "88", "85", "7059"
HIGH, LOW, OPEN, CLOSE, PRIOR_CLOSE = "70", "71", "7295", "7296", "7741"
CHANGE, CHANGE_PCT, VOLUME, MARK, SYMBOL, AVAILABILITY = "82", "83", "87", "7635", "55", "6509"
DEFAULT_FIELDS: tuple[str, ...] = (LAST, BID, ASK, BID_SIZE, ASK_SIZE, LAST_SIZE, CHANGE, CHANGE_PCT, VOLUME)


class Snapshot(IbkrModel):
    """One conid of ``/iserver/marketdata/snapshot``.

    ``fields`` holds the raw strings by field code; the attributes are parsed: ``"1,300"`` -> 1300.0,
    ``"1.2K"`` -> 1200.0; the last price may carry ``C`` (previous close, no trade today) or ``H`` (halted),
    reported in :attr:`last_is_close` / :attr:`halted`. A preflight answer has no field codes at all
    (:attr:`is_preflight`).
    """

    conid: int
    conid_ex: Str = Field(None, alias="conidEx")
    updated: Int = Field(None, alias="_updated", description="epoch ms")
    server_id: Str = None
    fields: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _collect_fields(cls, data: Any) -> Any:
        if isinstance(data, dict) and "fields" not in data:
            codes = {k: str(v) for k, v in data.items() if k.isdigit() and v is not None}
            return {**data, "fields": codes}
        return data

    def value(self, code: str | int) -> float | None:
        """Any field parsed as a number (None when absent or not numeric)."""
        return parse_formatted(self.fields.get(str(code)))

    @property
    def is_preflight(self) -> bool:
        """True when IBKR answered with the conid only: the stream just started, ask again."""
        return not any(code != "6119" and code != AVAILABILITY for code in self.fields)

    def has_fields(self, codes: tuple[str, ...] | list[str]) -> bool:
        return all(str(code) in self.fields for code in codes)

    @computed_field
    @property
    def last_price(self) -> float | None:
        return self.value(LAST)

    @computed_field
    @property
    def last_is_close(self) -> bool:
        return self.fields.get(LAST, "").startswith("C")

    @computed_field
    @property
    def halted(self) -> bool:
        return self.fields.get(LAST, "").startswith("H")

    @computed_field
    @property
    def bid(self) -> float | None:
        return self.value(BID)

    @computed_field
    @property
    def ask(self) -> float | None:
        return self.value(ASK)

    @computed_field
    @property
    def bid_size(self) -> float | None:
        return self.value(BID_SIZE)

    @computed_field
    @property
    def ask_size(self) -> float | None:
        return self.value(ASK_SIZE)

    @computed_field
    @property
    def last_size(self) -> float | None:
        return self.value(LAST_SIZE)

    @computed_field
    @property
    def change(self) -> float | None:
        return self.value(CHANGE)

    @computed_field
    @property
    def change_pct(self) -> float | None:
        return self.value(CHANGE_PCT)

    @computed_field
    @property
    def volume(self) -> float | None:
        return self.value(VOLUME)

    @property
    def availability(self) -> str | None:
        """Field 6509: first letter R realtime, D delayed, Z frozen, Y frozen delayed, N not subscribed."""
        return self.fields.get(AVAILABILITY)

    @property
    def updated_at(self) -> dt.datetime | None:
        return from_epoch_ms(self.updated)


class HistoryBar(IbkrModel):
    open: Num = Field(None, alias="o")
    high: Num = Field(None, alias="h")
    low: Num = Field(None, alias="l")
    close: Num = Field(None, alias="c")
    volume: Num = Field(None, alias="v")
    time: int = Field(alias="t", description="epoch ms")

    @property
    def at(self) -> dt.datetime:
        return from_epoch_ms(self.time)  # type: ignore[return-value]


class HistoryBars(IbkrModel):
    """``GET /iserver/marketdata/history``.

    A window IBKR has nothing for comes back with ``points: 0`` and one placeholder bar without ``t``
    (``{"o": 0.0, "c": 0.0}``, docs/cpapi.md 5.2): bars without a time are dropped, so that answer has no bars.
    """

    symbol: Str = None
    text: Str = None
    bars: list[HistoryBar] = Field(default_factory=list, alias="data")
    bar_length: Int = Field(None, alias="barLength", description="seconds")
    points: Int = None
    start_time: Str = Field(None, alias="startTime")
    time_period: Str = Field(None, alias="timePeriod")
    md_availability: Str = Field(None, alias="mdAvailability")
    price_factor: Num = Field(None, alias="priceFactor")
    volume_factor: Num = Field(None, alias="volumeFactor")
    outside_rth: Bool = Field(None, alias="outsideRth")
    direction: Int = None
    high: Str = None
    low: Str = None
    mkt_data_delay: Int = Field(None, alias="mktDataDelay")
    server_id: Str = Field(None, alias="serverId")

    @model_validator(mode="before")
    @classmethod
    def _drop_placeholder_bars(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("data"), list):
            bars = [b for b in data["data"] if not isinstance(b, dict) or b.get("t") is not None]
            return {**data, "data": bars}
        return data


class UnsubscribeResult(IbkrModel):
    """``POST /iserver/marketdata/unsubscribe``: ``{"success": true}``."""

    success: Bool = None


class UnsubscribeAllResult(IbkrModel):
    """``GET /iserver/marketdata/unsubscribeall``: ``{"unsubscribed": true}``."""

    unsubscribed: Bool = None
