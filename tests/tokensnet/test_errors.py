"""Every Tokens.net error code maps to its own error; malformed answers are refused.

The emulator under uvicorn answers the codes a real call can provoke; the mapping of
every documented code, and the reading of odd answers, is unit-tested on
``httpx2.MockTransport``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx2
import pytest

from tca_gate.errors import (
    AuthenticationError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from tca_gate.signing.tokensnet import REASONS
from tca_gate.tokensnet import (
    ApiKeyMissingError,
    AsyncTokensNetClient,
    InvalidApiKeyError,
    InvalidCurrencyError,
    InvalidOrderIdError,
    InvalidParameterError,
    InvalidSignatureError,
    InvalidTradingPairError,
    NonceMissingError,
    NonceNotIntegerError,
    NonceTooLowError,
    OrderNotOpenError,
    RetryPolicy,
    SignatureMissingError,
    TokensNetClient,
    TokensNetError,
    TokensNetRateLimitError,
)
from tca_gate.tokensnet.testing import TokensNetEmulator
from tests.support.servers import serve

KEY, SECRET = "errors-key", "errors-secret"

CODES: dict[int, tuple[type[TokensNetError], type[Exception]]] = {
    100: (ApiKeyMissingError, AuthenticationError),
    101: (NonceMissingError, AuthenticationError),
    102: (SignatureMissingError, AuthenticationError),
    110: (NonceNotIntegerError, AuthenticationError),
    111: (NonceTooLowError, AuthenticationError),
    120: (InvalidApiKeyError, AuthenticationError),
    121: (InvalidSignatureError, AuthenticationError),
    130: (InvalidTradingPairError, InvalidRequestError),
    131: (InvalidOrderIdError, NotFoundError),
    140: (OrderNotOpenError, InvalidRequestError),
    150: (InvalidParameterError, InvalidRequestError),
    160: (InvalidCurrencyError, InvalidRequestError),
    429: (TokensNetRateLimitError, RateLimitError),
}


def answering(status: int, body: bytes) -> httpx2.MockTransport:
    return httpx2.MockTransport(lambda request: httpx2.Response(status, content=body))


def error_answer(code: int, reason: str) -> bytes:
    return json.dumps(
        {"timestamp": 1, "status": "error", "errorCode": code, "reason": reason}
    ).encode()


def test_every_documented_code_has_its_own_class() -> None:
    assert set(CODES) == set(REASONS)
    assert len({cls for cls, _ in CODES.values()}) == len(CODES)


@pytest.mark.parametrize("status", [200, 400])
@pytest.mark.parametrize("code", sorted(CODES))
def test_each_code_raises_its_error_sync(code: int, status: int) -> None:
    cls, kind = CODES[code]
    transport = answering(status, error_answer(code, REASONS[code]))
    with (
        TokensNetClient(KEY, SECRET, transport=transport, retries=0, nonce_retries=0) as client,
        pytest.raises(cls) as raised,
    ):
        client.balance("btc")
    assert isinstance(raised.value, kind)
    assert (raised.value.error_code, raised.value.reason, raised.value.code) == (
        code,
        REASONS[code],
        str(code),
    )
    assert raised.value.status == status
    assert f"error {code}" in str(raised.value)


@pytest.mark.parametrize("code", sorted(CODES))
def test_each_code_raises_its_error_async(code: int) -> None:
    cls, _ = CODES[code]

    async def call() -> None:
        async with AsyncTokensNetClient(
            KEY,
            SECRET,
            transport=httpx2.MockTransport(
                lambda request: httpx2.Response(400, content=error_answer(code, REASONS[code]))
            ),
            retries=0,
            nonce_retries=0,
        ) as client:
            await client.orders()

    with pytest.raises(cls):
        asyncio.run(call())


def test_an_unknown_code_is_a_plain_tokensnet_error() -> None:
    with (
        TokensNetClient(transport=answering(400, error_answer(999, "odd"))) as client,
        pytest.raises(TokensNetError) as raised,
    ):
        client.voting()
    assert type(raised.value) is TokensNetError
    assert raised.value.error_code == 999


def test_code_150_names_the_parameter() -> None:
    reason = "Parameter price is invalid with error: too many decimals"
    with (
        TokensNetClient(KEY, SECRET, transport=answering(400, error_answer(150, reason))) as client,
        pytest.raises(InvalidParameterError) as raised,
    ):
        client.place_limit_order("btcusdt", "buy", "1", "1.123")
    assert raised.value.field == "price"


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (200, b"not json", MalformedResponseError),
        (200, b'{"status": "ok", "timestamp": 1, "bid": NaN}', MalformedResponseError),
        (200, b'{"status": "ok", "timestamp": 1, "trades": [{"id": 1}]}', MalformedResponseError),
        (502, b"<html>bad gateway</html>", ServerError),
    ],
)
def test_odd_answers(status: int, body: bytes, error: type[Exception]) -> None:
    with (
        TokensNetClient(transport=answering(status, body), retries=0) as client,
        pytest.raises(error),
    ):
        client.trades_minute("btcusdt")


def test_json_numbers_are_read_as_exact_decimals() -> None:
    body = (
        b'{"status": "ok", "timestamp": 1, "total": 0.1, "available": 0.30000000000000004,'
        b' "currency": "BTC"}'
    )
    with TokensNetClient(KEY, SECRET, transport=answering(200, body)) as client:
        balance = client.balance("btc")
    assert balance.total == Decimal("0.1")
    assert balance.available == Decimal("0.30000000000000004")


def test_balance_all_reads_a_list_or_an_object_keyed_by_currency() -> None:
    listed = (
        b'{"status": "ok", "timestamp": 1, "balances": [{"currency": "BTC", "total": 0.1,'
        b' "available": "0.05"}]}'
    )
    keyed = (
        b'{"status": "ok", "timestamp": 1, "balances": {"BTC": {"total": 0.1,'
        b' "available": "0.05"}}}'
    )
    for body in (listed, keyed):
        with TokensNetClient(KEY, SECRET, transport=answering(200, body)) as client:
            (btc,) = client.balance_all().balances
        assert (btc.currency, btc.total, btc.available) == ("BTC", Decimal("0.1"), Decimal("0.05"))


@pytest.mark.parametrize(
    ("balances", "field"),
    [
        (b'[{"currency": "BTC", "total": "x", "available": "1"}]', "balances[0].total"),
        (b'[{"total": "1", "available": "1"}]', "balances[0].currency"),
        (b'{"BTC": {"currency": "ETH", "total": "1", "available": "1"}}', "balances.BTC.currency"),
        (b'{"BTC": {"total": "1"}}', "balances.BTC.available"),
        (b'"BTC"', "balances"),
    ],
)
def test_a_malformed_balance_list_is_refused(balances: bytes, field: str) -> None:
    body = b'{"status": "ok", "timestamp": 1, "balances": ' + balances + b"}"
    with (
        TokensNetClient(KEY, SECRET, transport=answering(200, body)) as client,
        pytest.raises(MalformedResponseError) as raised,
    ):
        client.balance_all()
    assert raised.value.field == field


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[TokensNetEmulator, str]]:
    emulator = TokensNetEmulator({KEY: SECRET})
    with serve(emulator) as url:
        yield emulator, url


Call = Callable[[TokensNetClient], Any]


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda c: c.ticker("dogeusd"), InvalidTradingPairError),
        (lambda c: c.orders_for_pair("dogeusd"), InvalidTradingPairError),
        (lambda c: c.order(str(uuid.uuid4())), InvalidOrderIdError),
        (lambda c: c.cancel_order(str(uuid.uuid4())), InvalidOrderIdError),
        (lambda c: c.place_limit_order("btcusdt", "buy", "0.0001", "1"), InvalidParameterError),
        (lambda c: c.balance("doge"), InvalidCurrencyError),
    ],
)
def test_the_emulator_provokes_each_code(
    served: tuple[TokensNetEmulator, str], call: Call, error: type[Exception]
) -> None:
    _, url = served
    with TokensNetClient(KEY, SECRET, base_url=url) as client, pytest.raises(error):
        call(client)


def test_canceling_twice_is_error_140(served: tuple[TokensNetEmulator, str]) -> None:
    _, url = served
    with TokensNetClient(KEY, SECRET, base_url=url) as client:
        placed = client.place_limit_order("btcusdt", "sell", "1", "2")
        client.cancel_order(placed.order_id)
        with pytest.raises(OrderNotOpenError, match="Only opened orders can be canceled"):
            client.cancel_order(placed.order_id)


def test_wrong_credentials_are_120_and_121(served: tuple[TokensNetEmulator, str]) -> None:
    _, url = served
    with (
        TokensNetClient("nobody", SECRET, base_url=url) as stranger,
        pytest.raises(InvalidApiKeyError),
    ):
        stranger.orders()
    with (
        TokensNetClient(KEY, "wrong", base_url=url) as forger,
        pytest.raises(InvalidSignatureError),
    ):
        forger.orders()


def test_429_past_the_retries_is_raised(served: tuple[TokensNetEmulator, str]) -> None:
    emulator, url = served
    policy = RetryPolicy(retries=1, wait_initial=0, wait_jitter=0)
    emulator.rate_limit(2)
    with TokensNetClient(base_url=url, retries=policy) as client:
        with pytest.raises(TokensNetRateLimitError) as raised:
            client.voting()
        assert raised.value.status == 429
        assert client.voting().candidates[0].currency == "ADA"
