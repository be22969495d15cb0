"""The simulator's HTTP surface: IBKR's endpoints, one module per group of IBKR's docs, and the views that shape
their answers (``positions_view``, ``order_views``, ``summary``).

Every endpoint is declared in its module's :class:`~ibkr_sim.routes.base.Endpoints` table and listed here; the
app serves exactly :data:`ENDPOINTS`. To add an endpoint, add a handler to the module of its group (or a new
module, named in :data:`TABLES`), and a call to ``tests/integration/test_sim_spec_coverage.py``.
"""

from __future__ import annotations

from ibkr_sim.routes import accounts, contracts, marketdata, orders, portfolio, session
from ibkr_sim.routes.base import EndpointSpec

TABLES = (session.endpoints, accounts.endpoints, portfolio.endpoints, contracts.endpoints, marketdata.endpoints,
          orders.endpoints)
ENDPOINTS: tuple[EndpointSpec, ...] = tuple(spec for table in TABLES for spec in table)
