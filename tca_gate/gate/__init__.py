"""The gate: rules in front of routes, judged on every request against cached balances.

``Gate`` judges; ``TcaGateMiddleware`` guards paths, ``requires_tokens`` guards one
Starlette endpoint, ``tca_gate.fastapi.require_tokens`` one FastAPI route. All three
answer alike: 401 without an identity, 403 when the rule refuses (with what is
missing), 503 when the balances cannot be read; never an accidental allow.
"""

from tca_gate.balances import (
    BalanceEvent,
    BalanceWebhook,
    IdentityResolver,
    WebhookPayloadError,
    read_event,
)
from tca_gate.errors import GateConfigError
from tca_gate.public import publish

# Shared with tca_gate.fastapi, tca_gate.demo and tca_gate.delivery; not in ``__all__``.
from ._decorator import gate_of as gate_of
from ._decorator import requires_tokens
from ._gate import Gate, RefusalRenderer
from ._identity import (
    auth_user_identity,
    default_identity,
    header_identity,
    login_identity,
)
from ._log import DECISION_LOGGER
from ._middleware import TcaGateMiddleware
from ._middleware import admit as admit
from ._path_rules import GateRules, GuardedPath, load_rules
from ._responses import mark_private as mark_private
from ._responses import refusal_headers as refusal_headers
from ._revocation import watching as watching
from ._verdict import Outcome, Verdict

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

publish(__name__, globals(), __all__)
