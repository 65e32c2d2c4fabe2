"""Bitcoin P2PKH addresses and signed messages: how the sandbox checks proof of address
ownership, and how "Sign in with a wallet" checks a signed challenge.

A signed message is the standard one (Bitcoin Core ``signmessage``, Electrum, BIP-137):
``base64(header || r || s)`` over ``sha256d("\\x18Bitcoin Signed Message:\\n" || varint(len) ||
message)``, where ``header = 27 + recovery id (+ 4 for a compressed public key)``. Only P2PKH
addresses are accepted, mainnet (version 0x00) and testnet (0x6f); P2SH and bech32 addresses,
and the BIP-137 segwit headers 35-42, are refused. The curve work is libsecp256k1's, via coincurve.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from tca_gate.extras import require_extra

require_extra("wallet", "coincurve", "base58", needed_by="Bitcoin signed messages")

import base58  # noqa: E402 (after the extra's check)
from coincurve import PrivateKey, PublicKey  # noqa: E402

MAINNET_P2PKH = 0x00
TESTNET_P2PKH = 0x6F
_P2PKH_VERSIONS = frozenset({MAINNET_P2PKH, TESTNET_P2PKH})

_MESSAGE_MAGIC = b"\x18Bitcoin Signed Message:\n"
_BASE58_ALPHABET = frozenset("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
_MAX_ADDRESS_LENGTH = 35  # 25 bytes never take more base58 digits than this
_COMPACT_SIGNATURE_LENGTH = 65
_HEADER_UNCOMPRESSED = 27  # 27-30 uncompressed P2PKH, 31-34 compressed P2PKH
_HEADER_COMPRESSED = 31
_HEADER_END = 35
_MAX_SIGNATURE_TEXT = 100  # 65 bytes are 88 base64 characters


def is_valid_address(address: str) -> bool:
    """Whether ``address`` is a well-formed P2PKH address, mainnet or testnet, checksum included."""
    return _address_hash(address) is not None


def is_signature_text(signature: object) -> bool:
    """Whether ``signature`` has the form of a P2PKH signed-message signature (base64 of
    65 bytes, header 27-34), so a refusal can tell a garbled paste from a wrong key."""
    compact = _decode_signature(signature)
    return compact is not None and _HEADER_UNCOMPRESSED <= compact[0] < _HEADER_END


def address_from_private_key(
    private_key: bytes, *, compressed: bool = True, testnet: bool = False
) -> str:
    """The P2PKH address of a 32-byte secp256k1 private key.

    >>> address_from_private_key((1).to_bytes(32, "big"))
    '1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH'
    """
    public_key = _private_key(private_key).public_key
    version = TESTNET_P2PKH if testnet else MAINNET_P2PKH
    return _encode_address(version, _hash160(public_key.format(compressed=compressed)))


def sign_message(private_key: bytes, message: str, *, compressed: bool = True) -> str:
    """Sign ``message`` as Bitcoin Core's ``signmessagewithprivkey`` does (deterministic nonce)."""
    key = _private_key(private_key)
    recoverable = key.sign_recoverable(_message_digest(message), hasher=None)
    r_and_s, recovery_id = recoverable[:64], recoverable[64]
    header = (_HEADER_COMPRESSED if compressed else _HEADER_UNCOMPRESSED) + recovery_id
    return base64.b64encode(bytes([header]) + r_and_s).decode("ascii")


def verify_message(address: str, message: str, signature: str) -> bool:
    """Whether ``signature`` proves that the key behind the P2PKH ``address`` signed ``message``.

    False, never an exception, for anything that is not such a proof.
    """
    expected_hash = _address_hash(address)
    if expected_hash is None or not isinstance(message, str):
        return False
    compact = _decode_signature(signature)
    if compact is None:
        return False
    header = compact[0]
    if not _HEADER_UNCOMPRESSED <= header < _HEADER_END:
        return False
    recovery_id = (header - _HEADER_UNCOMPRESSED) & 3
    compressed = header >= _HEADER_COMPRESSED
    try:  # ValueError: no key recovers, or the message has lone surrogates UTF-8 cannot encode
        public_key = PublicKey.from_signature_and_message(
            compact[1:] + bytes([recovery_id]), _message_digest(message), hasher=None
        )
    except ValueError:
        return False
    return _hash160(public_key.format(compressed=compressed)) == expected_hash


def _private_key(private_key: bytes) -> PrivateKey:
    if not isinstance(private_key, bytes) or len(private_key) != 32:
        raise ValueError("a Bitcoin private key must be exactly 32 bytes")
    try:
        return PrivateKey(private_key)
    except ValueError:
        raise ValueError(
            "a Bitcoin private key must be a number from 1 to the secp256k1 group order - 1"
        ) from None


def _address_hash(address: object) -> bytes | None:
    """The 20-byte public-key hash inside a valid P2PKH address, or None."""
    if (
        not isinstance(address, str)
        or not 0 < len(address) <= _MAX_ADDRESS_LENGTH
        or not _BASE58_ALPHABET.issuperset(address)
    ):
        return None
    try:
        payload = base58.b58decode_check(address)
    except ValueError:
        return None
    if len(payload) != 21 or payload[0] not in _P2PKH_VERSIONS:
        return None
    return payload[1:]


def _decode_signature(signature: object) -> bytes | None:
    if not isinstance(signature, str) or len(signature) > _MAX_SIGNATURE_TEXT:
        return None
    try:
        compact = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return None
    return compact if len(compact) == _COMPACT_SIGNATURE_LENGTH else None


def _encode_address(version: int, key_hash: bytes) -> str:
    return base58.b58encode_check(bytes([version]) + key_hash).decode("ascii")


def _hash160(data: bytes) -> bytes:
    return hashlib.new("ripemd160", hashlib.sha256(data).digest()).digest()


def _message_digest(message: str) -> bytes:
    """sha256d of the magic prefix, the message's UTF-8 length as a CompactSize, and the message."""
    encoded = message.encode("utf-8")
    payload = _MESSAGE_MAGIC + _compact_size(len(encoded)) + encoded
    return hashlib.sha256(hashlib.sha256(payload).digest()).digest()


def _compact_size(n: int) -> bytes:
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    if n <= 0xFFFF_FFFF:
        return b"\xfe" + n.to_bytes(4, "little")
    return b"\xff" + n.to_bytes(8, "little")
