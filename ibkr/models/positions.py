"""Position models: ``/portfolio/{id}/positions/{page}``, ``/portfolio2/{id}/positions`` and friends."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import AliasChoices, Field, model_validator

from ibkr.models._base import Bool, IbkrModel, Int, Num, SecdefFields, Str, parse_number, parse_yyyymmdd

_UNIT_MULTIPLIER = {"STK", "CASH", "CRYPTO", "FUND", "CMDTY"}


def _choices(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Position(SecdefFields):
    """One position. Parses both the cached ``/portfolio`` shape and the uncached ``/portfolio2`` shape.

    Normalised once here: ``strike`` (a string at IBKR, ``"0"`` for non-options) is a float or None;
    ``multiplier`` 0.0 (IBKR's value for stocks) becomes 1.0, while a missing multiplier of a derivative
    without its security definition stays None; ``conid`` (a string in ``portfolio2``) is an int.
    ``mkt_value`` is in the instrument's ``currency`` and already includes the multiplier.
    """

    acct_id: str = Field("", alias="acctId")
    conid: int
    position: float = 0.0
    mkt_price: Num = Field(None, validation_alias=_choices("mktPrice", "marketPrice", "mkt_price"))
    mkt_value: Num = Field(None, validation_alias=_choices("mktValue", "marketValue", "mkt_value"))
    currency: Str = None
    asset_class: Str = Field(None, validation_alias=_choices("assetClass", "secType", "asset_class"))
    unrealized_pnl: Num = Field(None, alias="unrealizedPnl")
    realized_pnl: Num = Field(None, alias="realizedPnl")
    avg_cost: Num = Field(None, alias="avgCost")
    avg_price: Num = Field(None, alias="avgPrice")
    multiplier: Num = None
    ticker: Str = None
    name: Str = None
    full_name: Str = Field(None, alias="fullName")
    description: Str = Field(None, validation_alias=_choices("contractDesc", "description"))
    listing_exchange: Str = Field(None, alias="listingExchange")
    all_exchanges: Str = Field(None, alias="allExchanges", repr=False)
    country_code: Str = Field(None, alias="countryCode")
    expiry: Str = None
    last_trading_day: Str = Field(None, alias="lastTradingDay")
    strike: Num = None
    put_or_call: Str = Field(None, alias="putOrCall")
    und_conid: Int = Field(None, alias="undConid")
    und_sym: Str = Field(None, alias="undSym")
    und_comp: Str = Field(None, alias="undComp")
    exercise_style: Str = Field(None, alias="exerciseStyle")
    cross_currency: Bool = Field(None, alias="crossCurrency")
    model: Str = None
    page_size: Int = Field(None, alias="pageSize")
    time: Int = None
    timestamp: Int = Field(None, description="portfolio2 only: epoch seconds")
    base_mkt_value: Num = Field(None, alias="baseMktValue")
    base_mkt_price: Num = Field(None, alias="baseMktPrice")
    base_avg_cost: Num = Field(None, alias="baseAvgCost")
    base_avg_price: Num = Field(None, alias="baseAvgPrice")
    base_unrealized_pnl: Num = Field(None, alias="baseUnrealizedPnl")
    base_realized_pnl: Num = Field(None, alias="baseRealizedPnl")
    increment_rules: list[dict[str, Any]] = Field(default_factory=list, alias="incrementRules", repr=False)
    display_rule: dict[str, Any] | None = Field(None, alias="displayRule", repr=False)

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        asset = data.get("assetClass") or data.get("secType") or data.get("asset_class")
        right = data.get("putOrCall", data.get("put_or_call"))
        if right not in ("P", "C") and not parse_number(data.get("strike")):
            data["strike"] = None
        multiplier = parse_number(data.get("multiplier"))
        if multiplier == 0.0 or (multiplier is None and asset in _UNIT_MULTIPLIER):
            data["multiplier"] = 1.0
        if "incrementRules" in data and data["incrementRules"] is None:
            del data["incrementRules"]
        return data

    @property
    def is_short(self) -> bool:
        return self.position < 0

    @property
    def expiry_date(self) -> dt.date | None:
        return parse_yyyymmdd(self.expiry or self.last_trading_day)

    @property
    def symbol(self) -> str:
        """The best short name IBKR gave: ticker, else the contract description, else the conid."""
        return self.ticker or self.und_sym or self.description or str(self.conid)


class InvalidateResult(IbkrModel):
    """``POST /portfolio/{id}/positions/invalidate``: ``{"message": "success"}``."""

    message: Str = None
