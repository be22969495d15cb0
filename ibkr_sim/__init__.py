"""A simulated IBKR Client Portal Gateway: IBKR's Web API over HTTPS, for the dashboard's demo and the tests.

    python -m ibkr_sim --port 5000          # prints "ready https://127.0.0.1:5000" once it listens

It is a sibling of the library, not part of it: ``ibkr`` starts it as a command (``ibkr.gateway``) and never
imports it, and it never imports the client's models (a fake that parses with the client's models would share
their bugs). Its settings are :class:`ibkr.config.SimSettings` (``IBKR_SIM_*``), from which its CLI is built.

- :mod:`ibkr_sim.app`: the Starlette app and the :class:`~ibkr_sim.app.Simulator` that holds all state.
- :mod:`ibkr_sim.routes`: the HTTP surface, IBKR's endpoints (the one place to add one) and their views.
- :mod:`ibkr_sim.world`: accounts, instruments, prices, margin, the order book and IBKR's order rules.
- :mod:`ibkr_sim.infra`: what the gateway does around the API: session, login page, pacing, faults,
  certificates, and the ``/sim/`` admin API.
"""
