"""``whitelist_user``: the Tokensoft SDK's ``whitelistUser(email, address, kyc)`` mutation,
sent with literal, escaped arguments, over loopback against the emulator under uvicorn
(every request signed and checked); requests built as the SDK builds them are answered
the same way."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from graphql import parse
from graphql.language import FieldNode, OperationDefinitionNode
from graphql.utilities import value_from_ast_untyped
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette

from tca_gate import InvalidArgumentError, ServerError
from tca_gate.tokensoft import (
    AsyncTokensoftClient,
    KycAddress,
    KycInfo,
    TokensoftClient,
    TokensoftGraphQLError,
)
from tca_gate.tokensoft._calls import whitelist_document
from tca_gate.tokensoft.testing import Whitelisted, emulator_app
from tests.support.servers import serve

KEY, SECRET = "TS-whitelist-key", "TS-whitelist-secret"
WALLET = "0x00192fb10df37c9fb26829eb2cc623cd1bf599e8"
KYC = KycInfo("john", "doe", KycAddress("123 abc street", "San Francisco", "CA", "94000", "US"))
KYC_SENT = {
    "firstName": "john",
    "lastName": "doe",
    "address": {
        "streetAddress": "123 abc street",
        "city": "San Francisco",
        "state": "CA",
        "zip": "94000",
        "country": "US",
    },
}

#: Text that would end a naively quoted literal early and smuggle in arguments or fields.
NASTY = 'o\'brien "the \\ investor"\n\t\r\u2028\x00 ü 𝄞 ", kyc: null) { hacked }'


def transaction(email: str, wallet: str) -> str:
    return "0x" + hashlib.sha256(f"{email}:{wallet}".encode()).hexdigest()


@pytest.fixture(scope="module")
def app() -> Starlette:
    return emulator_app({KEY: SECRET})


@pytest.fixture(scope="module")
def url(app: Starlette) -> Iterator[str]:
    with serve(app) as base:
        yield f"{base}/graphql"


def whitelisted(app: Starlette) -> list[Whitelisted]:
    found: list[Whitelisted] = app.state.whitelisted
    return found


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_whitelisting_with_kyc_returns_the_transaction(app: Starlette, url: str, mode: str) -> None:
    email = f"jay-{mode}@example.com"
    if mode == "sync":
        with TokensoftClient(url, KEY, SECRET) as client:
            answer = client.whitelist_user(email, WALLET, KYC)
    else:

        async def run() -> str:
            async with AsyncTokensoftClient(url, KEY, SECRET) as client:
                return await client.whitelist_user(email, WALLET, kyc=KYC)

        answer = asyncio.run(run())
    assert answer == transaction(email, WALLET)
    assert whitelisted(app)[-1] == Whitelisted(KEY, email, WALLET, KYC_SENT)


def test_without_kyc_the_older_two_argument_form_is_sent(app: Starlette, url: str) -> None:
    with TokensoftClient(url, KEY, SECRET) as client:
        assert client.whitelist_user("old@example.com", WALLET) == transaction(
            "old@example.com", WALLET
        )
    assert whitelisted(app)[-1] == Whitelisted(KEY, "old@example.com", WALLET, None)


def test_every_value_arrives_exactly_however_odd(app: Starlette, url: str) -> None:
    odd = KycInfo(NASTY, "d\\oe", KycAddress(NASTY, "São Paulo", "SP", "01000-000", "BR"))
    email = f"{NASTY}@example.com"
    with TokensoftClient(url, KEY, SECRET) as client:
        assert client.whitelist_user(email, WALLET, odd) == transaction(email, WALLET)
    recorded = whitelisted(app)[-1]
    assert recorded.email == email
    assert recorded.kyc is not None
    assert recorded.kyc["firstName"] == NASTY
    assert recorded.kyc["lastName"] == "d\\oe"
    assert recorded.kyc["address"]["streetAddress"] == NASTY
    assert recorded.kyc["address"]["city"] == "São Paulo"


def test_the_body_is_a_literal_mutation_without_variables() -> None:
    bodies: list[bytes] = []

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.content == b'{"query":"{ time }"}':
            return httpx2.Response(200, json={"data": {"time": 1_700_000_000_000}})
        bodies.append(request.content)
        return httpx2.Response(200, json={"data": {"whitelistUser": "0xabc"}})

    transport = httpx2.MockTransport(handle)
    with TokensoftClient("https://ts.test/graphql", KEY, SECRET, transport=transport) as client:
        assert client.whitelist_user("jay@example.com", WALLET, KYC) == "0xabc"
    (body,) = bodies
    assert json.loads(body) == {
        "query": (
            'mutation { whitelistUser(email: "jay@example.com", '
            f'address: "{WALLET}", kyc: {{ firstName: "john", lastName: "doe", '
            'address: { streetAddress: "123 abc street", city: "San Francisco", '
            'state: "CA", zip: "94000", country: "US" } }) }'
        )
    }


def test_a_whitelisting_is_never_retried() -> None:
    attempts: list[bytes] = []

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.content == b'{"query":"{ time }"}':
            return httpx2.Response(200, json={"data": {"time": 1_700_000_000_000}})
        attempts.append(request.content)
        return httpx2.Response(503, json={"message": "busy"})

    with (
        TokensoftClient(
            "https://ts.test/graphql", KEY, SECRET, transport=httpx2.MockTransport(handle)
        ) as client,
        pytest.raises(ServerError),
    ):
        client.whitelist_user("jay@example.com", WALLET, KYC)
    assert len(attempts) == 1


def test_a_refused_whitelisting_raises_at_its_field(url: str) -> None:
    with (
        TokensoftClient(url, KEY, SECRET) as client,
        pytest.raises(TokensoftGraphQLError) as caught,
    ):
        client.whitelist_user("jay@example.com", "not-a-wallet")
    (problem,) = caught.value.problems
    assert (problem.path, problem.code) == (("whitelistUser",), "BAD_USER_INPUT")
    assert caught.value.data == {"whitelistUser": None}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("", WALLET), "email must be a non-empty str"),
        ((b"jay@example.com", WALLET), "email must be a non-empty str"),
        (("jay@example.com", None), "address must be a non-empty str"),
        (("jay\ud800@example.com", WALLET), "email holds a lone surrogate"),
        (("jay@example.com", WALLET, KYC_SENT), "kyc must be a KycInfo"),
        (
            ("jay@example.com", WALLET, KycInfo("john", "", KYC.address)),
            "kyc.lastName must be a non-empty str",
        ),
        (
            ("j@example.com", WALLET, KycInfo("j", "d", KycAddress("s", "c", "s", 94000, "US"))),  # type: ignore[arg-type]
            "kyc.address.zip must be a non-empty str",
        ),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_sent(
    arguments: tuple[Any, ...], message: str
) -> None:
    with (
        TokensoftClient("http://127.0.0.1:9/graphql", KEY, SECRET) as client,
        pytest.raises(InvalidArgumentError, match=message),
    ):
        client.whitelist_user(*arguments)


@given(st.text(min_size=1), st.text(min_size=1))
def test_any_text_reads_back_exactly_as_graphql_parses_it(email: str, city: str) -> None:
    kyc = KycInfo("f", "l", KycAddress("s", city, "st", "z", "c"))
    operation = parse(whitelist_document(email, WALLET, kyc)).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    (field,) = operation.selection_set.selections
    assert isinstance(field, FieldNode)
    assert field.arguments is not None
    given_arguments = {
        argument.name.value: value_from_ast_untyped(argument.value) for argument in field.arguments
    }
    assert given_arguments["email"] == email
    assert given_arguments["kyc"]["address"]["city"] == city
    assert list(given_arguments) == ["email", "address", "kyc"]


# -- requests built as the Tokensoft SDK builds them -------------------------------------


def sdk_post(url: str, body: str) -> httpx2.Response:
    """POST ``body`` as the SDK's ``sendRequest`` does: the server's ``{ time }`` first
    (``JSON.stringify({query: '{ time }'})``), then hex HMAC-SHA256 of time + body."""
    time_answer = httpx2.post(
        url, content=b'{"query":"{ time }"}', headers={"Content-Type": "application/json"}
    )
    server_time = str(time_answer.json()["data"]["time"])
    signature = hmac.new(SECRET.encode(), (server_time + body).encode(), hashlib.sha256).hexdigest()
    headers = {
        "access-key": KEY,
        "access-sign": signature,
        "access-timestamp": server_time,
        "Content-Type": "application/json",
    }
    return httpx2.post(url, content=body.encode(), headers=headers)


def json_stringify(value: object) -> str:
    """``JSON.stringify`` of plain strings and objects: compact, non-ASCII as is."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def sdk_authorize_body(email: str, wallet: str, closing: str) -> str:
    """The SDK's ``authorizeUser`` document, laid out as its template lays it out;
    ``closing`` is what follows the ``kyc`` object before ``)``."""
    kyc = KYC_SENT
    home = kyc["address"]
    assert isinstance(home, dict)
    query = f"""mutation {{
                whitelistUser(
                    email: "{email}",
                    address: "{wallet}",
                    kyc: {{
                        firstName: "{kyc["firstName"]}",
                        lastName: "{kyc["lastName"]}",
                        address: {{
                          streetAddress: "{home["streetAddress"]}",
                          city: "{home["city"]}",
                          state: "{home["state"]}",
                          zip: "{home["zip"]}",
                          country:"{home["country"]}"
                        }}
                      }}{closing}
                )
            }}"""
    return json_stringify({"query": query})


def test_the_sdk_s_documented_whitelisting_is_accepted(app: Starlette, url: str) -> None:
    """The README's call (its template with the braces balanced)."""
    answer = sdk_post(url, sdk_authorize_body("jay_clayton@gmail.com", WALLET, ""))
    assert answer.status_code == 200
    assert answer.json() == {
        "data": {"whitelistUser": transaction("jay_clayton@gmail.com", WALLET)}
    }
    assert whitelisted(app)[-1] == Whitelisted(KEY, "jay_clayton@gmail.com", WALLET, KYC_SENT)


def test_the_sdk_s_older_two_argument_whitelisting_is_accepted(app: Starlette, url: str) -> None:
    query = f"""mutation {{
                whitelistUser(
                    email: "older@example.com",
                    address: "{WALLET}"
                )
            }}"""
    answer = sdk_post(url, json_stringify({"query": query}))
    assert answer.json() == {"data": {"whitelistUser": transaction("older@example.com", WALLET)}}
    assert whitelisted(app)[-1] == Whitelisted(KEY, "older@example.com", WALLET, None)


def test_the_sdk_s_published_template_is_a_syntax_error(app: Starlette, url: str) -> None:
    """The SDK's ``authorizeUser`` source closes one brace too many after ``kyc``: a
    GraphQL server refuses the document, and nothing is whitelisted."""
    before = len(whitelisted(app))
    closing = "\n                    }"
    answer = sdk_post(url, sdk_authorize_body("stray@example.com", WALLET, closing))
    assert answer.status_code == 200
    (error,) = answer.json()["errors"]
    assert error["message"].startswith("Syntax Error")
    assert "data" not in answer.json()
    assert len(whitelisted(app)) == before
