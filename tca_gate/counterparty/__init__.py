"""A Counterparty Core API v2 client, sync and async (``pip install 'tca-gate[counterparty]'``).

It reads what a balance source needs: the node's status (``status``), the balances of
several addresses grouped by asset (``addresses_balances``), one address's balances, an
asset's facts (divisibility) and its holders, a page at a time; the async client's
``every_*`` calls follow the pages to the end. Quantities are integers in the asset's
base units. A data answer from a node that is catching up is refused (retried, then
``ServiceUnavailableError``). ``tca_gate.counterparty.testing.CounterpartyEmulator`` is a
small Counterparty API for tests.

>>> from tca_gate.counterparty import CounterpartyClient
>>> node = CounterpartyClient("http://127.0.0.1:4000")
>>> node.base_url
URL('http://127.0.0.1:4000')
>>> node.close()
"""

from tca_gate.extras import require_extra

require_extra("counterparty", "httpx2", "stamina", needed_by="tca_gate.counterparty")

from tca_gate.public import publish
from tca_gate.service import DEFAULT_RETRIES, DEFAULT_TIMEOUT, RetryPolicy

from ._calls import MAX_LIMIT, BalanceType
from ._client import DEFAULT_BASE_URL, AsyncCounterpartyClient, CounterpartyClient
from ._models import Asset, AssetHoldings, Balance, Holding, NodeStatus, Page

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "MAX_LIMIT",
    "Asset",
    "AssetHoldings",
    "AsyncCounterpartyClient",
    "Balance",
    "BalanceType",
    "CounterpartyClient",
    "Holding",
    "NodeStatus",
    "Page",
    "RetryPolicy",
]

publish(__name__, globals(), __all__)
