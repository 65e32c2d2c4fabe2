"""Scenarios of the Tokenpass client against a real sandbox, written once for both clients.

Each scenario is an ``async`` function of a ``World``: a sandbox (the test seed) under
uvicorn on loopback, its settable clock, and ``world.client()``, which opens a sync or an
async ``TokenpassClient`` whose every method is awaited (a sync method's value is simply
returned), so one text runs against ``TokenpassClient`` and ``AsyncTokenpassClient``.
Clients record each attempt they send (its signing headers), so retries can be counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tca_gate import (
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ServiceUnavailableError,
    compile_rule,
)
from tca_gate.signing.bitcoin import address_from_private_key, sign_message
from tca_gate.signing.tokenly._scheme import NONCE_HEADER, SIGNATURE_HEADER
from tca_gate.tokenpass import (
    AssetInfo,
    AsyncTokenpassClient,
    Balance,
    Chat,
    ChatRule,
    CreditTransaction,
    LinkedUser,
    MessagingPermission,
    NewUser,
    OAuthUser,
    RetryPolicy,
    SourceAddress,
    TokenpassClient,
    TokenPerks,
    UserLookup,
    balances_by_asset,
)
from tests.support.clocks import ManualClock
from tests.support.sandboxes import TEST_SEED, Sandbox, running_sandbox
from tests.support.servers import serve

SAT = 10**8
#: The test seed with a privileged first app and indivisible TOKENLY (and testnet LTBCOIN).
OFFICIAL_SEED = TEST_SEED.with_name("official.toml")
DANA_PUBLIC = "1WBjybd6ef5WYV9eWrfU4rHoguJTsbGqt"
DANA_PRIVATE = "1DqupSozZdgmCGkD3vWwGEnr3txZDK45c2"
DANA_INACTIVE = "1GPsgJEs2a6AVF4DQdD4No4wtmYJ4A3C2q"
DANA_UNVERIFIED = "1KsgmWewaz6qT2ftw2ix55UU1SoxnNYLVY"
DANA_UUID = "11111111-2222-4333-8444-555555555501"
ERIN_ADDRESS = "1L9qoEk7XSwHpdFApse85szxtgTdrKGqs2"
TREASURY = "1MqU5zdT8kg6dpfjHMKyijtvCbxc8zbfeq"

#: Quick retries, so fault scenarios stay fast.
QUICK = RetryPolicy(retries=3, wait_initial=0.02, wait_max=0.1, wait_jitter=0.02)

#: TCA checks whose answers follow from the test seed: dana holds 1.5 TOKENLY and
#: 1,000 LTBCOIN on active, verified addresses (her inactive and unverified ones do not
#: count), erin 0.00000001 LTBCOIN, fay nothing.
TCA_CASES = (
    ("dana", "TOKENLY=1", True),
    ("dana", "TOKENLY=1.50000001", False),
    ("dana", "LTBCOIN=1000", True),
    ("dana", "LTBCOIN=1000.00000001", False),
    ("dana", "TOKENLY=2&LTBCOIN=1000&stackop_1=OR", True),
    ("erin", "LTBCOIN=0.00000001", True),
    ("erin", "TOKENLY=1", False),
    ("fay", "LTBCOIN=0.00000001", False),
)


def key_and_address(name: str) -> tuple[bytes, str]:
    """A fixed private key named ``name`` and its P2PKH address."""
    key = hashlib.sha256(f"tca-gate integration {name}".encode()).digest()
    return key, address_from_private_key(key)


@dataclass(frozen=True)
class Attempt:
    """One request a client sent: its path and the Tokenly signing headers it carried."""

    method: str
    path: str
    nonce: str | None
    signature: str | None
    headers: dict[str, str]


def _attempt(request: httpx2.Request) -> Attempt:
    headers = dict(request.headers)
    return Attempt(
        request.method,
        request.url.path,
        headers.get(NONCE_HEADER.lower()),
        headers.get(SIGNATURE_HEADER.lower()),
        headers,
    )


class _RecordingTransport(httpx2.HTTPTransport):
    def __init__(self, attempts: list[Attempt]) -> None:
        super().__init__()
        self.attempts = attempts

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self.attempts.append(_attempt(request))
        return super().handle_request(request)


class _AsyncRecordingTransport(httpx2.AsyncHTTPTransport):
    def __init__(self, attempts: list[Attempt]) -> None:
        super().__init__()
        self.attempts = attempts

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.attempts.append(_attempt(request))
        return await super().handle_async_request(request)


class Calls:
    """A sync or async client whose methods are all awaited, and the attempts it sent."""

    def __init__(
        self, client: TokenpassClient | AsyncTokenpassClient, attempts: list[Attempt]
    ) -> None:
        self.client = client
        self.attempts = attempts

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self.client, name)
        awaited = isinstance(self.client, AsyncTokenpassClient) and name != "authorization_url"

        async def call(*args: Any, **kwargs: Any) -> Any:
            value = method(*args, **kwargs)
            assert inspect.isawaitable(value) is awaited, f"{name} on {self.client!r}"
            return await value if awaited else value

        return call


@dataclass
class World:
    """What a scenario runs against: the sandbox, its clock, and which client flavor."""

    sandbox: Sandbox
    clock: ManualClock
    flavor: str
    tokens: dict[tuple[str, tuple[str, ...]], str] = field(default_factory=dict)

    @contextlib.asynccontextmanager
    async def client(
        self,
        *,
        base_url: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        **options: Any,
    ) -> AsyncIterator[Calls]:
        """A client of this world's flavor (the sandbox's first app unless told otherwise)."""
        args = (
            base_url or self.sandbox.url,
            client_id or self.sandbox.client_id,
            client_secret or self.sandbox.client_secret,
        )
        options.setdefault("retries", QUICK)
        attempts: list[Attempt] = []
        if self.flavor == "sync":
            client = TokenpassClient(*args, transport=_RecordingTransport(attempts), **options)
            try:
                yield Calls(client, attempts)
            finally:
                client.close()
        else:
            aclient = AsyncTokenpassClient(
                *args, transport=_AsyncRecordingTransport(attempts), **options
            )
            try:
                yield Calls(aclient, attempts)
            finally:
                await aclient.aclose()

    def token(self, username: str, *scopes: str) -> str:
        """An access token of ``username`` for ``scopes`` (``user`` and ``tca`` by default)."""
        wanted = scopes or ("user", "tca")
        if (username, wanted) not in self.tokens:
            self.tokens[username, wanted] = self.sandbox.access_token(username, wanted)
        return self.tokens[username, wanted]

    def faults_left(self) -> int:
        """Drop the faults no request used, and say how many there were."""
        answer = self.sandbox.admin("DELETE", "faults")
        assert answer.status_code == 200, answer.text
        left: int = answer.json()["cleared"]
        return left


Scenario = Callable[[World], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Play:
    """A scenario, the seed and the ``create_app`` options of the sandbox it runs against."""

    run: Scenario
    seed: Path
    options: dict[str, Any]

    @property
    def name(self) -> str:
        return self.run.__name__


METHODS: list[Play] = []
ERRORS: list[Play] = []
RETRIES: list[Play] = []


def scenario(
    group: list[Play], seed: Path = TEST_SEED, **options: Any
) -> Callable[[Scenario], Scenario]:
    """Add a scenario to ``group``, run on a sandbox of ``seed`` made with ``options``."""

    def register(run: Scenario) -> Scenario:
        group.append(Play(run, seed, options))
        return run

    return register


def params(group: Sequence[Play]) -> list[Any]:
    """``group`` as pytest parameters named after the scenarios."""
    return [pytest.param(each, id=each.name) for each in group]


def play(chosen: Play, flavor: str) -> None:
    """Run a scenario with the ``flavor`` client against a fresh sandbox on loopback."""
    clock = ManualClock(time.time())
    with running_sandbox(chosen.seed, clock=clock, **chosen.options) as sandbox:
        asyncio.run(chosen.run(World(sandbox, clock, flavor)))


# Every client method ---------------------------------------------------------------


@scenario(METHODS)
async def tca_checks_balances_messaging_and_perks(world: World) -> None:
    dana = world.token("dana", "tca", "private-balances")
    async with world.client() as tp:
        for username, rule, allowed in TCA_CASES:
            token = dana if username == "dana" else world.token(username)
            assert await tp.check_token_access(username, rule, token) is allowed, rule
        assert await tp.check_token_access("dana", compile_rule("TOKENLY >= 1.5"), dana)
        assert not await tp.check_token_access("dana", "TOKENLY >= 1.6", dana)
        assert await tp.check_token_access("dana", {"LTBCOIN": "1000"}, dana)
        assert await tp.check_address_token_access(DANA_PUBLIC, "TOKENLY=1.5")
        assert not await tp.check_address_token_access(DANA_PRIVATE, "TOKENLY=1")
        assert await tp.get_combined_public_balances(dana) == (
            Balance("LTBCOIN", "LTBCOIN", 100 * SAT),
            Balance("TOKENLY", "TOKENLY", 150_000_000),
        )
        protected = await tp.get_combined_protected_balances(dana)
        assert balances_by_asset(protected) == {"LTBCOIN": 1000 * SAT, "TOKENLY": 150_000_000}

        beyond_floats = 2**53 + 1
        world.sandbox.set_balance(DANA_PUBLIC, "TOKENLY", beyond_floats)
        public = balances_by_asset(await tp.get_combined_public_balances(dana))
        assert public["TOKENLY"] == beyond_floats
        protected = await tp.get_combined_protected_balances(dana)
        assert balances_by_asset(protected)["TOKENLY"] == beyond_floats
        assert compile_rule("TOKENLY >= 90071992.54740993").evaluate(public)
        assert not compile_rule("TOKENLY >= 90071992.54740994").evaluate(public)
        assert await tp.check_token_access("dana", "TOKENLY=90071992", dana)
        assert not await tp.check_token_access("dana", "TOKENLY=90071993", dana)

        assert await tp.get_messaging_permission("TOKENLY", dana) == MessagingPermission(
            "TOKENLY", can_message=True
        )
        erin = world.token("erin")
        assert await tp.get_messaging_permission("TOKENLY", erin) == MessagingPermission(
            "TOKENLY", can_message=False
        )
        assert await tp.get_token_perks("TOKENLY") == TokenPerks("TOKENLY", 3)
        assert await tp.get_token_perks("LTBCOIN") == TokenPerks("LTBCOIN", 0)


@scenario(METHODS)
async def public_and_personal_address_lists(world: World) -> None:
    async with world.client() as tp:
        (public,) = await tp.get_public_addresses("dana")
        assert (public.address, public.label, public.public) == (DANA_PUBLIC, "public", True)
        assert dict(public.balances) == {"TOKENLY": 150_000_000, "LTBCOIN": 100 * SAT}
        assert (public.active, public.verified, public.verify_code) == (None, None, None)
        assert await tp.get_public_address_details("dana", DANA_PUBLIC) == public
        with pytest.raises(NotFoundError):
            await tp.get_public_address_details("dana", DANA_PRIVATE)

        seen = await tp.get_addresses_for_authenticated_user(world.token("dana", "tca"))
        assert [address.address for address in seen] == [DANA_PUBLIC]
        everything = world.token("dana", "tca", "private-address", "manage-address")
        mine = {a.address: a for a in await tp.get_addresses_for_authenticated_user(everything)}
        assert set(mine) == {DANA_PUBLIC, DANA_PRIVATE, DANA_INACTIVE, DANA_UNVERIFIED}
        assert (mine[DANA_INACTIVE].active, mine[DANA_INACTIVE].verified) == (False, True)
        unverified = mine[DANA_UNVERIFIED]
        assert (unverified.verified, bool(unverified.verify_code)) == (False, True)
        private = await tp.get_address_details_for_authenticated_user(DANA_PRIVATE, everything)
        assert private == mine[DANA_PRIVATE]
        assert (private.public, private.label, dict(private.balances)) == (
            False,
            "private",
            {"LTBCOIN": 900 * SAT},
        )


@scenario(METHODS)
async def register_verify_update_and_delete_an_address(world: World) -> None:
    key, address = key_and_address("fresh address")
    manage = world.token("dana", "tca", "private-balances", "manage-address")
    async with world.client() as tp:
        registered = await tp.register_address(address, manage, label="hot", public=True)
        assert (registered.address, registered.label, registered.public) == (address, "hot", True)
        assert registered.verified is False
        assert registered.verify_code
        world.sandbox.set_balance(address, "TOKENLY", 7 * SAT)
        before = balances_by_asset(await tp.get_combined_protected_balances(manage))
        assert before["TOKENLY"] == 150_000_000  # unverified: not counted yet

        with pytest.raises(InvalidRequestError):
            await tp.verify_address(address, manage, sign_message(key, "something else"))
        signature = sign_message(key, registered.verify_code)
        assert await tp.verify_address(address, manage, signature) is None
        verified = await tp.get_address_details_for_authenticated_user(address, manage)
        assert (verified.verified, verified.active, verified.verify_code) == (True, True, None)
        after = balances_by_asset(await tp.get_combined_protected_balances(manage))
        assert after["TOKENLY"] == 150_000_000 + 7 * SAT
        listed = {a.address for a in await tp.get_public_addresses("dana")}
        assert listed == {DANA_PUBLIC, address}

        updated = await tp.update_address_details(address, manage, label="cold", public=False)
        assert (updated.label, updated.public, updated.active) == ("cold", False, True)
        assert {a.address for a in await tp.get_public_addresses("dana")} == {DANA_PUBLIC}
        cleared = await tp.update_address_details(address, manage, label=None)
        assert not cleared.label  # the sandbox keeps a cleared label as ""
        assert cleared.public is False
        inactive = await tp.update_address_details(address, manage, active=False)
        assert inactive.active is False
        gone = balances_by_asset(await tp.get_combined_protected_balances(manage))
        assert gone["TOKENLY"] == 150_000_000  # inactive: not counted

        assert await tp.delete_address(address, manage) is None
        with pytest.raises(NotFoundError):
            await tp.get_address_details_for_authenticated_user(address, manage)
        remaining = {a.address for a in await tp.get_addresses_for_authenticated_user(manage)}
        assert address not in remaining


@scenario(METHODS)
async def instant_register_and_verify(world: World) -> None:
    key, address = key_and_address("instant")
    code = world.sandbox.instant_verify_code("fay")
    async with world.client() as tp:
        result = await tp.instant_verify_address("fay", code, address, sign_message(key, code))
        assert result is None
        fay = world.token("fay", "tca", "private-address", "manage-address")
        (added,) = await tp.get_addresses_for_authenticated_user(fay)
        assert (added.address, added.verified, added.active) == (address, True, True)
        assert not await tp.check_token_access("fay", "TOKENLY=2", fay)
        world.sandbox.set_balance(address, "TOKENLY", 2 * SAT)
        assert await tp.check_token_access("fay", "TOKENLY=2", fay)


@scenario(METHODS)
async def lookups(world: World) -> None:
    async with world.client() as tp:
        dana = UserLookup("dana", DANA_PUBLIC, "dana@example.com")
        assert await tp.lookup_user_by_address(DANA_PUBLIC) == dana
        with pytest.raises(NotFoundError):
            await tp.lookup_user_by_address(DANA_PRIVATE)
        found = await tp.lookup_users_by_addresses([DANA_PUBLIC, DANA_PRIVATE, ERIN_ADDRESS])
        assert found == {
            DANA_PUBLIC: dana,
            ERIN_ADDRESS: UserLookup("erin", ERIN_ADDRESS, "erin@example.com"),
        }
        assert await tp.lookup_address_by_user("dana") == dana
        assert await tp.lookup_user_by_email("dana@example.com") == dana
        no_public_address = UserLookup("fay", None, "fay@example.com")
        assert await tp.lookup_user_by_email("fay@example.com") == no_public_address
        with pytest.raises(NotFoundError):
            await tp.lookup_user_by_email("nobody@example.com")


@scenario(METHODS)
async def provisional_sources(world: World) -> None:
    key, address = key_and_address("promise source")
    async with world.client() as tp:
        sources = await tp.get_provisional_source_list()
        suffix = "_" + hashlib.sha256(world.sandbox.client_id.encode()).hexdigest()
        assert sources.proof_suffix == suffix
        treasury = SourceAddress(TREASURY, None, "bitcoin", "counterparty")
        assert sources.whitelist == (treasury,)

        proof = sign_message(key, f"{address}{suffix}")
        assert await tp.register_provisional_source(address, proof, ["TOKENLY"]) is None
        listed = (await tp.get_provisional_source_list()).whitelist
        source = SourceAddress(address, ("TOKENLY",), "bitcoin", "counterparty")
        assert set(listed) == {treasury, source}
        tested = await tp.register_provisional_source(
            address, proof, ["TOKENLY"], chain="bitcoinTestnet", protocol="counterparty"
        )
        assert tested is None
        listed = (await tp.get_provisional_source_list()).whitelist
        assert set(listed) == {
            treasury,
            SourceAddress(address, ("TOKENLY",), "bitcoinTestnet", "counterparty"),
        }
        await tp.register_provisional_source(address, proof, ["TOKENLY"])
        world.sandbox.set_balance(address, "TOKENLY", 3 * SAT)
        world.sandbox.set_balance(address, "LTBCOIN", 3 * SAT)
        promise = await tp.promise_transaction(address, "user:fay", "TOKENLY", 3 * SAT)
        assert (promise.source, promise.quantity) == (address, 3 * SAT)
        with pytest.raises(InvalidRequestError) as refused:
            await tp.promise_transaction(address, "user:fay", "LTBCOIN", SAT)
        assert refused.value.status == 422

        assert await tp.delete_provisional_source(address) is None
        assert (await tp.get_provisional_source_list()).whitelist == (treasury,)
        _, stranger = key_and_address("not the signer")
        with pytest.raises(InvalidRequestError):
            await tp.register_provisional_source(stranger, proof, None)


@scenario(METHODS)
async def promises_move_balances_and_tca_answers(world: World) -> None:
    fay = world.token("fay", "tca", "private-balances")
    async with world.client() as tp:
        assert not await tp.check_token_access("fay", "TOKENLY=1", fay)
        assert await tp.check_address_token_access(TREASURY, "TOKENLY=10")
        promise = await tp.promise_transaction(
            TREASURY, "user:fay", "TOKENLY", SAT, ref="order-1", note="welcome"
        )
        assert (promise.destination, promise.asset, promise.quantity) == (
            "user:fay",
            "TOKENLY",
            SAT,
        )
        assert (promise.ref, promise.note, promise.expiration) == ("order-1", "welcome", None)
        assert (promise.chain, promise.protocol) == ("bitcoin", "counterparty")
        assert await tp.check_token_access("fay", "TOKENLY=1", fay)
        fay_balances = await tp.get_combined_protected_balances(fay)
        assert fay_balances == (Balance("TOKENLY", "TOKENLY", SAT),)
        assert not await tp.check_address_token_access(TREASURY, "TOKENLY=10")
        assert await tp.check_address_token_access(TREASURY, "TOKENLY=9")

        to_erin = await tp.promise_transaction(
            TREASURY, ERIN_ADDRESS, "LTBCOIN", 5 * SAT, fingerprint="erin-order-7"
        )
        assert await tp.get_promised_transaction("erin-order-7") == to_erin
        listed = await tp.get_promised_transaction_list()
        assert {p.promise_id for p in listed} == {promise.promise_id, to_erin.promise_id}
        assert await tp.get_promised_transaction_list("user:fay") == (promise,)
        assert await tp.get_promised_transaction(promise.promise_id) == promise

        changed = await tp.update_promised_transaction(
            promise.promise_id, quantity=2 * SAT, ref=None, txid="ab" * 32
        )
        assert (changed.quantity, changed.ref, changed.txid, changed.note) == (
            2 * SAT,
            None,
            "ab" * 32,
            "welcome",
        )
        assert await tp.get_promised_transaction("ab" * 32) == changed
        assert await tp.check_token_access("fay", "TOKENLY=2", fay)
        assert not await tp.check_address_token_access(TREASURY, "TOKENLY=9")

        assert await tp.delete_promised_transaction(promise.promise_id) is None
        with pytest.raises(NotFoundError):
            await tp.get_promised_transaction(promise.promise_id)
        assert not await tp.check_token_access("fay", "TOKENLY=1", fay)
        assert await tp.check_address_token_access(TREASURY, "TOKENLY=10")

        expiring = await tp.promise_transaction(
            TREASURY, "user:fay", "TOKENLY", SAT, expiration=int(world.clock.now) + 60
        )
        assert expiring.expiration == int(world.clock.now) + 60
        assert await tp.check_token_access("fay", "TOKENLY=1", fay)
        world.clock.now += 120
        assert not await tp.check_token_access("fay", "TOKENLY=1", fay)
        assert await tp.get_promised_transaction_list("user:fay") == ()
        assert await tp.check_address_token_access(TREASURY, "TOKENLY=10")


@scenario(METHODS)
async def credit_groups_accounts_and_the_ledger(world: World) -> None:
    async with world.client() as tp:
        group = await tp.new_app_credit_group("Arcade", [world.sandbox.client_id])
        assert (group.name, group.active, group.app_whitelist) == (
            "Arcade",
            True,
            (world.sandbox.client_id,),
        )
        renamed = await tp.update_app_credit_group(group.uuid, name="Arcade tokens")
        assert (renamed.uuid, renamed.name) == (group.uuid, "Arcade tokens")
        assert await tp.list_app_credit_groups() == (renamed,)
        assert await tp.get_app_credit_group(group.uuid) == renamed
        shared = await tp.update_app_credit_group(
            group.uuid, app_whitelist=[world.sandbox.client_id, "other-app"]
        )
        assert shared.app_whitelist == (world.sandbox.client_id, "other-app")
    async with world.client(client_id="other-app", client_secret="other-app-secret") as other:
        assert await other.get_app_credit_group(group.uuid) == shared
    async with world.client() as tp:
        player = await tp.new_app_credit_account(group.uuid, "player-1")
        assert (player.name, player.balance, player.tokenpass_user) == ("player-1", 0, None)
        linked = await tp.new_app_credit_account(group.uuid, DANA_UUID)
        assert linked.tokenpass_user is not None
        assert (linked.tokenpass_user.uuid, linked.tokenpass_user.username) == (DANA_UUID, "dana")
        assert isinstance(linked.tokenpass_user, LinkedUser)
        names = {account.name for account in await tp.list_app_credit_accounts(group.uuid)}
        assert names == {"_", "player-1", DANA_UUID}

        (given,) = await tp.give_app_credit(group.uuid, "player-1", 500, ref="prize")
        assert (given.credit.amount, given.debit.amount) == (500, -500)
        assert (given.credit.account, given.debit.account, given.credit.ref) == (
            "player-1",
            "_",
            "prize",
        )
        (taken,) = await tp.take_app_credit(group.uuid, player.uuid, 200)
        assert (taken.debit.amount, taken.credit.amount, taken.credit.account) == (-200, 200, "_")
        both = await tp.give_multiple_app_credit(
            group.uuid,
            [{"account": "player-1", "amount": 50}, {"account": DANA_UUID, "amount": 70}],
        )
        assert [t.credit.amount for t in both] == [50, 70]
        assert both[1].credit.tokenpass_user == "dana"
        with pytest.raises(InvalidRequestError) as overdrawn:
            await tp.take_multiple_app_credit(
                group.uuid,
                [{"account": DANA_UUID, "amount": 70}, {"account": "player-1", "amount": 351}],
            )
        assert overdrawn.value.status == 422
        await tp.take_multiple_app_credit(
            group.uuid,
            [{"account": DANA_UUID, "amount": 20}, {"account": "player-1", "amount": 50}],
        )
        assert (await tp.get_app_credit_account(group.uuid, "player-1")).balance == 300
        assert (await tp.get_app_credit_account(group.uuid, DANA_UUID)).balance == 50
        counter = await tp.get_app_credit_account(group.uuid, "_")
        assert counter.balance == -350

        history = await tp.get_app_credit_group_history(group.uuid)
        assert history.credit_group.uuid == group.uuid
        assert history.count == len(history.transactions) == 12  # 6 moves, 2 entries each
        assert sum(entry.amount for entry in history.transactions) == 0
        assert all(isinstance(entry, CreditTransaction) for entry in history.transactions)
        mine = await tp.get_app_credit_account_history(group.uuid, player.uuid)
        assert mine.account.uuid == player.uuid
        assert [entry.amount for entry in mine.transactions] == [500, -200, 50, -50]
        assert sum(entry.amount for entry in mine.transactions) == mine.account.balance == 300


@scenario(METHODS)
async def account_registration_and_oauth(world: World) -> None:
    sandbox = world.sandbox
    async with world.client() as tp:
        new = await tp.register_account("gus", "gus-password-1", "gus@example.com")
        assert isinstance(new, NewUser)
        assert (new.username, new.email, len(new.id)) == ("gus", "gus@example.com", 36)
        with pytest.raises(ConflictError):
            await tp.register_account("gus", "gus-password-2", "gus2@example.com")

        url = await tp.authorization_url(sandbox.redirect_uri, ["user", "tca"], state="xyz")
        page = httpx2.get(url)
        assert page.status_code == 200
        assert f'name="client_id" value="{sandbox.client_id}"' in page.text

        code = sandbox.authorization_code("dana", ["user", "tca"])
        token = await tp.get_oauth_access_token(code, sandbox.redirect_uri)
        assert (token.token_type, token.scopes) == ("Bearer", ("user", "tca"))
        assert token.expires_in is not None
        assert token.expires_in > 0
        assert await tp.get_oauth_user(token.access_token) == OAuthUser(
            DANA_UUID, "dana", "dana@example.com", "Dana", email_is_confirmed=True
        )
        assert await tp.check_token_access("dana", "TOKENLY=1", token.access_token)
        with pytest.raises(InvalidRequestError) as spent:
            await tp.get_oauth_access_token(code, sandbox.redirect_uri)
        assert spent.value.code == "invalid_grant"
        erin = await tp.get_oauth_user(world.token("erin", "user"))
        assert (erin.username, erin.name, erin.email_is_confirmed) == ("erin", "erin", False)


@scenario(METHODS, seed=OFFICIAL_SEED)
async def checks_lookups_and_promises_by_email(world: World) -> None:
    async with world.client() as privileged:
        assert await privileged.check_token_access_by_email("dana@example.com", "TOKENLY=1.5")
        assert not await privileged.check_token_access_by_email("dana@example.com", "TOKENLY=2")
        assert not await privileged.check_token_access_by_email("fay@example.com", "TOKENLY=1")
        promise = await privileged.promise_transaction(TREASURY, "user:fay", "TOKENLY", SAT)
        assert await privileged.check_token_access_by_email("fay@example.com", "TOKENLY=1")
        assert await privileged.check_token_access_by_email("nobody@example.com", "A=1") is False
        by_email = await privileged.get_promised_transaction_list_by_email_address(
            "fay@example.com"
        )
        assert by_email == (promise,)
        assert (
            await privileged.get_promised_transaction_list_by_email_address("erin@example.com")
            == ()
        )
    async with world.client(client_id="other-app", client_secret="other-app-secret") as other:
        with pytest.raises(PermissionDeniedError):
            await other.check_token_access_by_email("dana@example.com", "TOKENLY=1")


@scenario(METHODS, seed=OFFICIAL_SEED)
async def asset_information(world: World) -> None:
    async with world.client() as tp:
        assert await tp.get_asset_info("bitcoin", "TOKENLY") == AssetInfo(
            "bitcoin", "TOKENLY", divisible=False, divisibility=0
        )
        assert await tp.get_asset_info("bitcoin", "LTBCOIN") == AssetInfo(
            "bitcoin", "LTBCOIN", divisible=True, divisibility=8
        )
        testnet = await tp.get_asset_info("bitcoinTestnet", "LTBCOIN")
        assert (testnet.chain, testnet.divisible) == ("bitcoinTestnet", False)


@scenario(METHODS)
async def token_chats(world: World) -> None:
    dana = world.token("dana", "tca", "manage-chats")
    erin = world.token("erin", "manage-chats")
    fay = world.token("fay", "manage-chats")
    vip = [ChatRule("TOKENLY", SAT)]
    async with world.client() as tp:
        chat = await tp.create_chat(dana, "VIP", vip)
        assert isinstance(chat, Chat)
        assert (chat.name, chat.active, chat.global_, chat.tca_rules) == (
            "VIP",
            True,
            False,
            (vip[0],),
        )
        assert await tp.get_chats(dana) == (chat,)
        assert await tp.get_chat(dana, chat.id) == chat
        either = [ChatRule("TOKENLY", 2 * SAT), ChatRule("LTBCOIN", 1)]
        edited = await tp.edit_chat(dana, chat.id, name="VIP lounge", tca_rules=either)
        assert (edited.id, edited.name, edited.tca_rules) == (chat.id, "VIP lounge", tuple(either))
        assert await tp.get_chats(erin) == (edited,)  # erin holds LTBCOIN: she meets it
        assert await tp.get_chats(fay) == ()
        with pytest.raises(PermissionDeniedError):
            await tp.join_chat(fay, chat.id)
        with pytest.raises(PermissionDeniedError):
            await tp.get_chat(erin, chat.id)  # not hers
        assert await tp.join_chat(erin, chat.id) is None
        (seen,) = await tp.get_chats(erin)
        assert seen.joined is True
        closed = await tp.edit_chat(dana, chat.id, active=False, global_=True)
        assert (closed.active, closed.global_) == (False, True)
        assert await tp.get_chats(erin) == ()
        assert await tp.delete_chat(dana, chat.id) is None
        with pytest.raises(NotFoundError):
            await tp.get_chat(dana, chat.id)
        with pytest.raises(PermissionDeniedError):
            await tp.get_chats(world.token("dana", "tca"))  # no manage-chats scope


@scenario(METHODS)
async def logout_ends_the_token(world: World) -> None:
    for bearer in (True, False):
        token = world.sandbox.access_token("erin", ["user", "tca"])
        async with world.client(bearer=bearer) as tp:
            assert (await tp.get_oauth_user(token)).username == "erin"
            assert await tp.logout(token) is None
            with pytest.raises(AuthenticationError):
                await tp.get_oauth_user(token)
            with pytest.raises(AuthenticationError):
                await tp.check_token_access("erin", "LTBCOIN=0.00000001", token)


@scenario(METHODS)
async def user_calls_with_the_token_as_a_parameter(world: World) -> None:
    key, address = key_and_address("parameter")
    manage = world.token("dana", "tca", "private-balances", "manage-address", "manage-chats")
    async with world.client(bearer=False) as tp:
        assert await tp.check_token_access("dana", "TOKENLY=1.5", manage)
        protected = balances_by_asset(await tp.get_combined_protected_balances(manage))
        assert protected["TOKENLY"] == 150_000_000
        registered = await tp.register_address(address, manage, label="p")
        assert registered.verify_code
        signature = sign_message(key, registered.verify_code)
        assert await tp.verify_address(address, manage, signature) is None
        assert (await tp.update_address_details(address, manage, public=True)).public is True
        assert await tp.delete_address(address, manage) is None
        chat = await tp.create_chat(manage, "Holders", [ChatRule("TOKENLY", 1)])
        assert await tp.join_chat(manage, chat.id) is None
        assert await tp.delete_chat(manage, chat.id) is None
    assert all("authorization" not in attempt.headers for attempt in tp.attempts)
    assert len(tp.attempts) == 9  # one each: none was refused for a missing token


# Every error class, from real answers ------------------------------------------------


@scenario(ERRORS)
async def refusals_map_to_their_classes(world: World) -> None:
    dana = world.token("dana", "tca", "manage-address")
    async with world.client(client_secret="not-the-secret") as forger:
        with pytest.raises(AuthenticationError) as forged:
            await forger.get_public_addresses("dana")
        assert forged.value.status == 401
    async with world.client() as tp:
        with pytest.raises(AuthenticationError) as bad_token:
            await tp.check_token_access("dana", "TOKENLY=1", "no-such-token")
        assert bad_token.value.field == "oauth_token"
        with pytest.raises(AuthenticationError):
            await tp.get_oauth_user("no-such-token")

        with pytest.raises(PermissionDeniedError) as scope:
            await tp.check_token_access("dana", "TOKENLY=1", world.token("dana", "user"))
        assert scope.value.status == 403
        with pytest.raises(PermissionDeniedError):
            await tp.get_combined_protected_balances(dana)
        group = await tp.new_app_credit_group("Mine", [world.sandbox.client_id])
    async with world.client(client_id="other-app", client_secret="other-app-secret") as other:
        with pytest.raises(PermissionDeniedError):
            await other.get_app_credit_group(group.uuid)
        with pytest.raises(PermissionDeniedError):
            await other.check_token_access("dana", "TOKENLY=1", dana)

    async with world.client() as tp:
        with pytest.raises(NotFoundError) as unknown:
            await tp.check_token_access("nobody", "TOKENLY=1", dana)
        assert unknown.value.status == 404
        with pytest.raises(NotFoundError):
            await tp.get_promised_transaction(987654)
        with pytest.raises(NotFoundError):
            await tp.get_app_credit_account(group.uuid, "no-such-account")

        with pytest.raises(ConflictError) as twice:
            await tp.register_address(DANA_PUBLIC, dana)
        assert twice.value.status == 409

        with pytest.raises(InvalidRequestError) as bad_address:
            await tp.check_address_token_access("not-an-address", "TOKENLY=1")
        assert bad_address.value.status == 400
        with pytest.raises(InvalidRequestError) as bad_quantity:
            await tp.promise_transaction(TREASURY, "user:fay", "LTBCOIN", 2**63)
        assert (bad_quantity.value.status, bad_quantity.value.field) == (422, "quantity")
        with pytest.raises(InvalidRequestError) as over:
            await tp.promise_transaction(TREASURY, "user:fay", "LTBCOIN", 5000 * SAT + 1)
        assert over.value.status == 422
        assert await tp.get_promised_transaction_list() == ()


@scenario(ERRORS)
async def rate_limits_beyond_the_cap_are_raised_at_once(world: World) -> None:
    world.sandbox.inject_faults(429, count=2, retry_after=120)
    async with world.client(retries=RetryPolicy(retries=3, max_retry_after=30)) as tp:
        started = time.monotonic()
        with pytest.raises(RateLimitError) as limited:
            await tp.get_public_addresses("dana")
        assert time.monotonic() - started < 2
        assert (limited.value.status, limited.value.retry_after) == (429, 120)
        assert len(tp.attempts) == 1
    assert world.faults_left() == 1


@scenario(ERRORS)
async def server_errors_beyond_the_retry_budget(world: World) -> None:
    world.sandbox.inject_faults(503, count=3)
    async with world.client(retries=RetryPolicy(retries=2, wait_initial=0.01, wait_jitter=0)) as tp:
        with pytest.raises(ServerError) as failed:
            await tp.get_token_perks("TOKENLY")
        assert failed.value.status == 503
        assert len(tp.attempts) == 3
        world.sandbox.inject_faults(500, count=1)
        with pytest.raises(ServerError) as crashed:
            await tp.lookup_users_by_addresses([DANA_PUBLIC])
        assert crashed.value.status == 500
    assert world.faults_left() == 0


@scenario(ERRORS)
async def unreachable_and_silent_services(world: World) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
    async with world.client(base_url=f"http://127.0.0.1:{port}", retries=1) as closed:
        with pytest.raises(ServiceUnavailableError) as refused:
            await closed.get_token_perks("TOKENLY")
        assert refused.value.status is None
        assert len(closed.attempts) == 2
    world.sandbox.inject_faults(200, count=1, delay=0.8)
    async with world.client(timeout=0.15, retries=0) as impatient:
        started = time.monotonic()
        with pytest.raises(ServiceUnavailableError) as slow:
            await impatient.get_public_addresses("dana")
        assert time.monotonic() - started < 0.7
        assert "no answer in time" in str(slow.value)


async def _garbage(request: Request) -> Response:
    if request.url.path.startswith("/api/v1/perks/"):
        return PlainTextResponse("<html>Tokenpass is having a bad day</html>")
    return JSONResponse({"result": "perhaps"})


@scenario(ERRORS)
async def malformed_answers(world: World) -> None:
    # The sandbox's faults answer errors or delays, never a garbled success; a stand-in
    # server on loopback sends those.
    garbage = Starlette(routes=[Route("/{path:path}", _garbage)])
    with serve(garbage) as url:
        async with world.client(base_url=url) as tp:
            with pytest.raises(MalformedResponseError) as not_json:
                await tp.get_token_perks("TOKENLY")
            assert "not JSON" in str(not_json.value)
            with pytest.raises(MalformedResponseError):
                await tp.check_address_token_access(DANA_PUBLIC, "TOKENLY=1")


# Retries against a failing sandbox ---------------------------------------------------


@scenario(RETRIES, replay_protection=True)
async def a_get_meets_two_503s_then_succeeds(world: World) -> None:
    world.sandbox.inject_faults(503, count=2, path_prefix="/api/v1/tca/addresses/")
    world.sandbox.inject_faults(200, count=5, path_prefix="/api/v1/tca/addresses/")
    async with world.client() as tp:
        (address,) = await tp.get_public_addresses("dana")
        assert address.address == DANA_PUBLIC
    assert world.faults_left() == 4  # three attempts reached the sandbox
    assert [attempt.path for attempt in tp.attempts] == ["/api/v1/tca/addresses/dana"] * 3
    assert len({attempt.signature for attempt in tp.attempts}) == 3
    nonces = [int(attempt.nonce or "") for attempt in tp.attempts]
    assert nonces == sorted(set(nonces))


@scenario(RETRIES, replay_protection=True)
async def a_retry_after_a_lost_answer_is_signed_afresh(world: World) -> None:
    # The first attempt reaches the sandbox (which records its signature) after the client
    # gave up on it; the retry comes later and must carry a new signature to be let in.
    world.sandbox.inject_faults(200, count=1, delay=0.4)
    policy = RetryPolicy(retries=1, wait_initial=0.6, wait_jitter=0)
    async with world.client(timeout=0.2, retries=policy) as tp:
        (address,) = await tp.get_public_addresses("dana")
        assert address.address == DANA_PUBLIC
    first, second = tp.attempts
    assert first.signature != second.signature
    replayed = httpx2.get(
        f"{world.sandbox.url}{first.path}",
        headers={k: v for k, v in first.headers.items() if k.startswith("x-tokenly-auth")},
    )
    assert replayed.status_code == 401
    assert "already used" in replayed.json()["error"]


@scenario(RETRIES)
async def a_delete_whose_answer_was_lost_still_succeeds(world: World) -> None:
    async with world.client() as tp:
        promise = await tp.promise_transaction(TREASURY, "user:fay", "TOKENLY", SAT)
        world.sandbox.inject_faults(200, count=1, delay=0.4)
        policy = RetryPolicy(retries=1, wait_initial=0.6, wait_jitter=0)
        async with world.client(timeout=0.2, retries=policy) as impatient:
            assert await impatient.delete_promised_transaction(promise.promise_id) is None
            assert len(impatient.attempts) == 2
        assert await tp.get_promised_transaction_list() == ()


@scenario(RETRIES)
async def a_small_retry_after_is_honoured(world: World) -> None:
    world.sandbox.inject_faults(429, count=1, retry_after=1)
    async with world.client() as tp:
        started = time.monotonic()
        assert await tp.get_token_perks("TOKENLY") == TokenPerks("TOKENLY", 3)
        assert time.monotonic() - started >= 1.0
        assert len(tp.attempts) == 2
    assert world.faults_left() == 0


@scenario(RETRIES)
async def a_post_that_meets_a_503_is_not_retried(world: World) -> None:
    world.sandbox.inject_faults(503, count=2, path_prefix="/api/v1/credits")
    async with world.client() as tp:
        with pytest.raises(ServerError):
            await tp.new_app_credit_group("Once", [world.sandbox.client_id])
        assert len(tp.attempts) == 1
        assert world.faults_left() == 1
        assert await tp.list_app_credit_groups() == ()
        _, address = key_and_address("post not retried")
        world.sandbox.inject_faults(503, count=2, path_prefix="/api/v1/tca/address")
        manage = world.token("dana", "tca", "manage-address")
        with pytest.raises(ServerError):
            await tp.register_address(address, manage)
        assert world.faults_left() == 1
        mine = {a.address for a in await tp.get_addresses_for_authenticated_user(manage)}
        assert address not in mine
        assert len(tp.attempts) == 4
