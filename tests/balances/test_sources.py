"""Holders and the balance sources: ``StaticBalances`` from data and files, and
``TokenpassBalances`` against the sandbox over loopback, faults included."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tca_gate import InvalidArgumentError
from tca_gate.balances import (
    BalanceFileError,
    BalanceUnavailableError,
    CachedBalances,
    Holder,
    HolderKind,
    Scope,
    StaticBalances,
    TokenpassBalances,
    UnknownHolderError,
)
from tca_gate.tokenpass import AsyncTokenpassClient
from tests.support.caches import run
from tests.support.sandboxes import Sandbox, running_sandbox

SAT = 100_000_000
ALICE_MAIN = "12Fengv9kjnt69gb27oXESKnURwBfs9P34"
BOB_WALLET = "14zYNGnoh8C9MJpqAS2QEjgUYUG2TA91y3"
CAROL_PRIVATE = "1Nxsa2QBncYNwX4ckWDMvcCP2qcwsp49Zi"
ALICE_PUBLIC = {"TOKENLY": 2 * SAT, "LTBCOIN": 1_250_050_000_000}
ALICE_PROTECTED = {"TOKENLY": 2 * SAT, "LTBCOIN": 1_550_050_000_000}

STATIC = {
    "users": {
        "alice": {"public": {"TOKENLY": 2 * SAT}, "protected": {"TOKENLY": 2 * SAT, "A": 5}},
        "bob": {"public": {}},
    },
    "tokens": {"alice-token": "alice"},
    "addresses": {"1A": {"TOKENLY": 1, "B": 2}, "1B": {"TOKENLY": 3, "B": -2}},
}


@settings(max_examples=30)
@given(token=st.text(min_size=1).filter(str.strip), scope=st.sampled_from(["public", "protected"]))
def test_a_holders_repr_shows_a_fingerprint_not_its_token(token: str, scope: Scope) -> None:
    fingerprint = hashlib.sha256(token.encode()).hexdigest()[:12]
    expected = f"Holder.token(<sha256 {fingerprint}>, scope={scope!r})"
    assert repr(Holder.token(token, scope)) == expected
    assert str(Holder.token(token, scope)) == expected


def test_a_real_token_is_in_no_repr_or_message() -> None:
    token = "kR8fT2qLx9VmZp4cW7nB3yHs6dJ1aE0u"
    holder = Holder.token(token, "protected")
    with pytest.raises(UnknownHolderError) as caught:
        run(lambda: StaticBalances({}).balances(holder))
    assert token not in repr(holder) + str(caught.value) + repr([holder])


def test_holders_differ_by_kind_value_and_scope() -> None:
    holders = {
        Holder.user("alice"),
        Holder.user("alice", "protected"),
        Holder.token("alice"),
        Holder.user("bob"),
        Holder.addresses(["alice"]),
    }
    assert len(holders) == 5
    assert Holder.addresses(["1B", "1A", "1A"]) == Holder.addresses(("1A", "1B"))
    assert Holder.token("t").in_scope("protected") == Holder.token("t", "protected")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Holder.user(""), "username must be a non-empty string"),
        (lambda: Holder.token(" "), "oauth_token must be a non-empty string"),
        (lambda: Holder.user("a", "private"), "scope must be 'public' or 'protected'"),  # type: ignore[arg-type]
        (lambda: Holder.addresses([]), "non-empty list"),
        (lambda: Holder.addresses("1A"), "not one string"),
        (lambda: Holder.addresses(["1A", ""]), "every address"),
        (lambda: Holder("username", "a"), "HolderKind"),  # type: ignore[arg-type]
    ],
)
def test_bad_holders_are_refused(make: Callable[[], Holder], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        make()


def test_static_balances_answer_each_kind_of_holder() -> None:
    source = StaticBalances(STATIC)

    async def scenario() -> list[dict[str, int]]:
        holders = [
            Holder.user("alice"),
            Holder.user("alice", "protected"),
            Holder.token("alice-token", "protected"),
            Holder.user("bob", "protected"),
            Holder.addresses(["1B", "1A"]),
        ]
        return [dict(await source.balances(holder)) for holder in holders]

    assert run(scenario) == [
        {"TOKENLY": 2 * SAT},
        {"TOKENLY": 2 * SAT, "A": 5},
        {"TOKENLY": 2 * SAT, "A": 5},
        {},
        {"TOKENLY": 4},
    ]


@pytest.mark.parametrize(
    ("holder", "message"),
    [
        (Holder.user("carol"), "user carol"),
        (Holder.token("other-token"), "Holder.token"),
        (Holder.addresses(["1A", "1C"]), "address 1C"),
    ],
)
def test_static_balances_refuse_unknown_holders(holder: Holder, message: str) -> None:
    with pytest.raises(UnknownHolderError, match=message) as caught:
        run(lambda: StaticBalances(STATIC).balances(holder))
    assert "other-token" not in str(caught.value)


def test_static_balances_are_copied_and_read_only() -> None:
    data = json.loads(json.dumps(STATIC))
    source = StaticBalances(data)
    data["users"]["alice"]["public"]["TOKENLY"] = 0
    answer = run(lambda: source.balances(Holder.user("alice")))
    assert answer == {"TOKENLY": 2 * SAT}
    with pytest.raises(TypeError):
        answer["TOKENLY"] = 1  # type: ignore[index]


def test_static_balances_read_a_json_file(tmp_path: Path) -> None:
    path = tmp_path / "balances.json"
    path.write_text(json.dumps(STATIC), encoding="utf-8")
    source = StaticBalances(path)
    assert run(lambda: source.balances(Holder.token("alice-token"))) == {"TOKENLY": 2 * SAT}
    assert repr(source) == f"StaticBalances({str(path)!r})"


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ('{"users": {"alice": {"public": {"A": 1.5}}}}', "users.alice.public.A", "found float"),
        ('{"users": {"alice": {"public": {"A": "1"}}}}', "users.alice.public.A", "found str"),
        ('{"users": {"alice": {"public": {"A": true}}}}', "users.alice.public.A", "found bool"),
        ('{"users": {"alice": {"private": {}}}}', "users.alice.private", "unknown scope"),
        ('{"user": {}}', "user", "unknown section"),
        ('{"tokens": {"t": "nobody"}}', "tokens[0]", "'nobody', not a user"),
        ('{"addresses": {"1A": [1]}}', "addresses.1A", "expected an object, found list"),
        ('{"addresses": {"1A": {"A": NaN}}}', "", "NaN is not an amount"),
        ('{"users": {}, "users": {}}', "", "'users' appears twice"),
        ('{"users": {"alice": }}', "line 1 column 21", "not JSON"),
        ("[]", "", "expected an object, found list"),
    ],
)
def test_static_balance_files_name_the_file_the_entry_and_the_problem(
    tmp_path: Path, text: str, where: str, problem: str
) -> None:
    path = tmp_path / "balances.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BalanceFileError) as caught:
        StaticBalances(str(path))
    assert str(caught.value).startswith(str(path))
    assert (caught.value.where, caught.value.origin) == (where, str(path))
    assert problem in caught.value.problem
    assert isinstance(caught.value, ValueError)


def test_static_balance_files_that_cannot_be_read(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(BalanceFileError, match=f"{missing}: no such file"):
        StaticBalances(missing)
    binary = tmp_path / "binary.json"
    binary.write_bytes(b'{"users": "\xff"}')
    with pytest.raises(BalanceFileError, match="not UTF-8"):
        StaticBalances(binary)
    with pytest.raises(BalanceFileError, match="cannot be read"):
        StaticBalances(tmp_path)


def test_a_mapping_with_bad_entries_is_refused_by_where() -> None:
    with pytest.raises(BalanceFileError, match=r"static balances at addresses\.1A\.B: .*int"):
        StaticBalances({"addresses": {"1A": {"B": 2.0}}})


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox() as server:
        yield server


def ask(
    sandbox: Sandbox, holders: list[Holder], *, retries: int = 0
) -> list[Mapping[str, int] | BaseException]:
    """Each holder's balances (or the error) from ``TokenpassBalances`` on the sandbox."""

    async def scenario() -> list[Mapping[str, int] | BaseException]:
        client = AsyncTokenpassClient(
            sandbox.url, sandbox.client_id, sandbox.client_secret, retries=retries
        )
        async with client:
            source = TokenpassBalances(client)
            return await asyncio.gather(
                *(source.balances(holder) for holder in holders), return_exceptions=True
            )

    return run(scenario)


def test_tokenpass_balances_for_every_kind_of_holder(sandbox: Sandbox) -> None:
    token = sandbox.access_token("alice", ["user", "tca", "private-balances"])
    answers = ask(
        sandbox,
        [
            Holder.token(token),
            Holder.token(token, "protected"),
            Holder.user("alice"),
            Holder.user("carol"),
            Holder.addresses([BOB_WALLET, ALICE_MAIN]),
        ],
    )
    assert [a if isinstance(a, BaseException) else dict(a) for a in answers] == [
        ALICE_PUBLIC,
        ALICE_PROTECTED,
        ALICE_PUBLIC,
        {},
        {"TOKENLY": 2 * SAT, "LTBCOIN": 2_130_050_000_000},
    ]


def test_tokenpass_refusals_are_unknown_holders(sandbox: Sandbox) -> None:
    public_only = sandbox.access_token("bob", ["tca"])
    holders = [
        Holder.user("nobody"),
        Holder.addresses([ALICE_MAIN, CAROL_PRIVATE]),
        Holder.token("not-a-token"),
        Holder.token(public_only, "protected"),
    ]
    answers = ask(sandbox, holders)
    assert all(isinstance(answer, UnknownHolderError) for answer in answers), answers
    assert CAROL_PRIVATE in str(answers[1])
    assert "not-a-token" not in str(answers[2])
    assert public_only not in str(answers[3])
    assert repr(holders[3]) in str(answers[3])


def test_tokenpass_protected_balances_need_a_token(sandbox: Sandbox) -> None:
    answers = ask(
        sandbox, [Holder.user("alice", "protected"), Holder.addresses(["1A"], "protected")]
    )
    for answer in answers:
        assert isinstance(answer, InvalidArgumentError)
        assert "only by OAuth token" in str(answer)


def test_a_failing_tokenpass_is_unavailable_and_never_unknown(sandbox: Sandbox) -> None:
    token = sandbox.access_token("alice", ["tca"])
    sandbox.inject_faults(503, count=3)
    try:
        answers = ask(sandbox, [Holder.token(token), Holder.user("alice"), Holder.user("bob")])
    finally:
        sandbox.clear_faults()
    for answer in answers:
        assert isinstance(answer, BalanceUnavailableError)
        assert not isinstance(answer, UnknownHolderError)
        assert "503 injected fault" in str(answer)
        assert token not in str(answer)


def test_a_cache_on_tokenpass_serves_stale_balances_while_it_fails(sandbox: Sandbox) -> None:
    token = sandbox.access_token("alice", ["tca"])
    clock = [0.0]
    holder = Holder.token(token)

    async def scenario() -> tuple[list[Mapping[str, int]], bool]:
        client = AsyncTokenpassClient(
            sandbox.url, sandbox.client_id, sandbox.client_secret, retries=0
        )
        async with client:
            cache = CachedBalances(
                TokenpassBalances(client), ttl=10.0, stale_for=20.0, clock=lambda: clock[0]
            )
            first = await asyncio.gather(*(cache.balances(holder) for _ in range(200)))
            clock[0] = 15.0
            sandbox.inject_faults(503, count=10)
            try:
                stale = (await cache.read(holder)).stale
                clock[0] = 30.0
                with pytest.raises(BalanceUnavailableError, match="503"):
                    await cache.read(holder)
            finally:
                sandbox.clear_faults()
            assert (cache.stats.upstream_calls, cache.stats.stale_served) == (3, 1)
            return first, stale

    first, stale = run(scenario)
    assert [dict(answer) for answer in first] == [ALICE_PUBLIC] * 200
    assert stale


def test_holder_kinds_name_the_tokenpass_parameters() -> None:
    assert [kind.value for kind in HolderKind] == ["oauth_token", "username", "addresses"]
