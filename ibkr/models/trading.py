"""Order response models: live orders, order status, trades, what-if, and the order reply shapes (section 3)."""

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


class OrderAccepted(IbkrModel):
    """An order IBKR accepted: ``{"order_id": "1370093239", "order_status": "PreSubmitted"}``.

    ``found_after_timeout`` is True when the placement request timed out and the order was found afterwards
    among the live orders by its ``coid``.
    """

    order_id: str = Field(validation_alias=AliasChoices("order_id", "orderId"))
    order_status: Str = None
    encrypt_message: Str = None
    local_order_id: Str = None
    coid: Str = None
    found_after_timeout: bool = False

    @model_validator(mode="before")
    @classmethod
    def _id_as_text(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in ("order_id", "orderId"):
                if isinstance(data.get(key), int | float):
                    data = {**data, key: str(int(data[key]))}
        return data


class OrderQuestion(IbkrModel):
    """A reply-required element: ``{"id": <replyId>, "message": [...], "messageIds": ["o354"]}``."""

    reply_id: str = Field(alias="id")
    message: list[str] = Field(default_factory=list)
    message_ids: list[str] = Field(default_factory=list, alias="messageIds")
    is_suppressed: Bool = Field(None, alias="isSuppressed")


class OrderPrompt(IbkrModel):
    """An advanced reject prompt (``"prompt": true``), answered with one of ``options`` via /iserver/notification."""

    message_id: Str = Field(None, alias="messageId")
    order_id: Int = Field(None, alias="orderId")
    prompt: Bool = None
    req_id: Str = Field(None, alias="reqId")
    text: Str = None
    options: list[str] = Field(default_factory=list)
    dismissable: list[Any] = Field(default_factory=list)
    type: Str = None


class OrderReply(IbkrModel):
    """Any answer of place / reply / modify: accepted orders, questions, a prompt, or an error.

    IBKR's four shapes (CPAPI.md 3.1) are a list of accepted orders, a list of questions, an advanced reject
    prompt object, or ``{"error": "..."}``; exactly one of the attributes below is filled.
    """

    accepted: list[OrderAccepted] = Field(default_factory=list)
    questions: list[OrderQuestion] = Field(default_factory=list)
    prompt: OrderPrompt | None = None
    error: Str = None

    @model_validator(mode="before")
    @classmethod
    def _classify(cls, data: Any) -> Any:
        if isinstance(data, dict) and set(data) <= {"accepted", "questions", "prompt", "error"} and data:
            return data
        items = data if isinstance(data, list) else [data]
        out: dict[str, Any] = {"accepted": [], "questions": []}
        for item in items:
            if not isinstance(item, dict):
                raise ValueError(f"unexpected order reply element: {item!r}")
            if "error" in item and ("order_id" not in item):
                out["error"] = item["error"] or "IBKR refused the order without saying why"
            elif item.get("prompt") or "options" in item:
                out["prompt"] = item
            elif "id" in item and ("message" in item or "messageIds" in item):
                out["questions"].append(item)
            elif "order_id" in item or "orderId" in item:
                out["accepted"].append(item)
            else:
                raise ValueError(f"unexpected order reply element: {sorted(item)}")
        return out


class CancelAck(IbkrModel):
    """``DELETE /iserver/account/{id}/order/{orderId}``: the cancel request was submitted (check the status)."""

    msg: Str = None
    order_id: Str = Field(None, validation_alias=AliasChoices("order_id", "orderId"))
    conid: Int = None
    account: Str = None
    order_status: Str = None
    encrypt_message: Str = None
    error: Str = None


class QuestionsSuppressed(IbkrModel):
    """``POST /iserver/questions/suppress``: ``{"status": "submitted"}``."""

    status: Str = None


class Question(IbkrModel):
    """One question of a pending order: IBKR's message id (e.g. ``"o354"``) and its text."""

    message_id: str
    text: str


class PendingConfirmation(IbkrModel):
    """An order waiting for answers. Nothing is placed until :meth:`ClientPortalClient.confirm` says yes.

    ``reply_id`` answers the questions (``POST /iserver/reply/{reply_id}``); a ``prompt`` (advanced reject)
    is answered by choosing one of its ``options``.
    """

    account_id: str
    coid: Str = None
    reply_id: Str = None
    questions: list[Question] = Field(default_factory=list)
    prompt: OrderPrompt | None = None
    round: int = 1

    @property
    def message_ids(self) -> frozenset[str]:
        return frozenset(q.message_id for q in self.questions)


class OrderDeclined(IbkrModel):
    """The caller said no to a pending order's questions; IBKR did not place it."""

    reply_id: Str = None
    coid: Str = None
    message: Str = None

