"""The gate: rules in front of routes, judged on every request against cached balances.

``Gate`` judges; ``TcaGateMiddleware`` guards paths, ``requires_tokens`` guards one
Starlette endpoint, ``tca_gate.fastapi.require_tokens`` one FastAPI route. All three
answer alike: 401 without an identity, 403 when the rule refuses (with what is
missing), 503 when the balances cannot be read; never an accidental allow.
"""

from ._decorator import requires_tokens
from ._gate import Gate, RefusalRenderer
from ._identity import (
    IdentityResolver,
    auth_user_identity,
    default_identity,
    header_identity,
    login_identity,
)
from ._log import DECISION_LOGGER
from ._middleware import TcaGateMiddleware
from ._rules import GateConfigError, GateRules, GuardedPath, load_rules
from ._verdict import Outcome, Verdict
from ._webhook import BalanceEvent, BalanceWebhook, WebhookPayloadError, read_event

__all__ = [
    "DECISION_LOGGER",
    "BalanceEvent",
    "BalanceWebhook",
    "Gate",
    "GateConfigError",
    "GateRules",
    "GuardedPath",
    "IdentityResolver",
    "Outcome",
    "RefusalRenderer",
    "TcaGateMiddleware",
    "Verdict",
    "WebhookPayloadError",
    "auth_user_identity",
    "default_identity",
    "header_identity",
    "load_rules",
    "login_identity",
    "read_event",
    "requires_tokens",
]
