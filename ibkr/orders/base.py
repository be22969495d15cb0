"""The order ticket base: enums, the fields every ticket has, validation in a trader's words, the wire body."""

from __future__ import annotations

import math
import uuid
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ibkr.errors import OrderValidationError
from ibkr.numbers import exact


class AssetClass(StrEnum):
    STK = "STK"
    OPT = "OPT"
    FUT = "FUT"
    FOP = "FOP"
    CASH = "CASH"
    BOND = "BOND"
    CRYPTO = "CRYPTO"


FUTURES_CLASSES = frozenset({AssetClass.FUT, AssetClass.FOP})
"""Futures and futures options: IBKR wants ``manualIndicator`` and ``extOperator`` on every place, modify and
cancel of these (CME Group Rule 536-B; IBKR's v1 docs, Place Order / Modify Order / Cancel Order)."""
WHOLE_UNITS = {AssetClass.OPT: "options trade in whole contracts", AssetClass.FUT: "futures trade in whole contracts",
               AssetClass.FOP: "futures options trade in whole contracts", AssetClass.BOND: "bonds trade in whole units"}
"""What IBKR trades only in whole units (fractions are for stocks, ETFs and crypto): 1.5 ES is refused."""


class OrderType(StrEnum):
    MKT = "MKT"
    LMT = "LMT"
    STP = "STP"
    STOP_LIMIT = "STOP_LIMIT"
    TRAIL = "TRAIL"


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class TimeInForce(StrEnum):
    """IBKR's ``tif`` values (v1 docs, Place Order: "GTC, OPG, DAY, IOC, PAX (CRYPTO ONLY)")."""

    DAY = "DAY"
    GTC = "GTC"
    IOC = "IOC"
    OPG = "OPG"
    PAX = "PAX"


class TrailingType(StrEnum):
    AMOUNT = "amt"
    PERCENT = "%"


ORDER_TYPE_NAMES = {
    "MARKET": "MKT", "LIMIT": "LMT", "STOP": "STP", "STOPLIMIT": "STOP_LIMIT", "STP_LMT": "STOP_LIMIT",
    "STOP_LMT": "STOP_LIMIT", "TRAILING": "TRAIL", "TRAILING_STOP": "TRAIL",
    **{t.value: t.value for t in OrderType},
}
"""Every name IBKR gives an order type (tickets, live orders, order status), after :func:`order_type_named`'s
clean-up (upper case, spaces and dashes as ``_``), to the ticket's :class:`OrderType` value."""
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
"""IBKR's month codes (``DEC24`` for a contract month, ``JAN25`` for an option month)."""
SIDE_CODES = {"B": "BUY", "S": "SELL"}
"""IBKR's one-letter sides (trades, live orders) to the ticket's :class:`Side` value."""


def month_code(month: str) -> str:
    """IBKR's month code ``JAN27`` for a ``YYYYMM`` month."""
    return f"{MONTHS[int(month[4:6]) - 1]}{month[2:4]}"


def month_number(code: str) -> str:
    """``YYYYMM`` for IBKR's month code ``JAN27`` (the code itself when it is not one)."""
    text = code.strip().upper()
    if len(text) == 5 and text[:3] in MONTHS and text[3:].isdigit():
        return f"20{text[3:]}{MONTHS.index(text[:3]) + 1:02d}"
    return text


def order_type_named(name: str) -> str:
    """The ticket's order type for IBKR's name of it ("Limit", "STOP LIMIT", "TRAILING STOP" ...); an unknown
    name comes back cleaned up, for the caller to refuse or show."""
    text = name.strip().upper().replace(" ", "_").replace("-", "_")
    return ORDER_TYPE_NAMES.get(text, text)


def side_named(code: str | None) -> str:
    """BUY or SELL for IBKR's ``B`` / ``S`` (or a side already spelt out); other text comes back upper-cased."""
    text = (code or "").strip().upper()
    return SIDE_CODES.get(text, text)


_TYPE_LABEL = {"MKT": "market (MKT)", "LMT": "limit (LMT)", "STP": "stop (STP)", "STOP_LIMIT": "stop-limit",
               "TRAIL": "trailing stop (TRAIL)"}


def _given(value: float | None) -> str:
    return "?" if value is None else exact(value)


def new_coid() -> str:
    """A fresh client order id (29 characters; IBKR wants it unique for 24 h)."""
    return f"desk-{uuid.uuid4().hex[:24]}"


def _upper(value: Any) -> Any:
    return order_type_named(value) if isinstance(value, str) else value


class _Ticket(BaseModel):
    """Fields every ticket has. Construction checks types; :meth:`problems` checks what a trader can get wrong."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)

    asset_class: ClassVar[AssetClass]
    account_id: str
    side: Side
    quantity: float
    order_type: OrderType = OrderType.MKT
    limit_price: float | None = None
    stop_price: float | None = None
    trailing_amount: float | None = None
    trailing_type: TrailingType = TrailingType.AMOUNT
    tif: TimeInForce = TimeInForce.DAY
    outside_rth: bool = False
    conid: int | None = Field(None, description="skip the contract lookup and use this conid")

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise OrderValidationError(_explain(exc)) from None

    @field_validator("side", "order_type", "tif", mode="before")
    @classmethod
    def _enum_names(cls, value: Any) -> Any:
        return _upper(value)

    @property
    def instrument(self) -> str:
        """The instrument as a trader would name it (``AAPL``, ``ES DEC24``, ``EUR.USD``)."""
        return str(self.conid)

    def describe(self) -> str:
        """One line: ``BUY 10 AAPL LMT 150 DAY``."""
        parts = [self.side.value, exact(self.quantity), self.instrument, self.order_type.value]
        if self.order_type in (OrderType.LMT, OrderType.STOP_LIMIT):
            parts.append(f"limit {_given(self.limit_price)}")
        if self.order_type in (OrderType.STP, OrderType.STOP_LIMIT):
            parts.append(f"stop {_given(self.stop_price)}")
        if self.order_type is OrderType.TRAIL:
            unit = "%" if self.trailing_type is TrailingType.PERCENT else ""
            parts.append(f"trail {_given(self.trailing_amount)}{unit}")
        parts.append(self.tif.value + (" outside RTH" if self.outside_rth else ""))
        return " ".join(parts)

    def problems(self) -> list[str]:
        """Everything wrong with the ticket, in words a trader understands (empty when it can be sent)."""
        issues: list[str] = []
        kind = _TYPE_LABEL[self.order_type.value]
        if not self.account_id.strip():
            issues.append("Choose the account the order is for.")
        if not self.quantity > 0:
            issues.append(f"Quantity must be greater than zero (got {exact(self.quantity)}); to sell, choose side SELL.")
        elif self.asset_class in WHOLE_UNITS and math.isfinite(self.quantity) and not self.quantity.is_integer():
            below = math.floor(self.quantity)
            near = f"{exact(below)} or {exact(below + 1)}" if below else exact(below + 1)
            issues.append(f"Quantity {exact(self.quantity)} is not a whole number: {WHOLE_UNITS[self.asset_class]} "
                          f"(use {near}).")
        needs_limit = self.order_type in (OrderType.LMT, OrderType.STOP_LIMIT)
        needs_stop = self.order_type in (OrderType.STP, OrderType.STOP_LIMIT)
        if self.order_type is OrderType.STOP_LIMIT and self.limit_price is None and self.stop_price is None:
            issues.append("A stop-limit order needs both a stop price and a limit price.")
        else:
            if needs_limit and self.limit_price is None:
                issues.append(f"A {kind} order needs a limit price.")
            if needs_stop and self.stop_price is None:
                issues.append(f"A {kind} order needs a stop price.")
        if not needs_limit and self.limit_price is not None:
            issues.append(f"A {kind} order takes no limit price; choose LMT or STOP_LIMIT to set one.")
        if self.order_type in (OrderType.MKT, OrderType.LMT) and self.stop_price is not None:
            issues.append(f"A {kind} order takes no stop price; choose STP or STOP_LIMIT to set one.")
        if self.order_type is OrderType.TRAIL:
            if self.trailing_amount is None or not self.trailing_amount > 0:
                issues.append("A trailing stop (TRAIL) order needs a trailing amount greater than zero.")
            elif self.trailing_type is TrailingType.PERCENT and self.trailing_amount >= 100:
                issues.append("A trailing percentage must be below 100%.")
        elif self.trailing_amount is not None:
            issues.append(f"A {kind} order takes no trailing amount; choose TRAIL to set one.")
        if self.asset_class not in FUTURES_CLASSES:
            for label, price in (("limit", self.limit_price), ("stop", self.stop_price)):
                if price is not None and not price > 0:
                    issues.append(f"The {label} price must be greater than zero (got {exact(price)}).")
        if self.tif is TimeInForce.OPG and self.order_type not in (OrderType.MKT, OrderType.LMT):
            issues.append("OPG (at the opening auction) works only with market or limit orders.")
        if self.tif is TimeInForce.PAX and self.asset_class is not AssetClass.CRYPTO:
            issues.append("PAX is a time in force for crypto orders only; choose DAY, GTC, IOC or OPG.")
        return issues + self._instrument_problems()

    def _instrument_problems(self) -> list[str]:
        return []

    def check(self) -> None:
        """Raise :class:`~ibkr.errors.OrderValidationError` listing every problem (nothing is sent)."""
        issues = self.problems()
        if issues:
            raise OrderValidationError(f"Order not sent: {' '.join(issues)}")

    def body(self, conid: int, coid: str | None) -> dict[str, Any]:
        """The order ticket as IBKR's JSON (one element of ``{"orders": [...]}``)."""
        body: dict[str, Any] = {
            "acctId": self.account_id,
            "conid": conid,
            "secType": f"{conid}:{self.asset_class.value}",
            "orderType": self.order_type.value,
            "side": self.side.value,
            "quantity": self.quantity,
            "tif": self.tif.value,
            "outsideRTH": self.outside_rth,
        }
        if coid:
            body["cOID"] = coid
        if self.order_type in (OrderType.LMT, OrderType.STOP_LIMIT):
            body["price"] = self.limit_price
        if self.order_type is OrderType.STP:
            body["price"] = self.stop_price
        if self.order_type is OrderType.STOP_LIMIT:
            body["auxPrice"] = self.stop_price
        if self.order_type is OrderType.TRAIL:
            body["trailingAmt"] = self.trailing_amount
            body["trailingType"] = self.trailing_type.value
            if self.stop_price is not None:
                body["price"] = self.stop_price
        body.update(self._extra_body())
        return body

    def _extra_body(self) -> dict[str, Any]:
        return {}


def _explain(exc: ValidationError) -> str:
    names = {"account_id": "account", "order_type": "order type", "tif": "time in force", "limit_price": "limit price",
             "stop_price": "stop price", "trailing_amount": "trailing amount", "contract_month": "contract month"}
    parts = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or "ticket"
        label = names.get(field, field.replace("_", " "))
        if error["type"] == "missing":
            parts.append(f"the {label} is missing")
        elif error["type"] == "extra_forbidden":
            parts.append(f"{label!r} is not a field of this order ticket")
        elif error["type"] == "enum" or error["type"] == "literal_error":
            expected = error.get("ctx", {}).get("expected", "")
            parts.append(f"the {label} must be one of {expected} (got {error.get('input')!r})")
        else:
            parts.append(f"the {label} is not valid ({error['msg']}, got {error.get('input')!r})")
    return "Order ticket is not valid: " + "; ".join(parts) + "."
