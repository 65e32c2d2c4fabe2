"""Checking and shaping the parameters of Tokenpass calls before anything is sent."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl

from tca_gate._compile import compile_rule
from tca_gate._expr import looks_like_expression
from tca_gate._rule import Rule

#: Rule sources ``check_token_access`` accepts.
RuleParams = Rule | str | Mapping[str, str | int]

#: Parameters that are credentials, never part of a rule stack.
RESERVED = frozenset({"oauth_token", "client_id", "client_secret", "access_token"})


def rule_pairs(rules: RuleParams) -> list[tuple[str, str]]:
    """A rule as the query pairs Tokenpass reads: a Rule's canonical stack, or as given.

    >>> rule_pairs("LTBCOIN=10000&LTBSTAFF=1&stackop_1=OR")
    [('LTBCOIN', '10000'), ('LTBSTAFF', '1'), ('stackop_1', 'OR')]
    >>> rule_pairs("LTBCOIN >= 10000 or LTBSTAFF >= 1")
    [('LTBCOIN', '10000'), ('LTBSTAFF', '1'), ('stackop_1', 'OR')]
    """
    if isinstance(rules, Rule):
        pairs = rules.to_pairs()
    elif isinstance(rules, str):
        text = rules.strip().lstrip("?")
        if looks_like_expression(text):
            pairs = compile_rule(text).to_pairs()
        else:
            pairs = parse_qsl(text, keep_blank_values=True)
    elif isinstance(rules, Mapping):
        pairs = [(key, _rule_value(key, value)) for key, value in rules.items()]
    else:
        raise TypeError(
            f"rules must be a Rule, a query string or a mapping, not {type(rules).__name__}"
        )
    if not pairs:
        raise ValueError("the rule is empty: name at least one asset")
    for key, _ in pairs:
        if not isinstance(key, str) or not key:
            raise ValueError(f"rule keys must be non-empty strings, not {key!r}")
        if key.lower() in RESERVED:
            raise ValueError(f"{key!r} is a credential, not part of a rule; pass it separately")
    return pairs


def _rule_value(key: object, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"the rule's {key!r} must be a str or int, not {type(value).__name__}")
    return str(value)


def text(name: str, value: object) -> str:
    """A required, non-empty string parameter."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, not {value!r}")
    return value


def amount(name: str, value: object, *, positive: bool = True) -> int:
    """An amount in base units: an int (never a float or bool), above zero when ``positive``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{name} must be an int in base units (1 token = 10^8), not {type(value).__name__}"
        )
    if positive and value <= 0:
        raise ValueError(f"{name} must be above zero, not {value}")
    return value


def some(**params: object) -> dict[str, object]:
    """The parameters that were given (``None`` means leave out)."""
    return {key: value for key, value in params.items() if value is not None}


def addresses(name: str, values: Iterable[str]) -> list[str]:
    """A list of addresses (a lone string is refused: it would be read as its characters)."""
    if isinstance(values, str):
        raise TypeError(f"{name} must be a list of addresses, not one string")
    found = [text(f"{name}[{index}]", value) for index, value in enumerate(values)]
    if not found:
        raise ValueError(f"{name} must not be empty")
    return found
