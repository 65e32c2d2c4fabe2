"""Bitcoin addresses and signed messages: published vectors, round trips, tampering, bad input."""

from __future__ import annotations

import base64
from typing import Any

import base58
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tca_gate.signing.bitcoin import (
    _compact_size,
    address_from_private_key,
    is_valid_address,
    sign_message,
    verify_message,
)
from tests.support.data import load_toml

VECTORS = load_toml("bitcoin/signed_messages.toml")
SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

# Bitcoin Core's util_tests.cpp vector, the starting point for tampering.
CORE = VECTORS["signing"][0]
CORE_SIGNATURE = base64.b64decode(CORE["signature"])
CORE_HASH = base58.b58decode_check(CORE["address"])[1:]

VALID_ADDRESSES = sorted(
    {v["address"] for v in VECTORS["signing"] + VECTORS["address"]}
    | {v["address"] for v in VECTORS["verifying"] if v["valid"]}
)


def private_key(vector: dict[str, Any]) -> bytes:
    if "wif" in vector:
        payload = base58.b58decode_check(vector["wif"])
        assert (payload[0], payload[33:]) == (0xEF, b"\x01")  # testnet WIF, compressed key
        return payload[1:33]
    return bytes.fromhex(vector["private_key_hex"])


def message(vector: dict[str, Any]) -> str:
    if "message_repeat" in vector:
        return str(vector["message_repeat"]["text"] * vector["message_repeat"]["times"])
    return str(vector["message"])


def vector_id(vector: dict[str, Any]) -> str:
    return f"{vector['source']}: {vector.get('note', vector['address'])}"


def encode(version: int, payload: bytes) -> str:
    return base58.b58encode_check(bytes([version]) + payload).decode()


def with_header(header: int, signature: bytes = CORE_SIGNATURE) -> str:
    return base64.b64encode(bytes([header]) + signature[1:]).decode()


keys = st.integers(1, SECP256K1_ORDER - 1).map(lambda n: n.to_bytes(32, "big"))


@pytest.mark.parametrize("vector", VECTORS["signing"], ids=vector_id)
def test_published_signatures_are_reproduced(vector: dict[str, Any]) -> None:
    key, text = private_key(vector), message(vector)
    address = address_from_private_key(
        key, compressed=vector["compressed"], testnet=vector["testnet"]
    )
    assert address == vector["address"]
    assert sign_message(key, text, compressed=vector["compressed"]) == vector["signature"]
    assert verify_message(address, text, vector["signature"])


@pytest.mark.parametrize("vector", VECTORS["address"], ids=vector_id)
def test_published_addresses_are_derived(vector: dict[str, Any]) -> None:
    derived = address_from_private_key(
        private_key(vector), compressed=vector["compressed"], testnet=vector["testnet"]
    )
    assert derived == vector["address"]


@pytest.mark.parametrize("vector", VECTORS["verifying"], ids=vector_id)
def test_published_signed_messages(vector: dict[str, Any]) -> None:
    assert (
        verify_message(vector["address"], message(vector), vector["signature"]) is vector["valid"]
    )


@settings(max_examples=25, deadline=None)
@given(key=keys, text=st.text(max_size=300), compressed=st.booleans(), testnet=st.booleans())
def test_sign_then_verify(key: bytes, text: str, compressed: bool, testnet: bool) -> None:
    signature = sign_message(key, text, compressed=compressed)
    address = address_from_private_key(key, compressed=compressed, testnet=testnet)
    other_form = address_from_private_key(key, compressed=not compressed, testnet=testnet)
    assert is_valid_address(address)
    assert address[0] in ("mn" if testnet else "1")
    assert verify_message(address, text, signature)
    assert not verify_message(other_form, text, signature)
    assert not verify_message(address, text + "\n", signature)


@pytest.mark.parametrize(
    ("length", "encoded"),
    [
        (0, "00"),
        (252, "fc"),
        (253, "fdfd00"),
        (0xFFFF, "fdffff"),
        (0x10000, "fe00000100"),
        (0xFFFF_FFFF, "feffffffff"),
        (0x1_0000_0000, "ff0000000001000000"),
    ],
)
def test_message_length_is_a_compact_size(length: int, encoded: str) -> None:
    assert _compact_size(length).hex() == encoded


@pytest.mark.parametrize("length", [252, 253, 0xFFFF, 0x10000])
def test_round_trip_across_compact_size_widths(length: int) -> None:
    key = private_key(CORE)
    text = "é" * (length // 2) + "x" * (length % 2)  # UTF-8 bytes, not characters, are counted
    signature = sign_message(key, text)
    assert verify_message(CORE["address"], text, signature)
    assert not verify_message(CORE["address"], text[:-1], signature)


def test_uncompressed_signature_round_trip() -> None:
    key = private_key(CORE)
    signature = sign_message(key, CORE["message"], compressed=False)
    assert 27 <= base64.b64decode(signature)[0] <= 30
    assert verify_message(
        address_from_private_key(key, compressed=False), CORE["message"], signature
    )
    assert not verify_message(CORE["address"], CORE["message"], signature)


def test_the_same_key_on_testnet_also_verifies() -> None:
    testnet_address = encode(0x6F, CORE_HASH)
    assert testnet_address.startswith(("m", "n"))
    assert verify_message(testnet_address, CORE["message"], CORE["signature"])


@pytest.mark.parametrize("index", range(1, 65))
def test_any_changed_byte_of_r_or_s_fails(index: int) -> None:
    tampered = bytearray(CORE_SIGNATURE)
    tampered[index] ^= 0x01
    assert not verify_message(
        CORE["address"], CORE["message"], base64.b64encode(bytes(tampered)).decode()
    )


@pytest.mark.parametrize("header", [h for h in range(27, 35) if h != CORE_SIGNATURE[0]])
def test_any_other_p2pkh_header_fails(header: int) -> None:
    assert not verify_message(CORE["address"], CORE["message"], with_header(header))


@pytest.mark.parametrize(
    "text", ["trust no one", "Trust no one ", "Trust no one\n", " Trust no one", "Trust no on", ""]
)
def test_a_changed_message_fails(text: str) -> None:
    assert not verify_message(CORE["address"], text, CORE["signature"])


@pytest.mark.parametrize(
    "address",
    [
        "1PMycacnJaSqwwJqjawXBErnLsZ7RkXUAs",
        encode(0x00, bytes(20)),
        encode(0x00, bytes([CORE_HASH[0] ^ 1]) + CORE_HASH[1:]),
    ],
)
def test_another_address_fails(address: str) -> None:
    assert is_valid_address(address)
    assert not verify_message(address, CORE["message"], CORE["signature"])


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param("", id="empty"),
        pytest.param("=", id="padding only"),
        pytest.param("not base64 at all!", id="not base64"),
        pytest.param(CORE["signature"].rstrip("="), id="padding missing"),
        pytest.param(CORE["signature"] + "\n", id="trailing newline"),
        pytest.param(" " + CORE["signature"], id="leading space"),
        pytest.param(CORE["signature"].replace("/", "_").replace("+", "-"), id="urlsafe alphabet"),
        pytest.param(CORE["signature"][:-4] + "ÄÄÄ=", id="non-ascii"),
        pytest.param(base64.b64encode(CORE_SIGNATURE[:64]).decode(), id="64 bytes"),
        pytest.param(base64.b64encode(CORE_SIGNATURE + b"\x00").decode(), id="66 bytes"),
        pytest.param(base64.b64encode(CORE_SIGNATURE * 100).decode(), id="very long"),
        pytest.param(with_header(0), id="header 0"),
        pytest.param(with_header(26), id="header 26"),
        pytest.param(with_header(35), id="header 35 (P2SH-P2WPKH)"),
        pytest.param(with_header(42), id="header 42 (P2WPKH)"),
        pytest.param(with_header(43), id="header 43"),
        pytest.param(with_header(255), id="header 255"),
        pytest.param(with_header(CORE_SIGNATURE[0], bytes(1) + b"\xff" * 64), id="r and s over n"),
        pytest.param(None, id="None"),
        pytest.param(CORE["signature"].encode(), id="bytes"),
    ],
)
def test_malformed_signatures_are_refused_without_raising(signature: Any) -> None:
    assert verify_message(CORE["address"], CORE["message"], signature) is False


@pytest.mark.parametrize(
    "text", [None, b"Trust no one", "\ud800 lone surrogate"], ids=["None", "bytes", "surrogate"]
)
def test_messages_that_are_not_text_are_refused_without_raising(text: Any) -> None:
    assert verify_message(CORE["address"], text, CORE["signature"]) is False


@pytest.mark.parametrize("address", VALID_ADDRESSES)
def test_published_addresses_are_valid(address: str) -> None:
    assert is_valid_address(address)


GOOD = CORE["address"]


@pytest.mark.parametrize(
    "address",
    [
        pytest.param(GOOD[:-1] + ("t" if GOOD[-1] != "t" else "u"), id="last character changed"),
        pytest.param(GOOD[:5] + GOOD[6] + GOOD[5] + GOOD[7:], id="two characters swapped"),
        pytest.param(GOOD[:-1], id="truncated"),
        pytest.param(GOOD + "1", id="extended"),
        pytest.param("3B5fQsEXEaV8v6U3ejYc8XaKXAkyQj2MjV", id="P2SH mainnet"),
        pytest.param(encode(0xC4, CORE_HASH), id="P2SH testnet"),
        pytest.param(encode(0x30, CORE_HASH), id="Litecoin version"),
        pytest.param(encode(0x80, bytes(32)), id="a WIF private key"),
        pytest.param(encode(0x00, CORE_HASH[:19]), id="19-byte hash"),
        pytest.param(encode(0x00, CORE_HASH + b"\x00"), id="21-byte hash"),
        pytest.param(base58.b58encode(b"\x00" + CORE_HASH).decode(), id="no checksum"),
        pytest.param("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", id="bech32"),
        pytest.param(GOOD[:10] + "0" + GOOD[11:], id="zero"),
        pytest.param(GOOD[:10] + "O" + GOOD[11:], id="capital O"),
        pytest.param(GOOD[:10] + "I" + GOOD[11:], id="capital I"),
        pytest.param(GOOD[:10] + "l" + GOOD[11:], id="small L"),
        pytest.param(GOOD[:10] + "１" + GOOD[11:], id="fullwidth digit"),
        pytest.param(" " + GOOD, id="leading space"),
        pytest.param(GOOD + "\n", id="trailing newline"),
        pytest.param("", id="empty"),
        pytest.param("1" * 10_000, id="very long ones"),
        pytest.param(GOOD * 300, id="very long repeat"),
        pytest.param(None, id="None"),
        pytest.param(GOOD.encode(), id="bytes"),
    ],
)
def test_invalid_addresses_are_refused(address: Any) -> None:
    assert is_valid_address(address) is False
    assert verify_message(address, CORE["message"], CORE["signature"]) is False


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        pytest.param(b"", "exactly 32 bytes", id="empty"),
        pytest.param(b"\x01" * 31, "exactly 32 bytes", id="31 bytes"),
        pytest.param(b"\x01" * 33, "exactly 32 bytes", id="33 bytes"),
        pytest.param("d97f" * 16, "exactly 32 bytes", id="hex text"),
        pytest.param(bytes(32), "from 1 to", id="zero"),
        pytest.param(SECP256K1_ORDER.to_bytes(32, "big"), "from 1 to", id="group order"),
        pytest.param(b"\xff" * 32, "from 1 to", id="2**256 - 1"),
    ],
)
def test_bad_private_keys_are_refused(key: Any, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        address_from_private_key(key)
    with pytest.raises(ValueError, match=problem):
        sign_message(key, "hello")
