"""The Tokenpass client reads its answers into values, exactly, and names the field of
an answer it cannot read."""

from __future__ import annotations

from typing import Any

import pytest

from tca_gate import compile_rule
from tca_gate.errors import MalformedResponseError
from tca_gate.tokenpass import (
    AssetInfo,
    Balance,
    Chat,
    ChatRule,
    CreditTransfer,
    LinkedUser,
    OAuthUser,
    SourceAddress,
    UserLookup,
    balances_by_asset,
)
from tests.support.tokenpass_samples import (
    ACCOUNT_JSON,
    ADDRESS,
    ADDRESS_JSON,
    ADDRESS_VALUE,
    ASSET_JSON,
    CHAT_JSON,
    CHAT_VALUE,
    GROUP_JSON,
    LOOKUP_JSON,
    LOOKUP_VALUE,
    PROMISE_JSON,
    PROMISE_VALUE,
    TX_JSON,
    WHEN,
    T,
    answer_of,
)


def test_values_read_from_the_answers() -> None:
    assert answer_of("get_public_addresses", {"result": [ADDRESS_JSON]}, "alice") == (
        ADDRESS_VALUE,
    )
    assert answer_of("get_promised_transaction", {"result": True, "tx": PROMISE_JSON}, 7) == (
        PROMISE_VALUE
    )
    assert answer_of(
        "lookup_users_by_addresses", {"result": {ADDRESS: LOOKUP_JSON}}, [ADDRESS]
    ) == {ADDRESS: LOOKUP_VALUE}
    sources = answer_of(
        "get_provisional_source_list",
        {
            "result": True,
            "proof_suffix": "_ab",
            "whitelist": [{"address": ADDRESS, "assets": ["A"]}],
        },
    )
    assert (sources.proof_suffix, sources.whitelist) == ("_ab", (SourceAddress(ADDRESS, ("A",)),))
    account = answer_of("get_app_credit_account", {"account": ACCOUNT_JSON}, "g-1", "u-1")
    assert account.tokenpass_user == LinkedUser("u-1", "alice", "alice")
    [transfer] = answer_of(
        "take_app_credit", {"transactions": [{"debit": TX_JSON, "credit": TX_JSON}]}, "g", "u", 1
    )
    assert isinstance(transfer, CreditTransfer)
    assert (transfer.debit.amount, transfer.debit.tokenpass_user) == (-40, None)
    for user in ("alice", {"uuid": "u-1", "slug": "alice", "username": "alice"}):
        history = answer_of(
            "get_app_credit_group_history",
            {
                "credit_group": GROUP_JSON,
                "transactions": [{**TX_JSON, "tokenpass_user": user}],
                "count": 1,
            },
            "g-1",
        )
        assert history.transactions[0].tokenpass_user == "alice"
    user = answer_of(
        "get_oauth_user",
        {"id": 12, "username": "alice", "email": None, "name": "Alice", "email_is_confirmed": True},
        "access",
    )
    assert user == OAuthUser("12", "alice", None, "Alice", email_is_confirmed=True)
    assert answer_of("check_token_access", {"result": False}, "a", "A=1", T) is False
    assert answer_of("get_asset_info", {"result": ASSET_JSON}, "bitcoin", "TOKENLY") == AssetInfo(
        "bitcoin", "TOKENLY", divisible=True, divisibility=8
    )
    nowhere = {"result": {**LOOKUP_JSON, "address": None}}
    assert answer_of("lookup_user_by_email", nowhere, "alice@example.com") == UserLookup(
        "alice", None, "alice@example.com"
    )
    assert answer_of("get_chats", {"0": CHAT_JSON}, T) == (CHAT_VALUE,)
    bare = {key: value for key, value in CHAT_JSON.items() if key not in {"joined", "created_at"}}
    assert answer_of("get_chat", {**bare, "id": 12}, T, "12") == Chat(
        "12", "VIP", True, False, (ChatRule("TOKENLY", 100000000),), None, None, WHEN
    )
    on_chain = {**PROMISE_JSON, "chain": "bitcoin", "protocol": "counterparty"}
    promise = answer_of("get_promised_transaction", {"result": True, "tx": on_chain}, 7)
    assert (promise.chain, promise.protocol) == ("bitcoin", "counterparty")
    assert (PROMISE_VALUE.chain, PROMISE_VALUE.protocol) == (None, None)
    listed = answer_of(
        "get_provisional_source_list",
        {
            "result": True,
            "proof_suffix": "_ab",
            "whitelist": [{"address": ADDRESS, "assets": None, "chain": "bitcoinTestnet"}],
        },
    )
    assert listed.whitelist == (SourceAddress(ADDRESS, None, "bitcoinTestnet", None),)


def test_balances_are_exact_from_balance_sat_in_either_list_shape() -> None:
    huge = "123456789012345678901234567890"
    rows = [
        {"asset": "SOUP", "name": "SOUP", "balance": 1.2345678901234568e21, "balanceSat": huge},
        {"asset": "LTBCOIN", "name": "LTBCoin", "balance": 0.1, "balanceSat": "10000000"},
        {"asset": "DEBT", "name": "DEBT", "balance": -1.0, "balanceSat": "-100000000"},
    ]
    as_list = answer_of("get_combined_protected_balances", rows, T)
    as_object = answer_of(
        "get_combined_protected_balances", {"1": rows[1], "0": rows[0], "2": rows[2]}, T
    )
    assert as_list == as_object
    assert as_list[0] == Balance("SOUP", "SOUP", int(huge))
    assert balances_by_asset(as_list) == {
        "SOUP": 123456789012345678901234567890,
        "LTBCOIN": 10000000,
        "DEBT": -100000000,
    }
    rule = compile_rule("LTBCOIN=0.1&DEBT=-1", dialect="tokenpass")
    assert rule.evaluate(balances_by_asset(as_list)) is True
    assert rule.evaluate(balances_by_asset(as_list[::2])) is False  # no LTBCOIN


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"result": True}, "the answer should be a list, not an object"),
        (
            [{"asset": "A", "name": "A", "balance": 1.0}],
            "[0].balanceSat should be an integer amount, not missing",
        ),
        (
            [{"asset": "A", "name": "A", "balanceSat": "1.5"}],
            "[0].balanceSat should be an integer amount, not a string",
        ),
        (
            [{"asset": "A", "name": "A", "balanceSat": 1.0}],
            "[0].balanceSat should be an integer amount, not the number 1",
        ),
        (
            [{"asset": "A", "name": "A", "balanceSat": "1" * 65}],
            "[0].balanceSat should be an integer amount, not a string",
        ),
        (
            [{"asset": "A", "name": "A", "balanceSat": "1"}] * 2,
            "[1].asset should be an asset not listed before, not a string",
        ),
        (
            {"0": {"asset": "A", "name": "A", "balanceSat": "1"}, "x": {}},
            "the answer should be a list, not an object",
        ),
        ([None], "[0] should be an object, not null"),
    ],
)
def test_unexpected_balance_shapes_name_the_field(answer: Any, message: str) -> None:
    with pytest.raises(MalformedResponseError) as raised:
        answer_of("get_combined_public_balances", answer, T)
    assert raised.value.message == message


@pytest.mark.parametrize(
    ("name", "args", "answer", "field"),
    [
        (
            "get_public_addresses",
            ("alice",),
            {"result": [{**ADDRESS_JSON, "public": "yes"}]},
            "result[0].public",
        ),
        (
            "get_public_addresses",
            ("alice",),
            {"result": [{**ADDRESS_JSON, "balances": {"A": 0.5}}]},
            "result[0].balances.A",
        ),
        ("get_promised_transaction", (7,), {"result": False, "tx": PROMISE_JSON}, "result"),
        (
            "get_promised_transaction",
            (7,),
            {"result": True, "tx": {**PROMISE_JSON, "created_at": "soon"}},
            "tx.created_at",
        ),
        (
            "get_app_credit_group_history",
            ("g",),
            {"credit_group": GROUP_JSON, "transactions": [{**TX_JSON, "amount": 1.5}], "count": 1},
            "transactions[0].amount",
        ),
        (
            "get_app_credit_account",
            ("g", "a"),
            {"account": {**ACCOUNT_JSON, "tokenpass_user": "u-1"}},
            "account.tokenpass_user",
        ),
        ("delete_address", (ADDRESS, T), {"result": False}, "result"),
    ],
)
def test_unexpected_shapes_name_the_field(
    name: str, args: tuple[Any, ...], answer: Any, field: str
) -> None:
    with pytest.raises(MalformedResponseError) as raised:
        answer_of(name, answer, *args)
    assert raised.value.field == field
    assert raised.value.message.startswith(field + " should be")


def test_php_empty_arrays_are_read_as_empty_maps() -> None:
    empty = answer_of("get_public_addresses", {"result": [{**ADDRESS_JSON, "balances": []}]}, "a")
    assert dict(empty[0].balances) == {}
    assert answer_of("lookup_users_by_addresses", {"result": []}, [ADDRESS]) == {}
    with pytest.raises(MalformedResponseError, match=r"result\[0\].balances should be an object"):
        answer_of("get_public_addresses", {"result": [{**ADDRESS_JSON, "balances": [1]}]}, "a")
