"""Balance models: account summary, ledger, partitioned P&L, allocation (docs/cpapi.md section 2)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, RootModel, model_validator

from ibkr.models._base import IbkrModel, Int, Num, Str, parse_number


class SummaryValue(IbkrModel):
    """One key of ``/portfolio/{id}/summary``: money in ``amount``, other data as a string in ``value``."""

    amount: Num = None
    currency: Str = None
    is_null: bool = Field(False, alias="isNull")
    timestamp: Int = None
    value: Str = None
    severity: Int = None


def _amount(raw: Any) -> float | None:
    if isinstance(raw, dict):
        return None if raw.get("isNull") else parse_number(raw.get("amount"))
    return parse_number(raw)


def _value_number(raw: Any) -> float | None:
    if isinstance(raw, dict):
        return None if raw.get("isNull") else parse_number(raw.get("value"))
    return parse_number(raw)


def _value_text(raw: Any) -> str | None:
    if isinstance(raw, dict):
        value = raw.get("value")
        return None if raw.get("isNull") or value in (None, "null") else str(value)
    return None if raw is None else str(raw)


Money = Annotated[float | None, BeforeValidator(_amount)]
ValueNumber = Annotated[float | None, BeforeValidator(_value_number)]
ValueText = Annotated[str | None, BeforeValidator(_value_text)]


class AccountSummary(IbkrModel):
    """``GET /portfolio/{id}/summary`` with typed money fields (totals over all segments).

    Every key IBKR sent, including the ``-c`` (commodities) and ``-s`` (securities) segment variants, is in
    :attr:`raw`; :meth:`amount` and :meth:`value` read any of them.
    """

    account_code: ValueText = Field(None, alias="accountcode")
    account_type: ValueText = Field(None, alias="accounttype")
    net_liquidation: Money = Field(None, alias="netliquidation")
    init_margin_req: Money = Field(None, alias="initmarginreq")
    maint_margin_req: Money = Field(None, alias="maintmarginreq")
    equity_with_loan_value: Money = Field(None, alias="equitywithloanvalue")
    excess_liquidity: Money = Field(None, alias="excessliquidity")
    available_funds: Money = Field(None, alias="availablefunds")
    buying_power: Money = Field(None, alias="buyingpower")
    sma: Money = Field(None, alias="sma")
    gross_position_value: Money = Field(None, alias="grosspositionvalue")
    total_cash_value: Money = Field(None, alias="totalcashvalue")
    accrued_cash: Money = Field(None, alias="accruedcash")
    accrued_dividend: Money = Field(None, alias="accrueddividend")
    available_to_trade: Money = Field(None, alias="availabletotrade")
    available_to_withdraw: Money = Field(None, alias="availabletowithdraw")
    full_init_margin_req: Money = Field(None, alias="fullinitmarginreq")
    full_maint_margin_req: Money = Field(None, alias="fullmaintmarginreq")
    full_available_funds: Money = Field(None, alias="fullavailablefunds")
    full_excess_liquidity: Money = Field(None, alias="fullexcessliquidity")
    previous_day_equity_with_loan_value: Money = Field(None, alias="previousdayequitywithloanvalue")
    reg_t_equity: Money = Field(None, alias="regtequity")
    reg_t_margin: Money = Field(None, alias="regtmargin")
    lookahead_available_funds: Money = Field(None, alias="lookaheadavailablefunds")
    lookahead_excess_liquidity: Money = Field(None, alias="lookaheadexcessliquidity")
    lookahead_init_margin_req: Money = Field(None, alias="lookaheadinitmarginreq")
    lookahead_maint_margin_req: Money = Field(None, alias="lookaheadmaintmarginreq")
    lookahead_next_change: ValueNumber = Field(None, alias="lookaheadnextchange", description="epoch seconds")
    cushion: ValueNumber = Field(None, description="excess liquidity / net liquidation, a ratio")
    day_trades_remaining: ValueNumber = Field(None, alias="daytradesremaining", description="-1 = unlimited")
    raw: dict[str, SummaryValue] = Field(default_factory=dict, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _keep_raw(cls, data: Any) -> Any:
        if isinstance(data, dict) and "raw" not in data:
            raw = {k: v for k, v in data.items() if isinstance(v, dict)}
            return {**data, "raw": raw}
        return data

    @property
    def currency(self) -> str | None:
        """The currency of the money fields (the account's base currency)."""
        for key in ("netliquidation", "equitywithloanvalue", "totalcashvalue"):
            entry = self.raw.get(key)
            if entry is not None and entry.currency:
                return entry.currency
        return None

    def amount(self, key: str) -> float | None:
        """The ``amount`` of any key, e.g. ``summary.amount("netliquidation-c")``; None when absent or null."""
        entry = self.raw.get(key)
        return None if entry is None or entry.is_null else entry.amount

    def value(self, key: str) -> str | None:
        """The ``value`` string of any key, e.g. ``summary.value("segmenttitle-s")``."""
        entry = self.raw.get(key)
        return None if entry is None or entry.is_null else entry.value


class LedgerEntry(IbkrModel):
    """One currency of ``/portfolio/{id}/ledger`` (``currency == "BASE"`` is the base-currency aggregate)."""

    acct_code: Str = Field(None, alias="acctcode")
    currency: str
    second_key: Str = Field(None, alias="secondkey")
    key: Str = None
    cash_balance: Num = Field(None, alias="cashbalance")
    settled_cash: Num = Field(None, alias="settledcash")
    cash_balance_fx_segment: Num = Field(None, alias="cashbalancefxsegment")
    net_liquidation_value: Num = Field(None, alias="netliquidationvalue")
    exchange_rate: Num = Field(None, alias="exchangerate", description="value of one unit in base currency")
    unrealized_pnl: Num = Field(None, alias="unrealizedpnl")
    realized_pnl: Num = Field(None, alias="realizedpnl")
    interest: Num = None
    dividends: Num = None
    stock_market_value: Num = Field(None, alias="stockmarketvalue")
    stock_option_market_value: Num = Field(None, alias="stockoptionmarketvalue")
    future_market_value: Num = Field(None, alias="futuremarketvalue")
    future_option_market_value: Num = Field(None, alias="futureoptionmarketvalue")
    futures_only_pnl: Num = Field(None, alias="futuresonlypnl")
    commodity_market_value: Num = Field(None, alias="commoditymarketvalue")
    corporate_bonds_market_value: Num = Field(None, alias="corporatebondsmarketvalue")
    t_bonds_market_value: Num = Field(None, alias="tbondsmarketvalue")
    t_bills_market_value: Num = Field(None, alias="tbillsmarketvalue")
    warrants_market_value: Num = Field(None, alias="warrantsmarketvalue")
    issuer_options_market_value: Num = Field(None, alias="issueroptionsmarketvalue")
    money_funds: Num = Field(None, alias="moneyfunds")
    funds: Num = None
    cryptocurrency_value: Num = Field(None, alias="cryptocurrencyvalue")
    session_id: Int = Field(None, alias="sessionid")
    severity: Int = None
    timestamp: Int = Field(None, description="epoch seconds")
    end_of_bundle: Int = Field(None, alias="endofbundle")

    @property
    def is_base(self) -> bool:
        return self.currency == "BASE"


def _ledger_entries(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: ({"currency": k, **v} if isinstance(v, dict) and "currency" not in v else v) for k, v in data.items()}
    return data


class Ledger(RootModel[dict[str, LedgerEntry]]):
    """``GET /portfolio/{id}/ledger``: currency code (and ``"BASE"``) -> :class:`LedgerEntry`."""

    model_config = {"frozen": True}

    @model_validator(mode="before")
    @classmethod
    def _fill_currency(cls, data: Any) -> Any:
        return _ledger_entries(data)

    def __getitem__(self, currency: str) -> LedgerEntry:
        return self.root[currency]

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        return iter(self.root)

    def __len__(self) -> int:
        return len(self.root)

    def get(self, currency: str) -> LedgerEntry | None:
        return self.root.get(currency)

    @property
    def base(self) -> LedgerEntry | None:
        """The ``BASE`` aggregate (totals in the account's base currency)."""
        return self.root.get("BASE")

    @property
    def currencies(self) -> dict[str, LedgerEntry]:
        """The real currencies, without ``BASE``."""
        return {k: v for k, v in self.root.items() if k != "BASE"}


class PnlRow(IbkrModel):
    """One row of ``/iserver/account/pnl/partitioned`` or of the websocket's ``spl`` topic: key
    ``"U1234567.Core"``; daily P&L ``dpl``."""

    key: str = ""
    row_type: Int = Field(None, alias="rowType")
    daily_pnl: Num = Field(None, alias="dpl")
    net_liquidation: Num = Field(None, alias="nl")
    unrealized_pnl: Num = Field(None, alias="upl")
    excess_liquidity: Num = Field(None, alias="el")
    unrounded_excess_liquidity: Num = Field(None, alias="uel", description="websocket spl rows only")
    market_value: Num = Field(None, alias="mv")

    @property
    def acct_id(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def model(self) -> str:
        """The part after the account id (``"Core"``, or a model name for FA models)."""
        return self.key.split(".", 1)[1] if "." in self.key else ""


class PartitionedPnl(IbkrModel):
    """``GET /iserver/account/pnl/partitioned``; ``{"upnl": {}}`` on a cold session."""

    upnl: dict[str, PnlRow] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("upnl"), dict):
            rows = {k: ({"key": k, **v} if isinstance(v, dict) else v) for k, v in data["upnl"].items()}
            return {**data, "upnl": rows}
        return data

    @property
    def rows(self) -> list[PnlRow]:
        return list(self.upnl.values())

    @property
    def is_empty(self) -> bool:
        return not self.upnl

    def for_account(self, acct_id: str) -> PnlRow | None:
        """The ``.Core`` row of an account (its whole-account P&L)."""
        return self.upnl.get(f"{acct_id}.Core") or next((r for r in self.rows if r.acct_id == acct_id), None)


class AllocationSide(IbkrModel):
    long: dict[str, float] = Field(default_factory=dict)
    short: dict[str, float] = Field(default_factory=dict)


class Allocation(IbkrModel):
    """``GET /portfolio/{id}/allocation``: by asset class, group and sector; base currency; shorts negative."""

    asset_class: AllocationSide = Field(default_factory=AllocationSide, alias="assetClass")
    group: AllocationSide = Field(default_factory=AllocationSide)
    sector: AllocationSide = Field(default_factory=AllocationSide)
