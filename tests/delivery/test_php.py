"""Requests built the way the official PHP client builds them, against the emulator over loopback.

``OfficialClient`` rebuilds what tokenly/delivery-client's ``Client`` sends (read for its
algorithm only): each method's parameters as ``Client.php`` gathers them; api-client's
``TokenlyAPI::fetchFromAPI`` sends a GET's and a DELETE's parameters in the query and
any other's as ``json_encode`` writes them (slashes escaped), with no body when there
are none; hmac-auth's ``Generator::addSignatureToHeadersArray`` signs the parameters as
given, with ``JSON_UNESCAPED_SLASHES | JSON_FORCE_OBJECT`` (lists become objects keyed
"0", "1", ...; ``[]`` becomes ``{}``). Signatures come from the project's
``sign_tokenly_request`` over those parameters (a GET's through ``tokenly_signature``,
since our signer signs every GET over ``{}``); errors are read as ``TokenlyAPI`` reads them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

import httpx2
import pytest

from tca_gate import sign_tokenly_request
from tca_gate.delivery.testing import DeliveryEmulator
from tca_gate.signing.tokenly._scheme import (
    API_TOKEN_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    params_json,
    tokenly_signature,
)
from tca_gate.wire.urls import signing_url
from tests.support.servers import serve

TOKEN, SECRET = "Tphp-client", "Kphp-client-secret"
BOB_ADDRESS = "1AAAA1111xxxxxxxxxxxxxxxxxxy43CZ9j"
SWEEP = "1BBBB2222xxxxxxxxxxxxxxxxxxy43CZ9j"


def force_object(value: object) -> object:
    """``value`` as ``JSON_FORCE_OBJECT`` encodes it: every list an object keyed by index."""
    if isinstance(value, list):
        value = {str(index): item for index, item in enumerate(value)}
    if isinstance(value, dict):
        return {key: force_object(item) for key, item in value.items()}
    return value


def php_json(value: object) -> str:
    """``json_encode($value)`` with PHP's default flags: compact, slashes and non-ASCII escaped."""
    return json.dumps(value, separators=(",", ":")).replace("/", "\\/")


def php_error(answer: httpx2.Response) -> str | None:
    """The message ``TokenlyAPI`` throws for an answer: ``error``, else ``message`` when
    there are ``errors`` (else those joined), else for a bad status a generic one."""
    body = answer.json()
    if isinstance(body, dict) and "error" in body:
        return str(body["error"])
    if isinstance(body, dict) and "errors" in body:
        if "message" in body:
            return str(body["message"])
        errors = body["errors"]
        return ", ".join(errors) if isinstance(errors, list) else str(errors)
    if answer.status_code >= 400:
        return f"Received bad status code: {answer.status_code}"
    return None


class OfficialClient:
    """The requests of tokenly/delivery-client's ``Client``, method by method."""

    def __init__(self, base_url: str, api_token: str = TOKEN, secret: str = SECRET) -> None:
        self.base_url = base_url
        self.api_token = api_token
        self.secret = secret
        self.http = httpx2.Client(timeout=10)

    def call(self, method: str, path: str, parameters: Mapping[str, Any] | None = None) -> Any:
        """``newAPIRequest``: the answer's JSON, or ``PhpError`` with ``TokenlyAPI``'s message."""
        answer = self.send(method, path, parameters)
        message = php_error(answer)
        if message is not None:
            raise PhpError(answer.status_code, message)
        return answer.json()

    def send(
        self, method: str, path: str, parameters: Mapping[str, Any] | None = None
    ) -> httpx2.Response:
        """The request ``fetchFromAPI`` makes, signed as ``addSignatureToHeadersArray`` signs."""
        url = f"{self.base_url}/api/v1{path}"
        params = dict(parameters or {})
        signed = force_object(params)
        assert isinstance(signed, dict)
        if method == "GET":
            nonce = int(time.time())
            text = params_json(signed)
            message = f"GET\n{signing_url(url)}\n{text}\n{self.api_token}\n{nonce}"
            headers = {
                API_TOKEN_HEADER.upper(): self.api_token,
                NONCE_HEADER.upper(): str(nonce),
                SIGNATURE_HEADER.upper(): tokenly_signature(message, self.secret),
            }
        else:
            headers = sign_tokenly_request(method, url, signed, self.api_token, self.secret)
            headers["Content-Type"] = "application/json"
            headers["Accept"] = "application/json"
        content = None
        if params and method in ("GET", "DELETE"):
            # the Requests library puts a GET's and a DELETE's data in the query
            url = f"{url}?{urlencode({k: php_query_value(v) for k, v in params.items()})}"
        elif params:
            content = php_json(params).encode()
        return self.http.request(method, url, content=content, headers=headers)

    # -- Client.php's methods, parameters gathered as it gathers them --------------------

    def new_source_address(
        self,
        label: str,
        type_: str,
        webhook: str | None = None,
        join_callback: str | None = None,
        auto_fulfill: bool = True,
    ) -> Any:
        data = {
            "label": label,
            "type": type_,
            "webhook": webhook,
            "join_callback": join_callback,
            "auto_fulfill": auto_fulfill,
        }
        return self.call("POST", "/source", data)

    def shutdown_source_address(self, uuid: str, sweep_address: str) -> Any:
        return self.call("DELETE", f"/source/{uuid}", {"sweep_address": sweep_address})

    def new_delivery(
        self,
        source: str,
        destination: str,
        token: str,
        quantity: int,
        *,
        delivery_date: int | None = None,
        extra_opts: Mapping[str, Any] | None = None,
    ) -> Any:
        data: dict[str, Any] = {
            "source": source,
            "destination": destination,
            "token": token,
            "quantity": quantity,
            "delivery_date": delivery_date,  # always sent, null when not given
        }
        extra = extra_opts or {}
        for flag in ("pseudo", "hold_promise"):
            if extra.get(flag):
                data[flag] = True
        if extra.get("ref_data") is not None:
            data["ref_data"] = extra["ref_data"]
        return self.call("POST", "/delivery", data)

    def get_delivery(self, uuid: str) -> Any:
        return self.call("GET", f"/delivery/{uuid}")

    def get_delivery_list(self, filters: Mapping[str, Any]) -> Any:
        valid = ("source", "token", "destination", "show_complete")
        return self.call("GET", "/delivery", {k: filters[k] for k in valid if k in filters})

    def update_delivery(self, uuid: str, data: Mapping[str, Any]) -> Any:
        valid = ("quantity", "delivery_date", "ref_data", "ready")
        use = {key: data[key] for key in valid if data.get(key) is not None}  # PHP's isset
        return self.call("PATCH", f"/delivery/{uuid}", use)

    def mark_ready(self, uuid: str) -> Any:
        return self.call("PATCH", f"/delivery/{uuid}", {"ready": True})

    def cancel_delivery(self, uuid: str) -> Any:
        return self.call("DELETE", f"/delivery/{uuid}")

    def fulfill_single_delivery(self, uuid: str) -> Any:
        return self.call("POST", f"/fulfillment/single/{uuid}")

    def fulfill_multiple_deliveries(self, source: str, filters: Mapping[str, Any]) -> Any:
        params = {"tokens": filters["tokens"]} if filters.get("tokens") is not None else {}
        return self.call("POST", f"/fulfillment/multiple/{source}", params)

    def create_issuance(
        self, source: str, quantity: int, asset: str, divisible: bool, description: str = ""
    ) -> Any:
        body = {
            "quantity": quantity,
            "asset": asset,
            "divisible": divisible,
            "description": description,
        }
        return self.call("POST", f"/issuance/{source}", body)


def php_query_value(value: object) -> str:
    """A query value as ``http_build_query`` writes it (``true`` is ``1``)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


class PhpError(Exception):
    """What ``TokenlyAPI`` throws: ``APIException($message, $status)``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[DeliveryEmulator, str]]:
    emulator = DeliveryEmulator({TOKEN: SECRET})
    with serve(emulator) as url:
        yield emulator, url


@pytest.fixture
def php(served: tuple[DeliveryEmulator, str]) -> Iterator[OfficialClient]:
    client = OfficialClient(served[1])
    yield client
    client.http.close()


def funded_source(php: OfficialClient, emulator: DeliveryEmulator, **tokens: int) -> str:
    """A source address made by the official client, holding ``tokens``."""
    source = php.new_source_address(
        "Game Fountain", "2:3", "http://app.example/tx", "http://app.example/joined"
    )
    for token, quantity in tokens.items():
        emulator.fund(source["id"], token, quantity)
    return str(source["id"])


def test_a_source_address_with_urls_escaped_in_the_body(
    php: OfficialClient, served: tuple[DeliveryEmulator, str]
) -> None:
    """The body says ``http:\\/\\/app...`` while the signature covers ``http://app...``."""
    emulator, _ = served
    source = funded_source(php, emulator)
    stored = emulator.sources[source]
    assert (stored["webhook"], stored["joinCallback"]) == (
        "http://app.example/tx",
        "http://app.example/joined",
    )
    assert stored["autoFulfill"] is True


def test_deliveries_created_read_listed_and_updated_as_the_official_client_does(
    php: OfficialClient, served: tuple[DeliveryEmulator, str]
) -> None:
    emulator, _ = served
    source = funded_source(php, emulator, SOUP=1000)
    # newDelivery always sends delivery_date: null is accepted for a username
    to_user = php.new_delivery(source, "user:bob", "SOUP", 100)
    assert (to_user["destination"], to_user["deliveryDate"]) == ("user:bob", None)
    dated = php.new_delivery(
        source,
        BOB_ADDRESS,
        "SOUP",
        200,
        delivery_date=1_900_000_000,
        extra_opts={"ref_data": "order/7", "pseudo": False},
    )
    assert dated["refData"] == "order/7"
    assert dated["deliveryDate"] == "2030-03-17T17:46:40+0000"
    assert php.get_delivery(dated["id"]) == dated

    # a GET signed over its query's JSON, as every official signer signs it
    listed = php.get_delivery_list({"source": source, "token": "SOUP", "destination": BOB_ADDRESS})
    assert [item["id"] for item in listed["items"]] == [dated["id"]]

    with pytest.raises(PhpError) as refused:
        php.update_delivery(dated["id"], {"quantity": 901})
    assert refused.value.status == 422
    assert "does not hold enough SOUP" in str(refused.value)
    assert php.update_delivery(dated["id"], {"quantity": 900, "ref_data": None})["quantity"] == 900
    with pytest.raises(PhpError, match="delivery_date is not allowed") as dated_user:
        php.update_delivery(to_user["id"], {"delivery_date": 1_900_000_000})
    assert dated_user.value.status == 422


def test_ready_fulfilled_and_cancelled_as_the_official_client_does(
    php: OfficialClient, served: tuple[DeliveryEmulator, str]
) -> None:
    emulator, _ = served
    source = funded_source(php, emulator, SOUP=1000)
    one = php.new_delivery(source, BOB_ADDRESS, "SOUP", 10)
    two = php.new_delivery(source, BOB_ADDRESS, "SOUP", 10)
    assert php.mark_ready(one["id"])["state"] == 1
    assert php.fulfill_single_delivery(one["id"]) == {"result": True}  # no body at all
    assert php.get_delivery(one["id"])["state"] == 2
    assert php.cancel_delivery(two["id"]) == {"result": True}  # a DELETE signed over {}
    with pytest.raises(PhpError) as gone:
        php.get_delivery(two["id"])
    assert gone.value.status == 404


@pytest.mark.parametrize(
    ("filters", "sent"),
    [
        pytest.param({}, {"MYCOIN", "YOURCOIN", "THEIRCOIN"}, id="no-filter-no-body"),
        pytest.param({"tokens": "all"}, {"MYCOIN", "YOURCOIN", "THEIRCOIN"}, id="all"),
        pytest.param({"tokens": []}, {"MYCOIN", "YOURCOIN", "THEIRCOIN"}, id="empty-list"),
        pytest.param({"tokens": "YOURCOIN"}, {"YOURCOIN"}, id="one-name"),
        pytest.param({"tokens": ["MYCOIN", "THEIRCOIN"]}, {"MYCOIN", "THEIRCOIN"}, id="list"),
    ],
)
def test_fulfill_multiple_with_each_form_of_tokens_the_official_client_sends(
    php: OfficialClient,
    served: tuple[DeliveryEmulator, str],
    filters: dict[str, Any],
    sent: set[str],
) -> None:
    """A list is signed as ``{"tokens":{"0":...}}`` and an empty one as ``{"tokens":{}}``."""
    emulator, _ = served
    tokens = ("MYCOIN", "YOURCOIN", "THEIRCOIN")
    source = funded_source(php, emulator, **dict.fromkeys(tokens, 100))
    made = {token: php.new_delivery(source, BOB_ADDRESS, token, 10)["id"] for token in tokens}
    for key in made.values():
        php.mark_ready(key)
    assert php.fulfill_multiple_deliveries(source, filters) == {"result": True}
    states = {token: php.get_delivery(key)["state"] for token, key in made.items()}
    assert {token for token, state in states.items() if state == 2} == sent


def test_shutdown_with_the_sweep_address_in_the_query(
    php: OfficialClient, served: tuple[DeliveryEmulator, str]
) -> None:
    emulator, _ = served
    source = funded_source(php, emulator, SOUP=5)
    assert php.shutdown_source_address(source, SWEEP) == {"result": True}
    assert emulator.sweeps[source] == SWEEP
    assert source not in emulator.sources


def test_an_issuance_as_the_official_client_proposes_it(
    php: OfficialClient, served: tuple[DeliveryEmulator, str]
) -> None:
    emulator, _ = served
    source = funded_source(php, emulator)
    issued = php.create_issuance(source, 50_00000000, "MYNEWTOKEN", True, "About my new token")
    assert (issued["asset"], issued["quantity"]) == ("MYNEWTOKEN", 5000000000)


def test_a_wrong_secret_is_403_with_a_message_the_official_client_shows(
    served: tuple[DeliveryEmulator, str],
) -> None:
    _, url = served
    wrong = OfficialClient(url, TOKEN, "not-the-secret")
    try:
        answer = wrong.send("GET", "/source")
    finally:
        wrong.http.close()
    assert answer.status_code == 403
    assert answer.json() == {
        "message": "the signature does not match the request",
        "errors": ["the signature does not match the request"],
    }
    assert php_error(answer) == "the signature does not match the request"
