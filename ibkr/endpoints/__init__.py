"""The endpoint groups of :class:`ibkr.client.ClientPortalClient`, one module per group of IBKR's docs."""
