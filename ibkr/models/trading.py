"""Order read models: live orders, order status, trades and the what-if preview (docs/cpapi.md section 3)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import AliasChoices, Field, model_validator

from ibkr.models._base import Bool, IbkrModel, Int, Num, Str, first_number


class Order(IbkrModel):
    """A live order of ``/iserver/account/orders`` (numbers arrive as strings or numbers; both parse)."""

    order_id: int = Field(alias="orderId")
    acct: Str = None
    account: Str = None
    conid: Int = None
    conidex: Str = None
    ticker: Str = None
    description1: Str = None
    description2: Str = None
    company_name: Str = Field(None, alias="companyName")
    sec_type: Str = Field(None, alias="secType")
    listing_exchange: Str = Field(None, alias="listingExchange")
    exchange: Str = None
    side: Str = None
    order_type: Str = Field(None, alias="orderType")
    orig_order_type: Str = Field(None, alias="origOrderType")
    price: Num = None
    aux_price: Num = Field(None, alias="auxPrice")
    avg_price: Num = Field(None, alias="avgPrice")
    total_size: Num = Field(None, alias="totalSize")
    filled_quantity: Num = Field(None, alias="filledQuantity")
    remaining_quantity: Num = Field(None, alias="remainingQuantity")
    size_and_fills: Str = Field(None, alias="sizeAndFills")
    cash_ccy: Str = Field(None, alias="cashCcy")
    total_cash_size: Num = Field(None, alias="totalCashSize")
    time_in_force: Str = Field(None, alias="timeInForce")
    outside_rth: Bool = Field(None, validation_alias=AliasChoices("outsideRTH", "outsideRth", "outside_rth"))
    status: Str = None
    order_ccp_status: Str = None
    order_cancellation_by_system_reason: Str = None
    order_desc: Str = Field(None, alias="orderDesc")
    last_execution_time: Str = Field(None, alias="lastExecutionTime")
    last_execution_time_r: Int = Field(None, alias="lastExecutionTime_r")
    order_ref: Str = Field(None, alias="order_ref", description="the cOID the order was placed with")
    supports_tax_opt: Bool = Field(None, alias="supportsTaxOpt")
    tax_optimizer_id: Str = Field(None, alias="taxOptimizerId")
    is_event_trading: Bool = Field(None, alias="isEventTrading")
    ticket_id: Str = None

    @property
    def account_id(self) -> str | None:
        return self.acct or self.account


class LiveOrders(IbkrModel):
    """``GET /iserver/account/orders``: ``{"orders": [...], "snapshot": true}``."""

    orders: list[Order] = Field(default_factory=list)
    snapshot: Bool = None


class OrderStatus(IbkrModel):
    """``GET /iserver/account/order/status/{orderId}`` (current brokerage session only)."""

    order_id: int
    account: Str = None
    conid: Int = None
    conidex: Str = None
    symbol: Str = None
    side: Str = Field(None, description="B or S")
    order_type: Str = None
    order_status: Str = None
    order_status_description: Str = None
    order_description: Str = None
    order_description_with_contract: Str = None
    size: Num = None
    total_size: Num = None
    cum_fill: Num = None
    average_price: Num = None
    limit_price: Num = None
    stop_price: Num = None
    tif: Str = None
    outside_rth: Bool = Field(None, validation_alias=AliasChoices("outside_rth", "outsideRTH"))
    sec_type: Str = None
    currency: Str = None
    listing_exchange: Str = None
    order_clearing_account: Str = None
    order_time: Str = Field(None, description="YYMMDDhhmmss")
    order_not_editable: Bool = None
    cannot_cancel_order: Bool = None
    editable_fields: Str = None
    order_ccp_status: Str = None
    company_name: Str = None
    contract_description_1: Str = None
    size_and_fills: Str = None
    alert_active: Bool = None
    child_order_type: Str = None
    server_id: Str = None
    request_id: Str = None


class Trade(IbkrModel):
    """One execution of ``GET /iserver/account/trades`` (at most 7 days back)."""

    execution_id: str
    symbol: Str = None
    side: Str = Field(None, description="B or S")
    order_description: Str = None
    trade_time: Str = Field(None, description="YYYYMMDD-hh:mm:ss UTC")
    trade_time_r: Int = Field(None, description="epoch ms")
    size: Num = None
    price: Num = None
    order_ref: Str = None
    submitter: Str = None
    exchange: Str = None
    commission: Num = None
    net_amount: Num = None
    account: Str = None
    account_code: Str = Field(None, alias="accountCode")
    company_name: Str = None
    contract_description_1: Str = None
    sec_type: Str = None
    listing_exchange: Str = None
    conid: Int = None
    conid_ex: Str = Field(None, alias="conidEx")
    clearing_id: Str = None
    clearing_name: Str = None
    liquidation_trade: Bool = None
    is_event_trading: Bool = None
    order_id: Int = None


_CURRENCY = re.compile(r"\b([A-Z]{3})\b")
_QUANTITY = re.compile(r"\(\s*([-+\d,.]+)\s*([A-Za-z]*)\s*\)")


class WhatIfChange(IbkrModel):
    """``{"current": "123,456", "change": "-1", "after": "123,455"}`` as numbers (the raw text is kept)."""

    current: float | None = None
    change: float | None = None
    after: float | None = None
    text: dict[str, str | None] = Field(default_factory=dict, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, data: Any) -> Any:
        if isinstance(data, dict) and "text" not in data:
            keys = ("current", "change", "after")
            return {**{k: first_number(data.get(k)) for k in keys}, "text": {k: data.get(k) for k in keys}}
        return data


class WhatIfAmount(IbkrModel):
    """``{"amount": "1,977.60 USD (10 Shares)", "commission": "1 USD", "total": "1,978.60 USD"}`` parsed."""

    amount: float | None = None
    commission: float | None = None
    total: float | None = None
    currency: str | None = None
    quantity: float | None = None
    quantity_unit: str | None = None
    text: dict[str, str | None] = Field(default_factory=dict, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "text" in data:
            return data
        amount_text = str(data.get("amount") or "")
        currency = _CURRENCY.search(amount_text) or _CURRENCY.search(str(data.get("total") or ""))
        quantity = _QUANTITY.search(amount_text)
        return {
            "amount": first_number(amount_text),
            "commission": first_number(data.get("commission")),
            "total": first_number(data.get("total")),
            "currency": currency.group(1) if currency else None,
            "quantity": first_number(quantity.group(1)) if quantity else None,
            "quantity_unit": (quantity.group(2) or None) if quantity else None,
            "text": {k: data.get(k) for k in ("amount", "commission", "total")},
        }


class WhatIf(IbkrModel):
    """``POST /iserver/account/{id}/orders/whatif``: the order's effect on margin, equity and position."""

    amount: WhatIfAmount = Field(default_factory=WhatIfAmount)
    equity: WhatIfChange = Field(default_factory=WhatIfChange)
    initial: WhatIfChange = Field(default_factory=WhatIfChange, description="initial margin")
    maintenance: WhatIfChange = Field(default_factory=WhatIfChange, description="maintenance margin")
    position: WhatIfChange = Field(default_factory=WhatIfChange)
    warn: Str = None
    error: Str = None

    @property
    def warning(self) -> str | None:
        """The warning without IBKR's ``"21/"`` code prefix and hard line breaks."""
        if not self.warn:
            return None
        text = re.sub(r"^\d+/", "", self.warn)
        return re.sub(r"\s*\n\s*", " ", text).strip()
