"""Tokensoft's wire format: the GraphQL body as sent, the ``{ time }`` query and the signature.

``access-sign`` is hex HMAC-SHA256(secret, timestamp + body), where body is the exact
JSON text sent and the timestamp the server's own time in epoch milliseconds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from decimal import Decimal

from tca_gate.errors import InvalidArgumentError

SERVICE = "Tokensoft"

KEY_HEADER = "access-key"
SIGN_HEADER = "access-sign"
TIMESTAMP_HEADER = "access-timestamp"

#: The unauthenticated query for the server's time (epoch milliseconds).
TIME_QUERY = "{ time }"

#: GraphQL's ignored tokens but comments: white space (tab, space), line terminators,
#: commas and the byte order mark. A comment is not let through: it would carry text past
#: the check, unsigned, to whatever reads the document next.
_IGNORED = r"[\t \n\r,\ufeff]*"

#: The ``time`` query, exactly: ``{ time }``, with or without the ``query`` keyword.
_TIME_DOCUMENT = re.compile(
    rf"{_IGNORED}(?:query{_IGNORED})?\{{{_IGNORED}time{_IGNORED}\}}{_IGNORED}"
)

#: A document with a ``mutation`` anywhere is treated as one (so never retried).
_MUTATION = re.compile(r"\bmutation\b")


def tokensoft_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``timestamp`` followed by ``body``, keyed by ``secret``.

    >>> tokensoft_signature("s3cret", "1700000000000", b'{"query":"{ currentUser { id } }"}')[:16]
    '166b4f9cd385b2e5'
    """
    message = timestamp.encode("utf-8") + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def graphql_body(
    document: str,
    variables: Mapping[str, object] | None = None,
    operation_name: str | None = None,
) -> bytes:
    """The JSON text sent (and signed): ``query``, then ``variables`` and ``operationName``.

    Variables are exact: a ``Decimal`` is sent as its decimal string, a float is refused.

    >>> graphql_body("query($p: String!) { price(id: $p) }", {"p": "x", "n": Decimal("1.50")})
    b'{"query":"query($p: String!) { price(id: $p) }","variables":{"p":"x","n":"1.50"}}'
    """
    if not isinstance(document, str) or not document.strip():
        raise InvalidArgumentError("document must be a non-empty GraphQL document (a str)")
    payload: dict[str, object] = {"query": document}
    if variables is not None:
        if not isinstance(variables, Mapping):
            raise InvalidArgumentError(
                f"variables must be a mapping of names to values, not {type(variables).__name__}"
            )
        payload["variables"] = _exact(dict(variables), "variables")
    if operation_name is not None:
        if not isinstance(operation_name, str) or not operation_name:
            raise InvalidArgumentError("operation_name must be a non-empty str")
        payload["operationName"] = operation_name
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _exact(value: object, where: str) -> object:
    """``value`` with every ``Decimal`` made its string; a float (inexact) is refused."""
    if isinstance(value, float):
        raise InvalidArgumentError(
            f"{where} is a float; pass a Decimal, int or str so the number stays exact"
        )
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidArgumentError(f"{where} must be a finite number, not {value}")
        return str(value)
    if isinstance(value, Mapping):
        for key in value:
            if not isinstance(key, str):
                raise InvalidArgumentError(f"{where} has a key that is not a str: {key!r}")
        return {key: _exact(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_exact(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if value is None or isinstance(value, (str, int, bool)):
        return value
    raise InvalidArgumentError(f"{where} cannot be sent as JSON: {type(value).__name__}")


def graphql_string(value: object, where: str) -> str:
    """``value`` as a GraphQL string literal, quoted and escaped, for a document's text.

    JSON's string escapes (``\\"``, ``\\\\``, ``\\n``, ``\\uXXXX``, ...) are GraphQL's
    too, so the literal reads back as exactly ``value`` and cannot end early: no quote,
    backslash or line end in it can add arguments or fields to the document.

    >>> print(graphql_string('jay "the investor"\\n', "email"))
    "jay \\"the investor\\"\\n"
    """
    if not isinstance(value, str) or not value:
        raise InvalidArgumentError(f"{where} must be a non-empty str")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgumentError(f"{where} holds a lone surrogate, not text") from None
    return json.dumps(value, ensure_ascii=False)


def time_body() -> bytes:
    """The body of the unauthenticated ``{ time }`` query."""
    return graphql_body(TIME_QUERY)


def is_time_query(body: bytes) -> bool:
    """Whether ``body`` asks only for the server's time (so needs no signature).

    The document must be exactly ``{ time }`` (or ``query { time }``) as GraphQL reads
    it, with only white space, line ends and commas between its tokens: no other field,
    alias, argument, name, comment or second operation; no variables, no operation name,
    no other key, no key twice.

    >>> is_time_query(b'{"query": "{ time }"}')
    True
    >>> is_time_query(b'{"query":"query {\\\\n time,\\\\n}"}')
    True
    >>> is_time_query(b'{"query":"{ ti me }"}'), is_time_query(b'{"query":"{ time } # x"}')
    (False, False)
    >>> is_time_query(b'{"query":"{ time currentUser { id } }"}')
    False
    """
    try:
        parsed = json.loads(body, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError):
        return False
    if not isinstance(parsed, dict) or set(parsed) - {"query", "variables", "operationName"}:
        return False
    if parsed.get("variables") not in (None, {}) or parsed.get("operationName") is not None:
        return False
    query = parsed.get("query")
    return isinstance(query, str) and _TIME_DOCUMENT.fullmatch(query) is not None


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object's members, refusing a key given twice (readers differ on which wins)."""
    members = dict(pairs)
    if len(members) != len(pairs):
        raise ValueError("a key is given twice")
    return members


def is_mutation(document: str) -> bool:
    """Whether ``document`` may change something (it says ``mutation`` anywhere).

    >>> is_mutation("mutation { whitelistUser(accountId: 1) }"), is_mutation("{ time }")
    (True, False)
    """
    return _MUTATION.search(document) is not None


#: A server time given as text: epoch milliseconds in digits.
_DIGITS = re.compile(r"[0-9]{1,20}")


def time_value(value: object) -> int | None:
    """The epoch milliseconds a ``{ time }`` answer's ``time`` gives (a non-negative JSON
    integer or digit string); ``None`` for anything else.

    >>> time_value(1700000000123), time_value("1700000000123"), time_value(True), time_value(-1)
    (1700000000123, 1700000000123, None, None)
    """
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value
