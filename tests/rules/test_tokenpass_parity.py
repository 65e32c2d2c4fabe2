"""End-to-end parity: the ``tokenpass`` dialect decides exactly as the Tokenpass server did.

The vectors in ``tests/fixtures/php/decisions.json`` were made by real PHP 8.2
(no PHP is needed here): ``tests/fixtures/php/make_decisions.php`` reads each
rule query with ``parse_str`` and builds and judges clauses as the server did
(spec sections 1 and 2.1), for hand-picked quirks (``stackOp_1``, ``OP_0``,
``op_0=>stackop_1=OR``, repeated keys, odd indexes and amounts, NUL bytes, more
than 1000 parts, ...) and for queries from ``mt_rand`` with a fixed seed, each
against balance sheets aimed at the rule's amounts (equal, off by one, zero,
negative; every balance an integer below 2**53 in size). Regenerate with

    php tests/fixtures/php/make_decisions.php > tests/fixtures/php/decisions.json

which gives the same bytes on every run.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tca_gate import compile_rule
from tests.support.data import FIXTURES
from tests.support.data import php_text as text

DECISIONS: dict[str, Any] = json.loads(
    (FIXTURES / "php" / "decisions.json").read_text(encoding="utf-8")
)


def balances_of(pairs: list[list[Any]]) -> dict[str, int]:
    return {text(asset): balance for asset, balance in pairs}


RULES = [pytest.param(rule, id=f"rule-{i}") for i, rule in enumerate(DECISIONS["rules"])]


def test_vectors_are_from_php_8_2_64_bit() -> None:
    assert DECISIONS["php_version"].startswith("8.2.")
    assert DECISIONS["php_int_size"] == 8
    checks = [check for rule in DECISIONS["rules"] for check in rule["checks"]]
    assert len(checks) == DECISIONS["checks"] >= 2500
    allowed = sum(check["allowed"] for check in checks)
    assert allowed == DECISIONS["allowed"]
    assert 0.25 < allowed / len(checks) < 0.75  # both answers well exercised
    for check in checks:
        for _, balance in check["balances"]:
            assert isinstance(balance, int)
            assert abs(balance) < 2**53  # PHP compared doubles: exact only below 2**53


@pytest.mark.parametrize("rule", RULES)
def test_decisions_match_php(rule: dict[str, Any]) -> None:
    compiled = compile_rule(text(rule["query"]), dialect="tokenpass")
    wrong = []
    for check in rule["checks"]:
        balances = balances_of(check["balances"])
        got = (compiled.evaluate(balances), compiled.explain(balances).allowed)
        if got != (check["allowed"], check["allowed"]):
            wrong.append((balances, check["allowed"], got))
    assert not wrong, f"PHP vs (evaluate, explain) differ for {compiled!r}: {wrong}"


@pytest.mark.parametrize("rule", RULES)
def test_clause_count_matches_php(rule: dict[str, Any]) -> None:
    assert len(compile_rule(text(rule["query"]), dialect="tokenpass").clauses) == rule["clauses"]
