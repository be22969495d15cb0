"""Order tickets per asset class, their validation, and the wire body IBKR expects (docs/cpapi.md section 3).

Build a ticket, check it, then hand it to :meth:`ClientPortalClient.place_order` (or ``whatif``)::

    ticket = StockOrder(account_id="DU123456", symbol="AAPL", side="BUY", quantity=10,
                        order_type="LMT", limit_price=150)
    ticket.problems()          # [] or sentences a trader understands; place_order raises them
    client.place_order(ticket) # OrderAccepted or PendingConfirmation

Tickets: :class:`StockOrder` (STK), :class:`OptionOrder` (OPT: underlying, expiry, strike, right),
:class:`FutureOrder` (FUT: symbol and contract month; the client adds ``manualIndicator`` and ``extOperator``,
see ``FUTURES_CLASSES``), :class:`ForexOrder`
(CASH: a pair such as ``EUR.USD`` on IDEALPRO), :class:`BondOrder` (BOND, by conid), :class:`CryptoOrder`
(CRYPTO on PAXOS). Order types MKT, LMT, STP, STOP_LIMIT, TRAIL; TIF DAY, GTC, IOC, OPG.

Around the tickets: :mod:`ibkr.orders.entry` (a form's values to a checked ticket) and
:mod:`ibkr.orders.submission` (one submission from the click to IBKR's final answer, questions included).
IBKR's names for order types, months and sides are mapped here once (``order_type_named``, ``MONTHS``,
``side_named``).
"""

from ibkr.orders.base import (
    FUTURES_CLASSES,
    MONTHS,
    ORDER_TYPE_NAMES,
    AssetClass,
    OrderType,
    Side,
    TimeInForce,
    TrailingType,
    month_code,
    month_number,
    new_coid,
    order_type_named,
    side_named,
)
from ibkr.orders.tickets import (
    BondOrder,
    ConidOrder,
    CryptoOrder,
    ForexOrder,
    FutureOrder,
    OptionOrder,
    OrderTicket,
    StockOrder,
)
from ibkr.orders.wire import OrderBody, OrdersRequest

__all__ = [
    "AssetClass", "BondOrder", "ConidOrder", "CryptoOrder", "ForexOrder", "FutureOrder", "OptionOrder", "OrderBody",
    "OrderTicket", "OrderType", "OrdersRequest", "Side", "StockOrder", "TimeInForce", "TrailingType", "new_coid",
    "FUTURES_CLASSES", "MONTHS", "ORDER_TYPE_NAMES", "month_code", "month_number", "order_type_named", "side_named",
]
