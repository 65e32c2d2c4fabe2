"""What Tokenpass answers, as frozen values (amounts in exact integer base units)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from tca_gate.errors import InvalidArgumentError


@dataclass(frozen=True, slots=True)
class Balance:
    """One asset a user holds, from ``balanceSat`` (the float ``balance`` is never read)."""

    asset: str
    name: str
    balance_sat: int


def balances_by_asset(balances: Iterable[Balance]) -> dict[str, int]:
    """Balances as ``{asset: base units}``, the form ``Rule.evaluate`` reads.

    >>> balances_by_asset([Balance("LTBCOIN", "LTBCOIN", 150000000)])
    {'LTBCOIN': 150000000}
    """
    found: dict[str, int] = {}
    for balance in balances:
        if balance.asset in found:
            raise InvalidArgumentError(
                f"balances list {balance.asset} twice; which balance counts is unclear"
            )
        found[balance.asset] = balance.balance_sat
    return found


@dataclass(frozen=True, slots=True)
class Address:
    """A user's address and balances.

    ``active`` and ``verified`` come only with ``manage-address``; ``verify_code``
    (the message to sign) only while the address is unverified.
    """

    address: str
    balances: Mapping[str, int] = field(hash=False)
    public: bool
    label: str | None
    active: bool | None = None
    verified: bool | None = None
    verify_code: str | None = None


@dataclass(frozen=True, slots=True)
class UserLookup:
    """A user found by address or email, or an address found by user.

    ``address`` is the one asked about or the user's first public address: ``None`` only
    from ``lookup_user_by_email``, for a user with no public address.
    """

    username: str
    address: str | None
    email: str | None


@dataclass(frozen=True, slots=True)
class SourceAddress:
    """An address whitelisted to make promises, for ``assets`` (``None``: any asset).

    ``chain`` and ``protocol`` are ``None`` when the service does not say.
    """

    address: str
    assets: tuple[str, ...] | None
    chain: str | None = None
    protocol: str | None = None


@dataclass(frozen=True, slots=True)
class ProvisionalSources:
    """This app's promise sources, and the suffix a registration proof signs after the address."""

    proof_suffix: str
    whitelist: tuple[SourceAddress, ...]


@dataclass(frozen=True, slots=True)
class Promise:
    """A provisional transaction: ``quantity`` base units from ``source`` to ``destination``.

    ``chain`` and ``protocol`` are ``None`` when the service does not say.
    """

    promise_id: int
    source: str
    destination: str
    asset: str
    quantity: int
    expiration: int | None
    pseudo: bool
    fingerprint: str | None
    txid: str | None
    ref: str | None
    note: str | None
    created_at: datetime | None
    updated_at: datetime | None
    chain: str | None = None
    protocol: str | None = None


@dataclass(frozen=True, slots=True)
class AssetInfo:
    """An asset on a chain: ``divisible`` assets count in 10^-``divisibility`` units."""

    chain: str
    asset: str
    divisible: bool
    divisibility: int


@dataclass(frozen=True, slots=True)
class ChatRule:
    """One way into a token chat: holding at least ``quantity`` base units of ``token``."""

    token: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Chat:
    """A token chat: a user who meets any one of its ``tca_rules`` may join it.

    ``global_`` is the service's ``global`` flag; ``joined`` says whether the token's user
    is on the chat's roster (``None`` when the service does not say).
    """

    id: str
    name: str
    active: bool
    global_: bool
    tca_rules: tuple[ChatRule, ...]
    joined: bool | None
    created_at: datetime | None
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class LinkedUser:
    """The Tokenpass user a credit account belongs to."""

    uuid: str
    slug: str | None
    username: str


@dataclass(frozen=True, slots=True)
class CreditGroup:
    """An app credit ledger, usable by the apps in ``app_whitelist``."""

    name: str
    uuid: str
    active: bool
    app_whitelist: tuple[str, ...]
    created_at: datetime | None
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class CreditAccount:
    """An account in a credit group; ``balance`` in the group's units."""

    name: str
    uuid: str
    balance: int
    tokenpass_user: LinkedUser | None
    created_at: datetime | None
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class CreditTransaction:
    """One ledger entry: ``amount`` is signed (credits positive, debits negative).

    ``tokenpass_user`` is the username of the account's Tokenpass user, if it has one.
    """

    credit_group: str
    account: str
    account_uuid: str
    tx_uuid: str
    amount: int
    ref: str | None
    tokenpass_user: str | None
    created_at: datetime | None
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class CreditTransfer:
    """The two entries of one give or take: ``credit`` and the matching ``debit``."""

    credit: CreditTransaction
    debit: CreditTransaction


@dataclass(frozen=True, slots=True)
class CreditGroupHistory:
    """A credit group and its transactions."""

    credit_group: CreditGroup
    transactions: tuple[CreditTransaction, ...]
    count: int


@dataclass(frozen=True, slots=True)
class CreditAccountHistory:
    """A credit account and its transactions."""

    account: CreditAccount
    transactions: tuple[CreditTransaction, ...]
    count: int


@dataclass(frozen=True, slots=True)
class TokenPerks:
    """What holding ``token`` unlocks: the number of token-gated chats."""

    token: str
    chat_count: int


@dataclass(frozen=True, slots=True)
class MessagingPermission:
    """Whether the user holds any ``token``, so may be messaged about it."""

    token: str
    can_message: bool


@dataclass(frozen=True, slots=True)
class OAuthToken:
    """A user's OAuth access token (left out of ``repr``)."""

    access_token: str = field(repr=False)
    token_type: str
    expires_in: int | None
    scope: str | None

    @property
    def scopes(self) -> tuple[str, ...]:
        """The granted scopes (the service joins them with commas or spaces)."""
        return tuple(part for part in (self.scope or "").replace(",", " ").split() if part)


@dataclass(frozen=True, slots=True)
class OAuthUser:
    """The user an OAuth access token belongs to."""

    id: str
    username: str
    email: str | None
    name: str | None
    email_is_confirmed: bool


@dataclass(frozen=True, slots=True)
class NewUser:
    """An account just registered."""

    id: str
    username: str
    email: str
