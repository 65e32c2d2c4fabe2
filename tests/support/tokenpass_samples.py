"""Tokenpass answers as the server writes them, the values the client reads from them, and
a recording transport: the data of the Tokenpass client's unit tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx2

from tca_gate.tokenpass import (
    Address,
    Chat,
    ChatRule,
    Promise,
    TokenpassClient,
    UserLookup,
)

BASE = "https://tokenpass.example"
ADDRESS = "1BoatSLRHtKNngkdXEeobR76b53LbtpyT"
T = "oauth-token"
PASSWORD = "hunter2-password"
STAMP = "2024-03-01 12:30:00"
WHEN = datetime(2024, 3, 1, 12, 30, tzinfo=UTC)
ADDRESS_JSON = {
    "address": ADDRESS,
    "balances": {"LTBCOIN": 150000000, "SOUP": "12345678901234567890123"},
    "public": True,
    "label": "savings",
    "active": True,
    "verified": False,
    "verify_code": "abc123",
}
ADDRESS_VALUE = Address(
    ADDRESS,
    {"LTBCOIN": 150000000, "SOUP": 12345678901234567890123},
    public=True,
    label="savings",
    active=True,
    verified=False,
    verify_code="abc123",
)
PROMISE_JSON = {
    "promise_id": 7,
    "source": ADDRESS,
    "destination": "user:alice",
    "asset": "TOKENLY",
    "quantity": 500000000,
    "fingerprint": None,
    "txid": None,
    "ref": "order-1",
    "note": None,
    "expiration": 1900000000,
    "pseudo": False,
    "created_at": STAMP,
    "updated_at": STAMP,
}
PROMISE_VALUE = Promise(
    7, ADDRESS, "user:alice", "TOKENLY", 500000000, 1900000000, False,
    None, None, "order-1", None, WHEN, WHEN,
)  # fmt: skip
GROUP_JSON = {
    "name": "Points",
    "uuid": "g-1",
    "active": True,
    "app_whitelist": ["client-id"],
    "created_at": STAMP,
    "updated_at": STAMP,
}
ACCOUNT_JSON = {
    "name": "u-1",
    "uuid": "a-1",
    "balance": 40,
    "tokenpass_user": {"uuid": "u-1", "slug": "alice", "username": "alice"},
    "created_at": STAMP,
    "updated_at": STAMP,
}
TX_JSON = {
    "credit_group": "g-1",
    "account": "u-1",
    "account_uuid": "a-1",
    "tokenpass_user": False,
    "tx_uuid": "t-1",
    "amount": "-40",
    "ref": None,
    "created_at": STAMP,
    "updated_at": STAMP,
}
LOOKUP_JSON = {"username": "alice", "address": ADDRESS, "email": "alice@example.com"}
ASSET_JSON = {"chain": "bitcoin", "asset": "TOKENLY", "divisible": True, "divisibility": 8}
CHAT_JSON = {
    "id": "c-1",
    "name": "VIP",
    "active": True,
    "global": False,
    "tca_rules": [{"token": "TOKENLY", "quantity": 100000000}],
    "joined": False,
    "created_at": STAMP,
    "updated_at": STAMP,
}
CHAT_VALUE = Chat(
    "c-1", "VIP", active=True, global_=False, tca_rules=(ChatRule("TOKENLY", 100000000),),
    joined=False, created_at=WHEN, updated_at=WHEN,
)  # fmt: skip
LOOKUP_VALUE = UserLookup("alice", ADDRESS, "alice@example.com")


class Recorder:
    """A transport answering every request with ``answer``, keeping the requests it got."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return httpx2.Response(200, json=self.answer)


def sync_client(handler: Any, **options: Any) -> TokenpassClient:
    """A ``TokenpassClient`` whose requests go to ``handler`` instead of a network."""
    return TokenpassClient(
        BASE, "client-id", "client-secret", transport=httpx2.MockTransport(handler), **options
    )


def answer_of(name: str, answer: Any, *args: Any, **kwargs: Any) -> Any:
    """What the client's method ``name`` returns when Tokenpass answers ``answer``."""
    with sync_client(Recorder(answer)) as tokenpass:
        return getattr(tokenpass, name)(*args, **kwargs)
