"""The sandbox's seed file: the users, addresses, balances and apps it starts with.

A seed is TOML; every table and key below except the ``[[client]]`` and
``[[user]]`` fields marked required is optional, and unknown keys are errors::

    [[client]]                                   # an app: OAuth client and API client
    client_id = "demo-app"                       # required
    client_secret = "demo-secret"                # required
    name = "Demo app"                            # required
    redirect_uris = ["http://127.0.0.1:8000/callback"]   # required, at least one
    webhook_url = "http://127.0.0.1:8000/hooks/balances" # where balance-change events go
    privileged = true                            # may make privileged calls; default false

    [[user]]
    username = "alice"                           # required
    password = "alice-password"                  # required (stored hashed)
    email = "alice@example.com"                  # required
    name = "Alice"                               # defaults to the username
    uuid = "2b0c…"                               # defaults to a fresh UUID
    email_confirmed = true                       # defaults to true

    [[address]]
    address = "12Fengv9kjnt69gb27oXESKnURwBfs9P34"   # required: a P2PKH address
    user = "alice"                               # its owner; none = balances only
    label = "Main"                               # defaults to ""
    public = true                                # defaults to false
    active = true                                # defaults to true
    verified = true                              # defaults to true
    balances = { TOKENLY = 2, LTBCOIN = "0.5" }  # tokens: integers or decimal strings

    [[provisional_source]]                       # an address an app may promise from
    client = "demo-app"                          # defaults to the first client
    address = "18BF18zG8x13tXrJ6H9bbbFAGbRofqK6y8"
    assets = ["LTBCOIN"]                         # defaults to any asset
    chain = "bitcoin"                            # the defaults: bitcoin, counterparty
    protocol = "counterparty"                    # (also for a [[promise]])

    [[promise]]
    client = "demo-app"                          # defaults to the first client
    source = "18BF18zG8x13tXrJ6H9bbbFAGbRofqK6y8"
    destination = "user:bob"                     # an address or user:{username}
    asset = "LTBCOIN"
    quantity = "1200"                            # tokens, as balances
    expiration = 1900000000                      # unix time; defaults to never
    ref = "order-1"                              # also note, txid, fingerprint

    [[perk]]
    token = "TOKENLY"
    chat_count = 3

    [[asset]]                                    # assets are divisible unless listed here
    asset = "TOKENLY"
    chain = "bitcoin"                            # the default
    divisible = false                            # required

Amounts are converted exactly (``tokens_to_sat``); TOML floats are refused because
TOML readers take them as inexact binary floats.
"""

from __future__ import annotations

import tomllib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tca_gate.errors import AmountError, SeedError, shorten
from tca_gate.rules import tokens_to_sat
from tca_gate.signing.bitcoin import is_valid_address

from ._limits import (
    DEFAULT_CHAIN,
    DEFAULT_PROTOCOL,
    MAX_SAT,
    is_asset_name,
    is_chain_name,
    is_username,
)

DEMO_SEED = "demo_seed.toml"


@dataclass(frozen=True, slots=True)
class SeedClient:
    """An app: its OAuth client credentials, which are also its Tokenly API credentials,
    and where the sandbox POSTs its balance-change webhooks (none: it sends none)."""

    client_id: str
    client_secret: str
    name: str
    redirect_uris: tuple[str, ...]
    webhook_url: str | None = None
    privileged: bool = False


@dataclass(frozen=True, slots=True)
class SeedUser:
    """A Tokenpass account."""

    username: str
    password: str
    email: str
    name: str
    uuid: str
    email_confirmed: bool


@dataclass(frozen=True, slots=True)
class SeedAddress:
    """A Bitcoin address, its owner (if any) and its balances in satoshis."""

    address: str
    user: str | None
    label: str
    public: bool
    active: bool
    verified: bool
    balances: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class SeedSource:
    """An address whitelisted as a promise source for an app."""

    client: str
    address: str
    assets: tuple[str, ...] | None
    chain: str = DEFAULT_CHAIN
    protocol: str = DEFAULT_PROTOCOL


@dataclass(frozen=True, slots=True)
class SeedPromise:
    """A promise (provisional transaction) made by an app."""

    client: str
    source: str
    destination: str
    asset: str
    quantity: int
    expiration: int | None
    ref: str | None
    note: str | None
    txid: str | None
    fingerprint: str | None
    chain: str = DEFAULT_CHAIN
    protocol: str = DEFAULT_PROTOCOL


@dataclass(frozen=True, slots=True)
class SeedPerk:
    """The perks a token grants."""

    token: str
    chat_count: int


@dataclass(frozen=True, slots=True)
class SeedAsset:
    """Whether an asset on a chain is divisible (8 decimal places) or not."""

    chain: str
    asset: str
    divisible: bool


@dataclass(frozen=True, slots=True)
class Seed:
    """A whole seed file, read and checked."""

    clients: tuple[SeedClient, ...]
    users: tuple[SeedUser, ...]
    addresses: tuple[SeedAddress, ...]
    sources: tuple[SeedSource, ...]
    promises: tuple[SeedPromise, ...]
    perks: tuple[SeedPerk, ...]
    assets: tuple[SeedAsset, ...] = ()


def load_seed(path: str | Path | None = None) -> Seed:
    """Read a seed file; the demo seed shipped with tca-gate when ``path`` is None."""
    if path is None:
        text = resources.files(__package__).joinpath(DEMO_SEED).read_text("utf-8")
        return parse_seed(text, DEMO_SEED)
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SeedError(f"cannot read seed file {shorten(str(path))}: {error}") from None
    return parse_seed(text, str(path))


def parse_seed(text: str, origin: str = "seed") -> Seed:
    """Read a seed from TOML text; ``origin`` names it in errors."""
    try:
        document = tomllib.loads(text, parse_float=_refuse_float)
    except (tomllib.TOMLDecodeError, ValueError) as error:
        raise SeedError(f"{origin} is not a valid seed: {error}") from None
    root = _Entry(origin, document)
    root.only({"client", "user", "address", "provisional_source", "promise", "perk", "asset"})
    clients = tuple(_client(entry) for entry in root.entries("client"))
    users = tuple(_user(entry) for entry in root.entries("user"))
    default_client = clients[0].client_id if clients else None
    seed = Seed(
        clients=clients,
        users=users,
        addresses=tuple(_address(entry) for entry in root.entries("address")),
        sources=tuple(_source(e, default_client) for e in root.entries("provisional_source")),
        promises=tuple(_promise(e, default_client) for e in root.entries("promise")),
        perks=tuple(_perk(entry) for entry in root.entries("perk")),
        assets=tuple(_asset(entry) for entry in root.entries("asset")),
    )
    _check_references(seed, origin)
    return seed


def _refuse_float(text: str) -> Decimal:
    raise ValueError(f"{text} is a float: write token amounts as integers or decimal strings")


class _Entry:
    """One TOML table of the seed, read field by field with errors naming ``where``."""

    def __init__(self, where: str, table: Mapping[str, Any]) -> None:
        self.where = where
        self.table = table

    def fail(self, key: str, problem: str) -> SeedError:
        return SeedError(f"{self.where}: {key}: {problem}")

    def only(self, keys: set[str]) -> None:
        unknown = sorted(set(self.table) - keys)
        if unknown:
            raise self.fail(unknown[0], f"unknown key (expected one of {', '.join(sorted(keys))})")

    def entries(self, key: str) -> list[_Entry]:
        items = self.table.get(key, [])
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise self.fail(key, f"write entries as [[{key}]] tables")
        return [
            _Entry(f"{self.where}: {key}[{number}]", item)
            for number, item in enumerate(items, start=1)
        ]

    def text(self, key: str, default: str | None = None) -> str:
        value = self.table.get(key, default)
        if value is None:
            raise self.fail(key, "is required")
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "must be a non-empty string")
        return value

    def optional_text(self, key: str) -> str | None:
        return self.text(key) if key in self.table else None

    def flag(self, key: str, default: bool) -> bool:
        value = self.table.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, "must be true or false")
        return value

    def sat(self, key: str, value: object) -> int:
        if not isinstance(value, (int, str)) or isinstance(value, bool):
            raise self.fail(key, "must be a token amount: an integer or a decimal string")
        try:
            sat = tokens_to_sat(value)
        except AmountError as error:
            raise self.fail(key, str(error)) from None
        if not 0 <= sat <= MAX_SAT:
            raise self.fail(key, f"must be between 0 and {MAX_SAT} satoshis")
        return sat


def _client(entry: _Entry) -> SeedClient:
    entry.only({"client_id", "client_secret", "name", "redirect_uris", "webhook_url", "privileged"})
    uris = entry.table.get("redirect_uris")
    if not isinstance(uris, list) or not uris or not all(isinstance(u, str) and u for u in uris):
        raise entry.fail("redirect_uris", "must be a non-empty list of URLs")
    webhook_url = entry.optional_text("webhook_url")
    if webhook_url is not None and not is_webhook_url(webhook_url):
        raise entry.fail("webhook_url", "must be an http:// or https:// URL with a host")
    return SeedClient(
        entry.text("client_id"),
        entry.text("client_secret"),
        entry.text("name"),
        tuple(uris),
        webhook_url,
        entry.flag("privileged", False),
    )


def is_webhook_url(url: str) -> bool:
    """Whether ``url`` is an absolute ``http``/``https`` URL with a host.

    >>> is_webhook_url("http://127.0.0.1:8000/hooks/balances"), is_webhook_url("/hooks")
    (True, False)
    """
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:
        return False


def _user(entry: _Entry) -> SeedUser:
    entry.only({"username", "password", "email", "name", "uuid", "email_confirmed"})
    username = entry.text("username")
    if not is_username(username):
        raise entry.fail("username", "must be 1-64 letters, digits, '-', '_' or '.'")
    given_uuid = entry.optional_text("uuid")
    try:
        user_uuid = str(uuid.UUID(given_uuid)) if given_uuid else str(uuid.uuid4())
    except ValueError:
        raise entry.fail("uuid", "must be a UUID") from None
    return SeedUser(
        username=username,
        password=entry.text("password"),
        email=entry.text("email"),
        name=entry.text("name", username),
        uuid=user_uuid,
        email_confirmed=entry.flag("email_confirmed", True),
    )


def _address(entry: _Entry) -> SeedAddress:
    entry.only({"address", "user", "label", "public", "active", "verified", "balances"})
    address = entry.text("address")
    if not is_valid_address(address):
        raise entry.fail("address", f"{shorten(address)!r} is not a valid P2PKH address")
    balances = entry.table.get("balances", {})
    if not isinstance(balances, dict):
        raise entry.fail("balances", "must be a table of ASSET = amount")
    for asset in balances:
        if not is_asset_name(asset):
            raise entry.fail(f"balances.{shorten(asset)}", "is not an asset name")
    label = entry.table.get("label", "")
    if not isinstance(label, str):
        raise entry.fail("label", "must be a string")
    return SeedAddress(
        address=address,
        user=entry.optional_text("user"),
        label=label,
        public=entry.flag("public", False),
        active=entry.flag("active", True),
        verified=entry.flag("verified", True),
        balances={
            asset: entry.sat(f"balances.{asset}", amount) for asset, amount in balances.items()
        },
    )


def _source(entry: _Entry, default_client: str | None) -> SeedSource:
    entry.only({"client", "address", "assets", "chain", "protocol"})
    assets = entry.table.get("assets")
    if assets is not None and (
        not isinstance(assets, list)
        or not all(isinstance(a, str) and is_asset_name(a) for a in assets)
    ):
        raise entry.fail("assets", "must be a list of asset names")
    address = entry.text("address")
    if not is_valid_address(address):
        raise entry.fail("address", f"{shorten(address)!r} is not a valid P2PKH address")
    return SeedSource(
        client=entry.text("client", default_client),
        address=address,
        assets=None if assets is None else tuple(assets),
        chain=_chain_name(entry, "chain", DEFAULT_CHAIN),
        protocol=_chain_name(entry, "protocol", DEFAULT_PROTOCOL),
    )


def _promise(entry: _Entry, default_client: str | None) -> SeedPromise:
    keys = {"client", "source", "destination", "asset", "quantity", "expiration"}
    entry.only(keys | {"ref", "note", "txid", "fingerprint", "chain", "protocol"})
    expiration = entry.table.get("expiration")
    if expiration is not None and (not isinstance(expiration, int) or isinstance(expiration, bool)):
        raise entry.fail("expiration", "must be a unix time in seconds")
    source = entry.text("source")
    destination = entry.text("destination")
    asset = entry.text("asset")
    if not is_valid_address(source):
        raise entry.fail("source", f"{shorten(source)!r} is not a valid P2PKH address")
    if not destination.startswith("user:") and not is_valid_address(destination):
        raise entry.fail("destination", "must be a P2PKH address or user:{username}")
    if not is_asset_name(asset):
        raise entry.fail("asset", "is not an asset name")
    return SeedPromise(
        client=entry.text("client", default_client),
        source=source,
        destination=destination,
        asset=asset,
        quantity=entry.sat("quantity", entry.table.get("quantity")),
        expiration=expiration,
        ref=entry.optional_text("ref"),
        note=entry.optional_text("note"),
        txid=entry.optional_text("txid"),
        fingerprint=entry.optional_text("fingerprint"),
        chain=_chain_name(entry, "chain", DEFAULT_CHAIN),
        protocol=_chain_name(entry, "protocol", DEFAULT_PROTOCOL),
    )


def _perk(entry: _Entry) -> SeedPerk:
    entry.only({"token", "chat_count"})
    count = entry.table.get("chat_count", 0)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise entry.fail("chat_count", "must be a whole number, 0 or more")
    return SeedPerk(entry.text("token"), count)


def _chain_name(entry: _Entry, key: str, default: str) -> str:
    name = entry.text(key, default)
    if not is_chain_name(name):
        raise entry.fail(key, f"{shorten(name)!r} is not a chain or protocol name")
    return name


def _asset(entry: _Entry) -> SeedAsset:
    entry.only({"asset", "chain", "divisible"})
    asset, chain = entry.text("asset"), _chain_name(entry, "chain", DEFAULT_CHAIN)
    if not is_asset_name(asset):
        raise entry.fail("asset", "is not an asset name")
    if not isinstance(entry.table.get("divisible"), bool):
        raise entry.fail("divisible", "is required: true or false")
    return SeedAsset(chain, asset, entry.flag("divisible", True))


def _check_references(seed: Seed, origin: str) -> None:
    """Names are unique and every reference names something the seed defines."""
    _unique(origin, "client", [c.client_id for c in seed.clients], "client_id")
    _unique(origin, "user", [u.username.lower() for u in seed.users], "username")
    _unique(origin, "user", [u.email.lower() for u in seed.users], "email")
    _unique(origin, "user", [u.uuid for u in seed.users], "uuid")
    _unique(origin, "address", [a.address for a in seed.addresses], "address")
    _unique(origin, "perk", [p.token for p in seed.perks], "token")
    _unique(origin, "asset", [f"{a.chain}/{a.asset}" for a in seed.assets], "asset")
    usernames = {u.username.lower() for u in seed.users}
    clients = {c.client_id for c in seed.clients}
    for number, address in enumerate(seed.addresses, start=1):
        if address.user is not None and address.user.lower() not in usernames:
            raise SeedError(
                f"{origin}: address[{number}]: user: no [[user]] is named {address.user!r}"
            )
    for number, promise in enumerate(seed.promises, start=1):
        name = promise.destination.removeprefix("user:")
        if promise.destination.startswith("user:") and name.lower() not in usernames:
            raise SeedError(
                f"{origin}: promise[{number}]: destination: no [[user]] is named {name!r}"
            )
    references = [("provisional_source", source.client) for source in seed.sources]
    references += [("promise", promise.client) for promise in seed.promises]
    for kind, client in references:
        if client not in clients:
            raise SeedError(f"{origin}: {kind}: client: no [[client]] has {client!r}")


def _unique(origin: str, kind: str, values: list[str], key: str) -> None:
    seen: set[str] = set()
    for number, value in enumerate(values, start=1):
        if value in seen:
            raise SeedError(f"{origin}: {kind}[{number}]: {key}: {value!r} is already used")
        seen.add(value)
