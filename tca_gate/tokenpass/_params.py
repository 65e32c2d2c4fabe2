"""The rule a Tokenpass ``tca/check`` call sends: a ``Rule``, a query string or a mapping."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl

from tca_gate.errors import InvalidArgumentError
from tca_gate.rules import Rule, compile_rule, looks_like_expression

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
        raise InvalidArgumentError(
            f"rules must be a Rule, a query string or a mapping, not {type(rules).__name__}"
        )
    if not pairs:
        raise InvalidArgumentError("the rule is empty: name at least one asset")
    for key, _ in pairs:
        if not isinstance(key, str) or not key:
            raise InvalidArgumentError(f"rule keys must be non-empty strings, not {key!r}")
        if key.lower() in RESERVED:
            raise InvalidArgumentError(
                f"{key!r} is a credential, not part of a rule; pass it separately"
            )
    return pairs


def _rule_value(key: object, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidArgumentError(
            f"the rule's {key!r} must be a str or int, not {type(value).__name__}"
        )
    return str(value)
