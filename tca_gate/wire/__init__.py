"""What the layers above share about the wire, one module per mechanism.

- ``php``: exact re-implementations of the PHP primitives Tokenly's servers used;
- ``asgi``: reading a request body within a limit, handing it on, answering in JSON,
  and the path routing sees;
- ``urls``: the URL a signature covers, and a URL without its query;
- ``negotiation``: whether a client wants JSON or a page (one rule for every answer);
- ``serving``: binding a socket and serving an ASGI app on it under uvicorn, in the
  background or the foreground.

Nothing is imported here, so the rule engine can use ``php`` without the web stack.
"""
