"""IBKR's wire format of order tickets, used to read request bodies such as IBKR's bracket example."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ibkr.orders.base import Side, _upper


class OrderBody(BaseModel):
    """IBKR's wire format of one order ticket (what ``{"orders": [...]}`` holds); used to parse request bodies."""

    model_config = ConfigDict(frozen=True, validate_by_name=True, validate_by_alias=True, extra="allow")

    acct_id: str | None = Field(None, alias="acctId")
    conid: int | None = None
    conidex: str | None = None
    sec_type: str | None = Field(None, alias="secType")
    coid: str | None = Field(None, alias="cOID")
    parent_id: str | None = Field(None, alias="parentId")
    order_type: str = Field(alias="orderType")
    listing_exchange: str | None = Field(None, alias="listingExchange")
    outside_rth: bool | None = Field(None, alias="outsideRTH")
    price: float | None = None
    aux_price: float | None = Field(None, alias="auxPrice")
    side: Side
    ticker: str | None = None
    tif: str = "DAY"
    quantity: float
    trailing_amt: float | None = Field(None, alias="trailingAmt")
    trailing_type: str | None = Field(None, alias="trailingType")
    referrer: str | None = None
    manual_indicator: bool | None = Field(None, alias="manualIndicator")
    ext_operator: str | None = Field(None, alias="extOperator")

    @field_validator("side", mode="before")
    @classmethod
    def _side_name(cls, value: Any) -> Any:
        return _upper(value)

    def wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class OrdersRequest(BaseModel):
    """``{"orders": [OrderBody, ...]}``: one ticket, or a bracket (parent plus children with ``parentId``)."""

    model_config = ConfigDict(frozen=True)

    orders: list[OrderBody]
