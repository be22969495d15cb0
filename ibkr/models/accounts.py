"""Account models: ``/portfolio/accounts`` entries and ``/iserver/accounts`` (docs/cpapi.md section 2)."""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, Field

from ibkr.models._base import Bool, IbkrModel, Int, Str
from ibkr.models.session import ServerInfo


class AccountParent(IbkrModel):
    mmc: list[Any] = Field(default_factory=list)
    account_id: Str = Field(None, alias="accountId")
    is_m_parent: bool = Field(False, alias="isMParent")
    is_m_child: bool = Field(False, alias="isMChild")
    is_multiplex: bool = Field(False, alias="isMultiplex")


class Account(IbkrModel):
    """One account of ``/portfolio/accounts``, ``/portfolio/subaccounts`` or ``/portfolio/{id}/meta``."""

    id: Str = None
    account_id: str = Field(alias="accountId")
    account_van: Str = Field(None, alias="accountVan")
    account_title: Str = Field(None, alias="accountTitle")
    display_name: Str = Field(None, alias="displayName")
    account_alias: Str = Field(None, alias="accountAlias")
    account_status: Int = Field(None, alias="accountStatus", description="opening date, epoch ms")
    currency: Str = Field(None, description="base currency")
    type: Str = None
    trading_type: Str = Field(None, alias="tradingType")
    business_type: Str = Field(None, alias="businessType")
    ib_entity: Str = Field(None, alias="ibEntity")
    clearing_status: Str = Field(None, alias="clearingStatus")
    covestor: Bool = None
    no_client_trading: Bool = Field(None, alias="noClientTrading")
    track_virtual_fx_portfolio: Bool = Field(None, alias="trackVirtualFXPortfolio")
    brokerage_access: Bool = Field(None, alias="brokerageAccess")
    fa_client: Bool = Field(None, validation_alias=AliasChoices("faclient", "faClient", "fa_client"))
    acct_cust_type: Str = Field(None, alias="acctCustType")
    category: Str = None
    desc: Str = None
    prepaid_crypto_z: Bool = Field(None, alias="PrepaidCrypto-Z")
    prepaid_crypto_p: Bool = Field(None, alias="PrepaidCrypto-P")
    parent: AccountParent | None = None

    @property
    def is_advisor(self) -> bool:
        """A master of a tiered structure (FA ``F…``/``DF…``, IBroker ``I…``, money manager parent).

        Its clients' accounts come from ``/portfolio/subaccounts``, not ``/portfolio/accounts``.
        """
        bare = self.account_id[1:] if self.account_id.startswith("D") else self.account_id
        return bool(self.parent and self.parent.is_m_parent) or bare[:1] in ("F", "I")

    @property
    def label(self) -> str:
        """What to show a person: the alias or title next to the id."""
        name = self.account_alias or self.account_title or self.display_name
        return f"{self.account_id} ({name})" if name and name != self.account_id else self.account_id


class AccountProperties(IbkrModel):
    allow_customer_time: Bool = Field(None, alias="allowCustomerTime")
    auto_fx: Bool = Field(None, alias="autoFx")
    has_child_accounts: Bool = Field(None, alias="hasChildAccounts")
    is_prop: Bool = Field(None, alias="isProp")
    lite_under_pro: Bool = Field(None, alias="liteUnderPro")
    no_fx_conv: Bool = Field(None, validation_alias=AliasChoices("noFxConv", "noFXConv", "no_fx_conv"))
    supports_cash_qty: Bool = Field(None, alias="supportsCashQty")
    supports_fractions: Bool = Field(None, alias="supportsFractions")


class IserverAccounts(IbkrModel):
    """``GET /iserver/accounts``: the accounts this brokerage session can trade. ``{}`` when competing."""

    accounts: list[str] = Field(default_factory=list)
    acct_props: dict[str, AccountProperties] = Field(default_factory=dict, alias="acctProps")
    aliases: dict[str, str] = Field(default_factory=dict)
    allow_features: dict[str, Any] = Field(default_factory=dict, alias="allowFeatures")
    chart_periods: dict[str, list[str]] = Field(default_factory=dict, alias="chartPeriods")
    groups: list[str] = Field(default_factory=list)
    profiles: list[Any] = Field(default_factory=list)
    selected_account: Str = Field(None, alias="selectedAccount")
    is_paper: Bool = Field(None, alias="isPaper")
    is_ft: Bool = Field(None, alias="isFT")
    server_info: ServerInfo | None = Field(None, alias="serverInfo")
    session_id: Str = Field(None, alias="sessionId", repr=False)

    def has_child_accounts(self, account_id: str) -> bool:
        props = self.acct_props.get(account_id)
        return bool(props and props.has_child_accounts)


class AccountSwitch(IbkrModel):
    """``POST /iserver/account``: ``{"acctId": "U2234567", "set": true}``."""

    acct_id: Str = Field(None, alias="acctId")
    set: Bool = None


SUBACCOUNTS2_PAGE = 20  # IBKR OpenAPI spec, /portfolio/subaccounts2: "paginated up to 20 accounts per page"


class SubaccountsPage(IbkrModel):
    """``GET /portfolio/subaccounts2``: one page of sub-accounts (20 per page) and ``metadata`` (pageNum,
    pageSize, total). The IBKR OpenAPI spec calls ``pageSize`` the "items contained in the returning page" and
    ``total`` "the total number of accounts returned for the page": either may be this page's count, so neither
    says where the structure ends (see ``PositionEndpoints.all_subaccount_pages``)."""

    metadata: dict[str, Any] = Field(default_factory=dict)
    subaccounts: list[Account] = Field(default_factory=list)

    @property
    def total(self) -> int | None:
        value = self.metadata.get("total")
        return int(value) if isinstance(value, int | float) else None

    @property
    def page_size(self) -> int:
        """How many accounts a full page holds: IBKR's 20, or ``pageSize`` when it says more."""
        value = self.metadata.get("pageSize")
        return max(SUBACCOUNTS2_PAGE, int(value)) if isinstance(value, int | float) else SUBACCOUNTS2_PAGE
