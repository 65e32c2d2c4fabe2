"""The Tokens.net verifier and middleware: tampered requests are refused for the right reason.

The document's signature covers only the nonce and the key, so a captured request
cannot be sent again with another method, path, query or body: its nonce is used up
(111), and a new nonce needs the secret (121).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx2
import pytest

from tca_gate.signing.tokensnet._scheme import signing_headers
from tca_gate.tokensnet import (
    NonceLedger,
    TokensNetSignatureError,
    VerifiedRequest,
    tokensnet_signature,
    verify_tokensnet_request,
)
from tca_gate.tokensnet.testing import TokensNetEmulator
from tests.support.nonces import Nonces
from tests.support.servers import serve

SECRETS = {"alice": "alice-secret", "bob": "bob-secret"}
BALANCE = "/private/balance/btc/"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve(TokensNetEmulator(SECRETS)) as base_url:
        yield base_url


@pytest.fixture
def http(url: str) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=url) as client:
        yield client


def refusal(response: httpx2.Response) -> tuple[int, int, str]:
    body = response.json()
    assert body["status"] == "error"
    assert isinstance(body["timestamp"], int)
    return response.status_code, body["errorCode"], body["reason"]


def test_a_signed_request_passes(http: httpx2.Client) -> None:
    response = http.get(BALANCE, headers=signing_headers("alice", SECRETS["alice"], Nonces.next()))
    assert response.status_code == 200
    assert response.json()["currency"] == "BTC"


@pytest.mark.parametrize(
    ("drop", "code", "reason"),
    [
        ("key", 100, "API Key is missing"),
        ("nonce", 101, "Nonce is missing"),
        ("signature", 102, "Signature is missing"),
    ],
)
def test_a_missing_header_is_refused(
    http: httpx2.Client, drop: str, code: int, reason: str
) -> None:
    headers = signing_headers("alice", SECRETS["alice"], Nonces.next())
    del headers[drop]
    assert refusal(http.get(BALANCE, headers=headers)) == (401, code, reason)


@pytest.mark.parametrize("nonce", ["12a", "-5", "1.5", "+7", "1e3"])
def test_a_nonce_that_is_not_an_integer_is_refused(http: httpx2.Client, nonce: str) -> None:
    headers = signing_headers("alice", SECRETS["alice"], Nonces.next()) | {"nonce": nonce}
    assert refusal(http.get(BALANCE, headers=headers))[1] == 110


def test_an_unknown_key_is_refused(http: httpx2.Client) -> None:
    headers = signing_headers("mallory", "guess", Nonces.next())
    assert refusal(http.get(BALANCE, headers=headers)) == (401, 120, "Invalid API key")


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda h: h | {"key": "bob"}, id="key-swapped-for-another"),
        pytest.param(lambda h: h | {"nonce": str(int(h["nonce"]) + 1)}, id="nonce-changed"),
        pytest.param(lambda h: h | {"signature": h["signature"].lower()}, id="lowercase-hex"),
        pytest.param(lambda h: h | {"signature": "0" + h["signature"][1:]}, id="digit-changed"),
        pytest.param(
            lambda h: (
                h | {"signature": tokensnet_signature("bob-secret", int(h["nonce"]), "alice")}
            ),
            id="other-secret",
        ),
    ],
)
def test_a_tampered_signature_is_refused_and_uses_up_no_nonce(
    http: httpx2.Client, tamper: Callable[[dict[str, str]], dict[str, str]]
) -> None:
    nonce = Nonces.next() + 1000
    headers = signing_headers("alice", SECRETS["alice"], nonce)
    assert refusal(http.get(BALANCE, headers=tamper(headers))) == (401, 121, "Signature is invalid")
    assert http.get(BALANCE, headers=headers).status_code == 200
    Nonces.last = nonce


def test_a_replayed_nonce_is_refused(http: httpx2.Client) -> None:
    headers = signing_headers("bob", SECRETS["bob"], Nonces.next())
    assert http.get(BALANCE, headers=headers).status_code == 200
    assert refusal(http.get(BALANCE, headers=headers)) == (
        401,
        111,
        "Provided nonce is less or equal to the last nonce",
    )


def test_a_lower_nonce_is_refused_even_when_signed(http: httpx2.Client) -> None:
    high, low = Nonces.next() + 5, Nonces.last + 1
    assert (
        http.get(BALANCE, headers=signing_headers("bob", SECRETS["bob"], high)).status_code == 200
    )
    assert refusal(http.get(BALANCE, headers=signing_headers("bob", SECRETS["bob"], low)))[1] == 111
    Nonces.last = high


@pytest.mark.parametrize(
    ("method", "target", "body"),
    [
        pytest.param("POST", BALANCE, None, id="method"),
        pytest.param("GET", "/private/orders/get/all/", None, id="path"),
        pytest.param("GET", BALANCE + "?currency=eth", None, id="query"),
        pytest.param(
            "POST", "/private/orders/add/limit/", b"tradingPair=btcusdt&side=sell", id="body"
        ),
    ],
)
def test_a_captured_request_cannot_be_reused_for_another(
    http: httpx2.Client, method: str, target: str, body: bytes | None
) -> None:
    headers = signing_headers("alice", SECRETS["alice"], Nonces.next())
    assert http.get(BALANCE, headers=headers).status_code == 200
    response = http.request(method, target, headers=headers, content=body)
    assert refusal(response)[1] == 111


def test_public_paths_need_no_signature(http: httpx2.Client) -> None:
    assert http.get("/public/ticker/btcusdt/").json()["last"] == "1234.56"


def test_the_verifier_alone() -> None:
    ledger = NonceLedger()
    headers = [
        ("Key", "alice"),
        ("Nonce", "5"),
        ("Signature", tokensnet_signature("s", 5, "alice")),
    ]
    assert verify_tokensnet_request(headers, secret_for={"alice": "s"}.get, ledger=ledger) == (
        VerifiedRequest("alice", 5)
    )
    assert ledger.last("alice") == 5
    with pytest.raises(TokensNetSignatureError) as raised:
        verify_tokensnet_request(headers, secret_for={"alice": "s"}, ledger=ledger)
    assert (raised.value.code, raised.value.reason) == (
        111,
        "Provided nonce is less or equal to the last nonce",
    )
    assert verify_tokensnet_request(headers, secret_for={"alice": "s"}, ledger=None).nonce == 5
    with pytest.raises(TokensNetSignatureError) as raised:
        verify_tokensnet_request(headers, secret_for={"alice": ""}, ledger=None)
    assert raised.value.code == 120
