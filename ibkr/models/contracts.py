"""Contract models: secdef search/strikes/info, ``/trsrv/*`` and ``/iserver/contract/{conid}/info`` (section 4)."""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, Field, model_validator

from ibkr.models._base import Bool, CommaList, IbkrModel, Int, Num, SecdefFields, Str, StrList, Text, parse_number


class SecdefSection(IbkrModel):
    """A tradable family under a search result: ``{"secType": "OPT", "months": "MAR24;APR24", ...}``."""

    sec_type: Str = Field(None, alias="secType")
    months: StrList = Field(default_factory=list)
    exchange: StrList = Field(default_factory=list)
    conid: Int = None


class SecdefIssuer(IbkrModel):
    id: Str = None
    name: Str = None


class SecdefSearchResult(IbkrModel):
    """One result of ``/iserver/secdef/search``. ``opt``/``war``/``fop`` are expiry dates (YYYYMMDD)."""

    conid: Int = None
    company_header: Str = Field(None, alias="companyHeader")
    company_name: Str = Field(None, alias="companyName")
    symbol: Str = None
    description: Str = Field(None, description="primary exchange")
    restricted: Bool = None
    opt: StrList = Field(default_factory=list)
    war: StrList = Field(default_factory=list)
    fop: StrList = Field(default_factory=list)
    sections: list[SecdefSection] = Field(default_factory=list)
    issuers: list[SecdefIssuer] = Field(default_factory=list)
    bond_id: Int = Field(None, alias="bondid")

    def section(self, sec_type: str) -> SecdefSection | None:
        return next((s for s in self.sections if s.sec_type == sec_type), None)


class Strikes(IbkrModel):
    """``/iserver/secdef/strikes``: ``{"call": [...], "put": [...]}`` (empty without a prior secdef search)."""

    call: list[float] = Field(default_factory=list)
    put: list[float] = Field(default_factory=list)


class SecdefInfo(IbkrModel):
    """One entry of ``/iserver/secdef/info`` (an object for stocks, an array for derivatives)."""

    conid: int
    symbol: Str = Field(None, validation_alias=AliasChoices("symbol", "ticker"))
    company_name: Str = Field(None, alias="companyName")
    sec_type: Str = Field(None, alias="secType")
    exchange: Str = None
    listing_exchange: Str = Field(None, alias="listingExchange")
    right: Str = None
    strike: Num = None
    currency: Str = None
    cusip: Str = None
    coupon: Str = None
    desc1: Str = None
    desc2: Str = None
    maturity_date: Str = Field(None, alias="maturityDate")
    multiplier: Num = None
    trading_class: Str = Field(None, alias="tradingClass")
    valid_exchanges: CommaList = Field(default_factory=list, alias="validExchanges")
    price_rendering: Any = Field(None, alias="priceRendering")
    show_prips: Bool = Field(None, alias="showPrips")

    @model_validator(mode="before")
    @classmethod
    def _no_right(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("right") not in ("C", "P", "CALL", "PUT"):
            data = {**data, "right": None}
            if not parse_number(data.get("strike")):
                data["strike"] = None
        return data


class Contract(SecdefFields):
    """A security definition from ``/trsrv/secdef`` (same field names as positions)."""

    conid: int
    ticker: Str = None
    name: Str = None
    full_name: Str = Field(None, alias="fullName")
    asset_class: Str = Field(None, alias="assetClass")
    currency: Str = None
    listing_exchange: Str = Field(None, alias="listingExchange")
    all_exchanges: CommaList = Field(default_factory=list, alias="allExchanges", repr=False)
    country_code: Str = Field(None, alias="countryCode")
    expiry: Str = None
    last_trading_day: Str = Field(None, alias="lastTradingDay")
    strike: Num = None
    put_or_call: Str = Field(None, alias="putOrCall")
    multiplier: Num = None
    und_conid: Int = Field(None, alias="undConid")
    increment_rules: list[dict[str, Any]] | None = Field(None, alias="incrementRules", repr=False)
    display_rule: dict[str, Any] | None = Field(None, alias="displayRule", repr=False)

    def increment_at(self, price: float | None = None) -> float | None:
        """The minimum price variation at ``price`` from IBKR's ``incrementRules`` (each rule holds from its
        ``lowerEdge`` up; without a price, the lowest rule's); None when IBKR sent none."""
        rules = sorted(((parse_number(r.get("lowerEdge")) or 0.0, parse_number(r.get("increment")))
                        for r in self.increment_rules or [] if isinstance(r, dict)), key=lambda r: r[0])
        rules = [(edge, inc) for edge, inc in rules if inc and inc > 0]
        if not rules:
            return None
        below = [inc for edge, inc in rules if price is None or edge <= abs(price)]
        return below[-1] if below and price is not None else rules[0][1]

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if data.get("putOrCall") not in ("P", "C") and not parse_number(data.get("strike")):
            data["strike"] = None
        if parse_number(data.get("multiplier")) == 0.0:
            data["multiplier"] = 1.0
        return data


class SecdefResponse(IbkrModel):
    """``GET /trsrv/secdef``: ``{"secdef": [Contract, ...]}``."""

    secdef: list[Contract] = Field(default_factory=list)


class StockListing(IbkrModel):
    conid: int
    exchange: Str = None
    is_us: Bool = Field(None, alias="isUS")


class StockEntry(IbkrModel):
    """One company of ``/trsrv/stocks`` for a symbol, with its listings (conid per exchange)."""

    name: Str = None
    asset_class: Str = Field(None, alias="assetClass")
    chinese_name: Text = Field(None, alias="chineseName", repr=False)
    contracts: list[StockListing] = Field(default_factory=list)


StockContracts = dict[str, list[StockEntry]]
"""``GET /trsrv/stocks``: symbol -> companies."""


class FuturesContract(IbkrModel):
    """One non-expired future of ``/trsrv/futures``; dates are YYYYMMDD integers as IBKR sends them.

    IBKR sends no contract month here, and the expiry's month is not one: a CL (crude) contract expires in the
    month before its contract month. ``ContractResolver.future_families``/``future_contracts`` give IBKR's months."""

    symbol: Str = None
    conid: int
    underlying_conid: Int = Field(None, alias="underlyingConid")
    expiration_date: Int = Field(None, alias="expirationDate")
    ltd: Int = Field(None, description="last trading day")
    short_futures_cut_off: Int = Field(None, alias="shortFuturesCutOff")
    long_futures_cut_off: Int = Field(None, alias="longFuturesCutOff")


FuturesContracts = dict[str, list[FuturesContract]]
"""``GET /trsrv/futures``: symbol -> futures."""


class ContractInfo(IbkrModel):
    """``GET /iserver/contract/{conid}/info``."""

    conid: int = Field(validation_alias=AliasChoices("con_id", "conid"))
    symbol: Str = None
    company_name: Str = None
    instrument_type: Str = None
    local_symbol: Str = None
    exchange: Str = None
    currency: Str = None
    multiplier: Num = None
    valid_exchanges: CommaList = Field(default_factory=list, repr=False)
    trading_class: Str = None
    underlying_con_id: Int = None
    maturity_date: Str = None
    expiry_full: Str = None
    contract_month: Str = None
    strike: Num = None
    right: Str = None
    r_t_h: Bool = None
    smart_available: Bool = None
    category: Str = None
    industry: Str = None
    cfi_code: Str = None
    cusip: Str = None
    text: Str = None
    classifier: Str = None
    allow_sell_long: Bool = None
    is_zero_commission_security: Bool = None
    contract_clarification_type: Str = None
    underlying_issuer: Str = None


class CurrencyPair(IbkrModel):
    """One entry of ``/iserver/currency/pairs``: ``{"symbol": "USD.SGD", "conid": 37928772, "ccyPair": "SGD"}``."""

    symbol: str
    conid: int
    ccy_pair: Str = Field(None, alias="ccyPair")
