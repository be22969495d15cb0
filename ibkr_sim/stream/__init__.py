"""The gateway's websocket (``/v1/api/ws``): the socket and its authentication (``socket``), one socket's
subscriptions and what is due to it (``feed``), IBKR's message shapes (``messages``) and the hub that counts and
wakes every socket (``hub``)."""
