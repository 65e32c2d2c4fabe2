"""The Tokens.net exchange client, sync and async (``pip install 'tca-gate[tokensnet]'``).

Public calls (tickers, trades, trading pairs, order book, voting) need no credentials;
private ones (balances, orders, placing and canceling limit orders) are signed with the
``key``, ``nonce`` and ``signature`` headers, each attempt with a fresh nonce above every
one before. Prices and amounts are ``Decimal``; every documented error code has its own
error (``TokensNetError`` subclasses). ``verify_tokensnet_request`` and
``TokensNetAuthMiddleware`` check the signing on a server;
``tca_gate.tokensnet.testing.TokensNetEmulator`` is a small Tokens.net for tests.

>>> from tca_gate.tokensnet import TokensNetClient, FileNonces
>>> tokens = TokensNetClient("my-key", "my-secret")
>>> tokens.base_url
URL('https://api.tokens.net')
>>> tokens.close()
"""

from tca_gate.extras import require_extra

require_extra("tokensnet", "httpx2", "stamina", needed_by="tca_gate.tokensnet")

from tca_gate.errors import (
    ApiKeyMissingError,
    InvalidApiKeyError,
    InvalidCurrencyError,
    InvalidOrderIdError,
    InvalidParameterError,
    InvalidSignatureError,
    InvalidTradingPairError,
    NonceMissingError,
    NonceNotIntegerError,
    NonceTooLowError,
    OrderNotOpenError,
    SignatureMissingError,
    TokensNetError,
    TokensNetRateLimitError,
    TokensNetSignatureError,
)
from tca_gate.public import publish
from tca_gate.service import DEFAULT_RETRIES, DEFAULT_TIMEOUT, RetryPolicy
from tca_gate.signing.tokensnet import (
    FileNonces,
    MemoryNonces,
    NonceLedger,
    NonceSource,
    TokensNetAuthMiddleware,
    VerifiedRequest,
    tokensnet_signature,
    verify_tokensnet_request,
)
from tca_gate.signing.tokensnet.auth import TokensNetAuth

from ._client import DEFAULT_BASE_URL, AsyncTokensNetClient, TokensNetClient
from ._errors import error_class_for_code
from ._models import (
    AccountBalance,
    AccountBalances,
    OpenOrders,
    Order,
    OrderBook,
    OrderDetails,
    OrderStatus,
    OrderTrade,
    PlacedOrder,
    PriceLevel,
    PublishStatus,
    Side,
    Ticker,
    Trade,
    Trades,
    TradingPair,
    Voting,
    VotingCandidate,
    VotingWinner,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "AccountBalance",
    "AccountBalances",
    "ApiKeyMissingError",
    "AsyncTokensNetClient",
    "FileNonces",
    "InvalidApiKeyError",
    "InvalidCurrencyError",
    "InvalidOrderIdError",
    "InvalidParameterError",
    "InvalidSignatureError",
    "InvalidTradingPairError",
    "MemoryNonces",
    "NonceLedger",
    "NonceMissingError",
    "NonceNotIntegerError",
    "NonceSource",
    "NonceTooLowError",
    "OpenOrders",
    "Order",
    "OrderBook",
    "OrderDetails",
    "OrderNotOpenError",
    "OrderStatus",
    "OrderTrade",
    "PlacedOrder",
    "PriceLevel",
    "PublishStatus",
    "RetryPolicy",
    "Side",
    "SignatureMissingError",
    "Ticker",
    "TokensNetAuth",
    "TokensNetAuthMiddleware",
    "TokensNetClient",
    "TokensNetError",
    "TokensNetRateLimitError",
    "TokensNetSignatureError",
    "Trade",
    "Trades",
    "TradingPair",
    "VerifiedRequest",
    "Voting",
    "VotingCandidate",
    "VotingWinner",
    "error_class_for_code",
    "tokensnet_signature",
    "verify_tokensnet_request",
]

publish(__name__, globals(), __all__)
