"""Order tickets per asset class: STK, OPT, FUT, CASH (forex), BOND, CRYPTO, and any instrument by conid."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, field_validator

from ibkr.orders.base import MONTHS, AssetClass, TimeInForce, _Ticket


class StockOrder(_Ticket):
    """A stock or ETF, by ``symbol`` (resolved with ``/trsrv/stocks``, US listing first) or ``conid``."""

    asset_class: ClassVar[AssetClass] = AssetClass.STK
    kind: Literal["STK"] = "STK"
    symbol: str | None = None
    exchange: str | None = Field(None, description="listing exchange to pick among listings, e.g. NASDAQ or LSE")

    @property
    def instrument(self) -> str:
        return self.symbol or str(self.conid)

    def _instrument_problems(self) -> list[str]:
        return [] if self.conid or (self.symbol and self.symbol.strip()) else ["Give the stock's symbol."]


class OptionOrder(_Ticket):
    """An option by underlying, expiry, strike and right; resolved with secdef search -> strikes -> info."""

    asset_class: ClassVar[AssetClass] = AssetClass.OPT
    kind: Literal["OPT"] = "OPT"
    underlying: str
    expiry: dt.date
    strike: float
    right: Literal["C", "P"]
    exchange: str = "SMART"

    @field_validator("expiry", mode="before")
    @classmethod
    def _expiry(cls, value: Any) -> Any:
        if isinstance(value, str) and re.fullmatch(r"\d{8}", value.strip()):
            text = value.strip()
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        return value

    @field_validator("right", mode="before")
    @classmethod
    def _right(cls, value: Any) -> Any:
        return {"CALL": "C", "PUT": "P"}.get(str(value).strip().upper(), str(value).strip().upper())

    @property
    def month(self) -> str:
        """IBKR's month code for secdef strikes/info: ``"MAR24"``."""
        return f"{MONTHS[self.expiry.month - 1]}{self.expiry.year % 100:02d}"

    @property
    def instrument(self) -> str:
        return f"{self.underlying} {self.expiry:%d%b%y} {self.strike:g} {'Call' if self.right == 'C' else 'Put'}"

    def _instrument_problems(self) -> list[str]:
        issues = []
        if not self.strike > 0:
            issues.append("The option strike must be greater than zero.")
        if self.expiry < dt.date.today():
            issues.append(f"The option expiry {self.expiry.isoformat()} is in the past.")
        return issues


class FutureOrder(_Ticket):
    """A future by symbol and IBKR's contract month (``"202412"`` or ``"DEC24"``), or by its expiry date
    (``"20241220"``). The contract month is IBKR's own, not the expiry's: CL DEC24 expires in November 2024."""

    asset_class: ClassVar[AssetClass] = AssetClass.FUT
    kind: Literal["FUT"] = "FUT"
    symbol: str
    contract_month: str
    exchange: str | None = None

    @field_validator("contract_month", mode="before")
    @classmethod
    def _month(cls, value: Any) -> Any:
        text = str(value).strip().upper().replace(" ", "")
        match = re.fullmatch(r"([A-Z]{3})(\d{2}|\d{4})", text)
        if match and match.group(1) in MONTHS:
            year = match.group(2)
            year = f"20{year}" if len(year) == 2 else year
            return f"{year}{MONTHS.index(match.group(1)) + 1:02d}"
        return text.replace("-", "")

    @property
    def instrument(self) -> str:
        return f"{self.symbol} {self.contract_month}"

    def _instrument_problems(self) -> list[str]:
        if not re.fullmatch(r"\d{6}(\d{2})?", self.contract_month):
            return [f"The contract month {self.contract_month!r} is not a month: use 202412 or DEC24."]
        return []


class ForexOrder(_Ticket):
    """A forex pair such as ``EUR.USD`` on IDEALPRO; ``quantity`` is in the first (base) currency."""

    asset_class: ClassVar[AssetClass] = AssetClass.CASH
    kind: Literal["CASH"] = "CASH"
    pair: str
    exchange: str = "IDEALPRO"

    @field_validator("pair", mode="before")
    @classmethod
    def _pair(cls, value: Any) -> Any:
        return str(value).strip().upper().replace("/", ".")

    @property
    def instrument(self) -> str:
        return self.pair

    def _instrument_problems(self) -> list[str]:
        if not re.fullmatch(r"[A-Z]{3}\.[A-Z]{3}", self.pair):
            return [f"{self.pair!r} is not a currency pair: write it like EUR.USD."]
        return []

    def _extra_body(self) -> dict[str, Any]:
        return {"listingExchange": self.exchange, "ticker": self.pair.split(".")[0]}


class BondOrder(_Ticket):
    """A bond by its conid (find it with ``secdef_search(..., sec_type="BOND")`` and ``secdef_info``)."""

    asset_class: ClassVar[AssetClass] = AssetClass.BOND
    kind: Literal["BOND"] = "BOND"
    description: str | None = None

    @property
    def instrument(self) -> str:
        return self.description or f"bond {self.conid}"

    def _instrument_problems(self) -> list[str]:
        return [] if self.conid else ["A bond order needs the bond's conid."]


class CryptoOrder(_Ticket):
    """A cryptocurrency (``BTC``, ``ETH``, ...) on PAXOS.

    Time in force IOC by default. PAX is for crypto only (v1 docs, Place Order); which of the other TIFs PAXOS
    accepts is not confirmed (docs/cpapi.md section 3: "Other crypto TIFs: uncertain"), so the default is IOC, a
    documented TIF that never leaves an order resting unnoticed on a market that trades round the clock.
    """

    asset_class: ClassVar[AssetClass] = AssetClass.CRYPTO
    kind: Literal["CRYPTO"] = "CRYPTO"
    symbol: str
    exchange: str = "PAXOS"
    tif: TimeInForce = TimeInForce.IOC

    @property
    def instrument(self) -> str:
        return self.symbol

    def _extra_body(self) -> dict[str, Any]:
        return {"listingExchange": self.exchange}


class ConidOrder(_Ticket):
    """Any instrument given by conid and security type (a contract found elsewhere, or a live order rebuilt)."""

    kind: Literal["CONID"] = "CONID"
    conid: int
    sec_type: AssetClass = AssetClass.STK
    exchange: str | None = None
    name: str | None = None

    @property
    def asset_class(self) -> AssetClass:  # type: ignore[override]
        return self.sec_type

    @property
    def instrument(self) -> str:
        return self.name or f"{self.sec_type.value} {self.conid}"

    def _extra_body(self) -> dict[str, Any]:
        return {"listingExchange": self.exchange} if self.exchange else {}


OrderTicket = Annotated[
    StockOrder | OptionOrder | FutureOrder | ForexOrder | BondOrder | CryptoOrder | ConidOrder,
    Field(discriminator="kind"),
]
"""Any ticket; ``kind`` ("STK", "OPT", ...) tells them apart when built from a dict."""
