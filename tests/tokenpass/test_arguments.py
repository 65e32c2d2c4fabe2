"""What the Tokenpass client sends from its arguments: rules in canonical order, only what
changes, encoded path segments; bad arguments refused before anything is sent."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import pytest

from tca_gate import InvalidArgumentError, compile_rule
from tca_gate.tokenpass import (
    UNCHANGED,
    ChatRule,
)
from tests.support.tokenpass_samples import (
    ADDRESS,
    ADDRESS_JSON,
    GROUP_JSON,
    PROMISE_JSON,
    Recorder,
    T,
    sync_client,
)


def test_a_rule_is_sent_in_its_canonical_stack_order() -> None:
    rule = compile_rule("(LTBCOIN >= 1000 and TOKENLY >= 1) or LTBSTAFF >= 1")
    recorder = Recorder({"result": True})
    with sync_client(recorder) as tokenpass:
        tokenpass.check_token_access("alice", rule, T)
        tokenpass.check_token_access("alice", "LTBCOIN >= 1000", T)
    sent = [parse_qsl(r.url.query.decode(), keep_blank_values=True) for r in recorder.requests]
    assert sent[0] == rule.to_pairs()
    assert sent[1] == [("LTBCOIN", "1000")]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.check_token_access("a", {"oauth_token": "x"}, T), "credential"),
        (lambda c: c.check_token_access("a", "", T), "the rule is empty"),
        (lambda c: c.check_token_access("a", {"A": 1.5}, T), "must be a str or int"),
        (lambda c: c.check_token_access("", "A=1", T), "username must not be empty"),
        (lambda c: c.check_token_access("a", "A=1", ""), "oauth_token must be"),
        (lambda c: c.check_token_access("a", "A=1", b"tok"), "oauth_token must be .* not bytes"),
        (lambda c: c.promise_transaction("s", "d", "A", 1.5), "quantity must be an int"),
        (lambda c: c.promise_transaction("s", "d", "A", 0), "above zero"),
        (lambda c: c.promise_transaction("s", "d", "A", 1, note=5), "note must be a non-empty"),
        (lambda c: c.give_multiple_app_credit("g", []), "at least one account"),
        (
            lambda c: c.give_multiple_app_credit("g", [{"account": "u", "amount": 1, "x": 1}]),
            "unknown keys: x",
        ),
        (
            lambda c: c.give_multiple_app_credit("g", [{"account": "u", "amount": 1, "ref": 3}]),
            r"accounts\[0\].ref must be a non-empty string",
        ),
        (lambda c: c.take_app_credit("g", "u", 1, destination=""), "destination must be"),
        (lambda c: c.lookup_users_by_addresses(ADDRESS), "not one string"),
        (lambda c: c.update_address_details(ADDRESS, T), "needs at least one of: label"),
        (lambda c: c.update_address_details(ADDRESS, T, public=None), "public must be True"),
        (lambda c: c.update_address_details(ADDRESS, T, label=3), "label must be"),
        (lambda c: c.register_address(ADDRESS, T, public="yes"), "public must be True"),
        (lambda c: c.update_promised_transaction(7), "needs at least one of: quantity"),
        (lambda c: c.update_promised_transaction(7, quantity=None), "quantity must be an int"),
        (lambda c: c.update_app_credit_group("g"), "needs at least one of: name"),
        (lambda c: c.get_promised_transaction(True), "promise_id must be a str"),
        (lambda c: c.delete_address("..", T), "address must not be '..'"),
        (lambda c: c.delete_address(".", T), "address must not be '.'"),
        (lambda c: c.delete_provisional_source(".."), "address must not be '..'"),
        (lambda c: c.get_app_credit_account("g", ".."), "account must not be '..'"),
        (lambda c: c.delete_address(" ", T), "address must not be empty"),
        (lambda c: c.new_app_credit_group("P", ["id", ""]), r"app_whitelist\[1\] must be"),
        (lambda c: c.new_app_credit_group("P", []), "app_whitelist must not be an empty list"),
        (lambda c: c.new_app_credit_group("P", ""), "app_whitelist must be a non-empty"),
        (lambda c: c.new_app_credit_group("P", 5), "app_whitelist must be a list"),
        (lambda c: c.update_app_credit_group("g", app_whitelist=[None]), "app_whitelist"),
        (lambda c: c.register_provisional_source(ADDRESS, "p", ["A", 1]), r"assets\[1\] must"),
        (lambda c: c.register_provisional_source(ADDRESS, "p", []), "assets must not be an empty"),
        (lambda c: c.register_provisional_source(ADDRESS, "p", " "), "assets must be"),
        (lambda c: c.register_provisional_source(ADDRESS, "p", chain=""), "chain must be"),
        (lambda c: c.promise_transaction("s", "d", "A", 1, protocol=None), "protocol must be"),
        (lambda c: c.check_token_access_by_email("", "A=1"), "email must not be empty"),
        (lambda c: c.check_token_access_by_email("a@b", {"oauth_token": T}), "credential"),
        (lambda c: c.get_asset_info("bitcoin", ".."), "asset must not be '..'"),
        (lambda c: c.lookup_user_by_email(" "), "email must not be empty"),
        (lambda c: c.create_chat(T, "C", ChatRule("A", 1)), "tca_rules must be a list of ChatRule"),
        (lambda c: c.create_chat(T, "C", [{"token": "A"}]), r"tca_rules\[0\] must be a ChatRule"),
        (lambda c: c.create_chat(T, "C", [ChatRule("A", 1.5)]), r"tca_rules\[0\].quantity"),  # type: ignore[arg-type]
        (lambda c: c.create_chat(T, "C", [ChatRule("A", -1)]), "must not be negative"),
        (lambda c: c.create_chat(T, "C", [ChatRule("", 1)]), r"tca_rules\[0\].token must be"),
        (lambda c: c.create_chat(T, "", []), "name must be"),
        (lambda c: c.create_chat(T, "C", [], global_=1), "global_ must be True or False"),
        (lambda c: c.edit_chat(T, "c-1"), "needs at least one of: name, active, global"),
        (lambda c: c.join_chat(T, ".."), "chat_id must not be '..'"),
        (lambda c: c.logout("a token"), "oauth_token must be visible ASCII"),
        (lambda c: c.get_oauth_user("\x00"), "access_token must be visible ASCII"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_sent(call: Any, message: str) -> None:
    recorder = Recorder({"result": True})
    with sync_client(recorder) as tokenpass, pytest.raises(InvalidArgumentError) as raised:
        call(tokenpass)
    assert isinstance(raised.value, ValueError)
    assert raised.match(message)
    assert recorder.requests == []


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "body"),
    [
        ("update_address_details", (ADDRESS, T), {"label": None}, {"label": None}),
        (
            "update_address_details",
            (ADDRESS, T),
            {"label": "x", "active": False},
            {"label": "x", "active": False},
        ),
        ("update_promised_transaction", (7,), {"expiration": None}, {"expiration": None}),
        (
            "update_promised_transaction",
            (7,),
            {"note": None, "ref": "r", "txid": UNCHANGED},
            {"ref": "r", "note": None},
        ),
        ("update_app_credit_group", ("g",), {"app_whitelist": "a\nb"}, {"app_whitelist": "a\nb"}),
    ],
)
def test_updates_send_only_what_changes_and_none_clears_a_nullable_field(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any], body: dict[str, Any]
) -> None:
    answer = {"result": True, "tx": PROMISE_JSON, "credit_group": GROUP_JSON}
    recorder = Recorder({**answer, "result": ADDRESS_JSON} if "address" in name else answer)
    with sync_client(recorder) as tokenpass:
        getattr(tokenpass, name)(*args, **kwargs)
    assert json.loads(recorder.requests[0].content) == body


def test_path_segments_are_encoded() -> None:
    recorder = Recorder({"result": True})
    with sync_client(recorder) as tokenpass:
        tokenpass.check_token_access("a/b?c", "A=1", T)
    assert recorder.requests[0].url.raw_path.startswith(b"/api/v1/tca/check/a%2Fb%3Fc?")
