"""The Tokenpass API client, sync and async (needs ``pip install 'tca-gate[tokenpass]'``).

>>> from tca_gate.tokenpass import TokenpassClient
>>> tokenpass = TokenpassClient("https://tokenpass.example", "my-client-id", "my-secret")
>>> tokenpass.authorization_url("https://app.example/callback", ["user", "tca"], state="xyz")
'https://tokenpass.example/oauth/authorize?client_id=my-client-id&redirect_uri=https%3A%2F%2Fapp.example%2Fcallback&scope=user%2Ctca&response_type=code&state=xyz'
>>> tokenpass.close()
"""

from tca_gate.extras import require_extra

require_extra("tokenpass", "httpx2", "stamina", needed_by="tca_gate.tokenpass")

from tca_gate.public import publish
from tca_gate.service import DEFAULT_RETRIES, DEFAULT_TIMEOUT, UNCHANGED, RetryPolicy
from tca_gate.signing.tokenly.auth import TokenlyAuth

from ._client import AsyncTokenpassClient, TokenpassClient
from ._models import (
    Address,
    AssetInfo,
    Balance,
    Chat,
    ChatRule,
    CreditAccount,
    CreditAccountHistory,
    CreditGroup,
    CreditGroupHistory,
    CreditTransaction,
    CreditTransfer,
    LinkedUser,
    MessagingPermission,
    NewUser,
    OAuthToken,
    OAuthUser,
    Promise,
    ProvisionalSources,
    SourceAddress,
    TokenPerks,
    UserLookup,
    balances_by_asset,
)
from ._oauth import SCOPES
from ._params import RuleParams

__all__ = [
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "SCOPES",
    "UNCHANGED",
    "Address",
    "AssetInfo",
    "AsyncTokenpassClient",
    "Balance",
    "Chat",
    "ChatRule",
    "CreditAccount",
    "CreditAccountHistory",
    "CreditGroup",
    "CreditGroupHistory",
    "CreditTransaction",
    "CreditTransfer",
    "LinkedUser",
    "MessagingPermission",
    "NewUser",
    "OAuthToken",
    "OAuthUser",
    "Promise",
    "ProvisionalSources",
    "RetryPolicy",
    "RuleParams",
    "SourceAddress",
    "TokenPerks",
    "TokenlyAuth",
    "TokenpassClient",
    "UserLookup",
    "balances_by_asset",
]

publish(__name__, globals(), __all__)
