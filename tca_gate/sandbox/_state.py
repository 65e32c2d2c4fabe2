"""What one running sandbox holds: its database, clock, options, queued faults and webhooks."""

from __future__ import annotations

from dataclasses import dataclass, field

from tca_gate.signing.replay import ReplayStore
from tca_gate.signing.tokenly import DEFAULT_WINDOW

from ._clock import Clock, system_clock
from ._faults import FaultQueue
from ._store import Store
from ._webhooks import WebhookSender

#: How long an access token lives, in seconds (Tokenpass tokens were long-lived).
DEFAULT_TOKEN_LIFETIME = 30 * 24 * 3600


@dataclass(slots=True)
class SandboxState:
    """Shared by every request of one sandbox app (``app.state.sandbox``)."""

    store: Store
    clock: Clock = system_clock
    admin_token: str | None = None
    replay_store: ReplayStore | None = None
    hmac_window: float = DEFAULT_WINDOW
    token_lifetime: int = DEFAULT_TOKEN_LIFETIME
    faults: FaultQueue = field(default_factory=FaultQueue)
    webhooks: WebhookSender = field(default_factory=WebhookSender)
