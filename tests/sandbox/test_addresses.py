"""Addresses, proof of ownership, instant verification, lookups and registration, over loopback."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from tca_gate.signing.bitcoin import address_from_private_key, sign_message
from tests.support.sandboxes import TEST_SEED, Sandbox, running_sandbox

PUBLIC = "1WBjybd6ef5WYV9eWrfU4rHoguJTsbGqt"
PRIVATE = "1DqupSozZdgmCGkD3vWwGEnr3txZDK45c2"
INACTIVE = "1GPsgJEs2a6AVF4DQdD4No4wtmYJ4A3C2q"
UNVERIFIED = "1KsgmWewaz6qT2ftw2ix55UU1SoxnNYLVY"
ERIN = "1L9qoEk7XSwHpdFApse85szxtgTdrKGqs2"
ALL_SCOPES = ["user", "tca", "private-balances", "private-address", "manage-address"]


def _key(name: str) -> bytes:
    return hashlib.sha256(f"tca-gate sandbox test key {name}".encode()).digest()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox(TEST_SEED) as running:
        yield running


def _listed(answer: object) -> list[str]:
    assert isinstance(answer, dict)
    return [entry["address"] for entry in answer["result"]]


def test_public_addresses_are_active_verified_and_public(sandbox: Sandbox) -> None:
    answer = sandbox.api("GET", "tca/addresses/dana")
    assert answer.status_code == 200
    (entry,) = answer.json()["result"]
    assert entry == {
        "address": PUBLIC,
        "balances": {"LTBCOIN": 100 * 10**8, "TOKENLY": 150_000_000},
        "public": True,
        "label": "public",
    }


def test_public_address_details(sandbox: Sandbox) -> None:
    assert sandbox.api("GET", f"tca/addresses/dana/{PUBLIC}").json()["result"]["address"] == PUBLIC
    for hidden in (PRIVATE, INACTIVE):
        assert sandbox.api("GET", f"tca/addresses/dana/{hidden}").status_code == 404
    assert sandbox.api("GET", "tca/addresses/nobody").status_code == 404


def test_own_addresses_depend_on_the_private_address_scope(sandbox: Sandbox) -> None:
    narrow = sandbox.access_token("dana", ["user", "tca"])
    assert _listed(sandbox.api("GET", "tca/addresses", oauth_token=narrow).json()) == [PUBLIC]
    wide = sandbox.access_token("dana", ALL_SCOPES)
    answer = sandbox.api("GET", "tca/addresses", oauth_token=wide).json()
    assert _listed(answer) == [PUBLIC, PRIVATE, INACTIVE, UNVERIFIED]
    unverified = answer["result"][3]
    assert unverified["verified"] is False
    assert unverified["verify_code"]
    assert "verify_code" not in answer["result"][0]


def test_active_and_verified_show_only_with_manage_address(sandbox: Sandbox) -> None:
    token = sandbox.access_token("dana", ["user", "tca", "private-address"])
    entry = sandbox.api("GET", f"tca/address/{PRIVATE}", oauth_token=token).json()["result"]
    assert set(entry) == {"address", "balances", "public", "label"}


def test_register_verify_update_and_delete(sandbox: Sandbox) -> None:
    token = sandbox.access_token("fay", ALL_SCOPES)
    key = _key("fay")
    address = address_from_private_key(key)
    registered = sandbox.api(
        "POST", "tca/address", body={"address": address, "label": "new"}, oauth_token=token
    )
    assert registered.status_code == 200, registered.text
    result = registered.json()["result"]
    assert (result["verified"], result["active"], result["public"]) == (False, True, False)
    code = result["verify_code"]

    again = sandbox.api("POST", "tca/address", body={"address": address}, oauth_token=token)
    assert again.status_code == 409

    wrong = sign_message(_key("someone else"), code)
    refused = sandbox.api(
        "POST", f"tca/address/{address}", body={"signature": wrong}, oauth_token=token
    )
    assert refused.status_code == 400
    assert refused.json()["field"] == "signature"

    verified = sandbox.api(
        "POST",
        f"tca/address/{address}",
        body={"signature": sign_message(key, code)},
        oauth_token=token,
    )
    assert verified.json() == {"result": True}
    details = sandbox.api("GET", f"tca/address/{address}", oauth_token=token).json()["result"]
    assert details["verified"] is True
    assert "verify_code" not in details

    updated = sandbox.api(
        "PATCH",
        f"tca/address/{address}",
        body={"public": True, "label": "renamed"},
        oauth_token=token,
    )
    assert (updated.json()["result"]["public"], updated.json()["result"]["label"]) == (
        True,
        "renamed",
    )
    assert _listed(sandbox.api("GET", "tca/addresses/fay").json()) == [address]

    assert sandbox.api("DELETE", f"tca/address/{address}", oauth_token=token).json() == {
        "result": True
    }
    assert sandbox.api("GET", f"tca/address/{address}", oauth_token=token).status_code == 404


def test_managing_addresses_needs_the_scope(sandbox: Sandbox) -> None:
    token = sandbox.access_token("fay", ["user", "tca"])
    address = address_from_private_key(_key("fay"))
    answer = sandbox.api("POST", "tca/address", body={"address": address}, oauth_token=token)
    assert answer.status_code == 403


def test_another_users_address_is_not_found(sandbox: Sandbox) -> None:
    token = sandbox.access_token("fay", ALL_SCOPES)
    answer = sandbox.api("DELETE", f"tca/address/{PUBLIC}", oauth_token=token)
    assert answer.status_code == 404
    assert sandbox.api("GET", "tca/addresses/dana").json()["result"]  # still there


def test_instant_verify(sandbox: Sandbox) -> None:
    key = _key("instant")
    address = address_from_private_key(key)
    msg = sandbox.instant_verify_code("fay")
    body = {"msg": msg, "address": address, "sig": sign_message(key, msg)}
    assert sandbox.api("POST", "instant-verify/fay", body=body).json() == {"result": True}
    token = sandbox.access_token("fay", ALL_SCOPES)
    entry = sandbox.api("GET", f"tca/address/{address}", oauth_token=token).json()["result"]
    assert entry["verified"] is True
    reused = sandbox.api("POST", "instant-verify/fay", body=body)
    assert reused.status_code == 400
    assert reused.json()["field"] == "msg"


def test_instant_verify_refuses_a_signature_of_another_key(sandbox: Sandbox) -> None:
    msg = sandbox.instant_verify_code("fay")
    address = address_from_private_key(_key("instant"))
    body = {"msg": msg, "address": address, "sig": sign_message(_key("other"), msg)}
    answer = sandbox.api("POST", "instant-verify/fay", body=body)
    assert answer.status_code == 400
    assert answer.json()["field"] == "sig"


def test_lookups(sandbox: Sandbox) -> None:
    expected = {"username": "dana", "address": PUBLIC, "email": "dana@example.com"}
    assert sandbox.api("GET", f"lookup/address/{PUBLIC}").json() == {"result": expected}
    assert sandbox.api("GET", f"lookup/address/{PRIVATE}").status_code == 404
    assert sandbox.api("GET", "lookup/user/dana").json() == {"result": expected}
    many = sandbox.api("POST", "lookup/addresses", body={"address_list": [PUBLIC, PRIVATE, ERIN]})
    assert sorted(many.json()["result"]) == sorted([PUBLIC, ERIN])
    bad = sandbox.api("POST", "lookup/addresses", body={"address_list": [PUBLIC, "nope"]})
    assert bad.status_code == 400
    assert bad.json()["field"] == "address_list"


def test_register_account(sandbox: Sandbox) -> None:
    body = {
        "client_id": sandbox.client_id,
        "username": "gus",
        "password": "gus-password",
        "email": "gus@example.com",
    }
    answer = sandbox.api("POST", "register", body=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["username"] == "gus"
    clashes = {
        "username": {"username": "GUS", "email": "other@example.com"},
        "email": {"username": "hal", "email": "dana@example.com"},
    }
    for field, change in clashes.items():
        taken = sandbox.api("POST", "register", body=body | change)
        assert taken.status_code == 409
        assert taken.json()["field"] == field


def _claim(sandbox: Sandbox, token: str, address: str) -> str:
    """Register ``address`` for the token's user, unverified; its verify_code."""
    answer = sandbox.api("POST", "tca/address", body={"address": address}, oauth_token=token)
    assert answer.status_code == 200, answer.text
    code: str = answer.json()["result"]["verify_code"]
    return code


def _owners(sandbox: Sandbox, address: str) -> dict[str, bool]:
    """Who claims ``address``, and whether their claim is verified."""
    owners = {}
    for user in ("dana", "fay"):
        token = sandbox.access_token(user, ALL_SCOPES)
        entry = sandbox.api("GET", f"tca/address/{address}", oauth_token=token)
        if entry.status_code == 200:
            owners[user] = entry.json()["result"]["verified"]
    return owners


def test_an_unverified_claim_does_not_block_the_key_holders_instant_verify(
    sandbox: Sandbox,
) -> None:
    key = _key("dana's own")
    address = address_from_private_key(key)
    _claim(sandbox, sandbox.access_token("fay", ALL_SCOPES), address)
    msg = sandbox.instant_verify_code("dana")
    body = {"msg": msg, "address": address, "sig": sign_message(key, msg)}
    answer = sandbox.api("POST", "instant-verify/dana", body=body)
    assert answer.json() == {"result": True}, answer.text
    assert _owners(sandbox, address) == {"dana": True}


def test_the_key_holder_claims_and_verifies_beside_an_unverified_claim(sandbox: Sandbox) -> None:
    key = _key("dana's own")
    address = address_from_private_key(key)
    fay = sandbox.access_token("fay", ALL_SCOPES)
    _claim(sandbox, fay, address)
    dana = sandbox.access_token("dana", ALL_SCOPES)
    code = _claim(sandbox, dana, address)
    assert _owners(sandbox, address) == {"dana": False, "fay": False}
    proof = {"signature": sign_message(key, code)}
    verified = sandbox.api("POST", f"tca/address/{address}", body=proof, oauth_token=dana)
    assert verified.json() == {"result": True}
    assert _owners(sandbox, address) == {"dana": True}
    late = sandbox.api("POST", "tca/address", body={"address": address}, oauth_token=fay)
    assert (late.status_code, late.json()["field"]) == (409, "address")


def test_a_verified_address_cannot_be_claimed_by_another_user(sandbox: Sandbox) -> None:
    fay = sandbox.access_token("fay", ALL_SCOPES)
    answer = sandbox.api("POST", "tca/address", body={"address": PUBLIC}, oauth_token=fay)
    assert answer.status_code == 409
    assert (answer.json()["field"], _owners(sandbox, PUBLIC)) == ("address", {"dana": True})


def test_one_address_without_private_address_is_only_a_public_one(sandbox: Sandbox) -> None:
    narrow = sandbox.access_token("dana", ["user", "tca"])
    assert sandbox.api("GET", f"tca/address/{PUBLIC}", oauth_token=narrow).status_code == 200
    for hidden in (PRIVATE, INACTIVE, UNVERIFIED):
        answer = sandbox.api("GET", f"tca/address/{hidden}", oauth_token=narrow)
        assert (answer.status_code, answer.json()["field"]) == (404, "address"), hidden
    wide = sandbox.access_token("dana", ["user", "tca", "private-address"])
    assert sandbox.api("GET", f"tca/address/{PRIVATE}", oauth_token=wide).status_code == 200


def test_a_users_public_address_details_leave_out_unverified_claims(sandbox: Sandbox) -> None:
    assert sandbox.api("GET", f"tca/addresses/dana/{UNVERIFIED}").status_code == 404
