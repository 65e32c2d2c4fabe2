"""tca-gate: grant or refuse access by the tokens a user holds (Token Controlled Access).

>>> from tca_gate import compile_rule
>>> rule = compile_rule("LTBCOIN=10000&LTBSTAFF=1&stackop_1=OR")
>>> rule.evaluate({"LTBSTAFF": 100_000_000})
True
"""

from ._amounts import SATOSHIS_PER_TOKEN, format_tokens, sat_to_tokens, tokens_to_sat
from ._clause import OPERATORS, Clause, Op
from ._compile import compile_rule
from ._errors import (
    AmountError,
    InvalidArgumentError,
    InvalidBalancesError,
    RuleFormatError,
    RuleSyntaxError,
    TcaGateError,
)
from ._explain import ClauseResult, Decision, GroupResult
from ._lint import LINT_CODES, LintWarning
from ._redis_replay import AsyncRedisReplayStore, RedisReplayStore
from ._rule import Rule
from ._service_errors import (
    AuthenticationError,
    ClientClosedError,
    ConflictError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ServiceError,
    ServiceUnavailableError,
)
from ._stack import Dialect
from ._tokenly_hmac import (
    AsyncReplayStore,
    MemoryReplayStore,
    ReplayStore,
    SignedRequest,
    TokenlySignatureError,
    check_tokenly_signature,
    sign_tokenly_request,
    verify_tokenly_request,
)
from ._tokenly_middleware import TokenlyAuthMiddleware
from .balances import (
    BalanceCache,
    BalanceSource,
    BalanceUnavailableError,
    CachedBalances,
    Holder,
    RedisCachedBalances,
    StaticBalances,
    TokenpassBalances,
    UnknownHolderError,
)
from .gate import (
    BalanceWebhook,
    Gate,
    GateConfigError,
    GateRules,
    Outcome,
    TcaGateMiddleware,
    Verdict,
    load_rules,
    requires_tokens,
)

__version__ = "0.1.0"

__all__ = [
    "LINT_CODES",
    "OPERATORS",
    "SATOSHIS_PER_TOKEN",
    "AmountError",
    "AsyncRedisReplayStore",
    "AsyncReplayStore",
    "AuthenticationError",
    "BalanceCache",
    "BalanceSource",
    "BalanceUnavailableError",
    "BalanceWebhook",
    "CachedBalances",
    "Clause",
    "ClauseResult",
    "ClientClosedError",
    "ConflictError",
    "Decision",
    "Dialect",
    "Gate",
    "GateConfigError",
    "GateRules",
    "GroupResult",
    "Holder",
    "InvalidArgumentError",
    "InvalidBalancesError",
    "InvalidRequestError",
    "LintWarning",
    "MalformedResponseError",
    "MemoryReplayStore",
    "NotFoundError",
    "Op",
    "Outcome",
    "PermissionDeniedError",
    "RateLimitError",
    "RedisCachedBalances",
    "RedisReplayStore",
    "ReplayStore",
    "Rule",
    "RuleFormatError",
    "RuleSyntaxError",
    "ServerError",
    "ServiceError",
    "ServiceUnavailableError",
    "SignedRequest",
    "StaticBalances",
    "TcaGateError",
    "TcaGateMiddleware",
    "TokenlyAuthMiddleware",
    "TokenlySignatureError",
    "TokenpassBalances",
    "UnknownHolderError",
    "Verdict",
    "__version__",
    "check_tokenly_signature",
    "compile_rule",
    "format_tokens",
    "load_rules",
    "requires_tokens",
    "sat_to_tokens",
    "sign_tokenly_request",
    "tokens_to_sat",
    "verify_tokenly_request",
]
