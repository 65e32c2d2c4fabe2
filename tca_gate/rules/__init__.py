"""The rule engine: TCA rule text in, a compiled ``Rule`` out; no web, no clients.

A rule goes through these stages, one module each:

- reading: ``_grammar`` loads ``tca.lark`` (package data, read once); ``_stack`` reads
  query-string stacks (``LTBCOIN=10000&stackop_1=OR``) for both dialects, and
  ``_readable`` readable rules (``LTBCOIN >= 10000 or TOKENLY > 0``);
- the two dialects: ``_dialect_strict`` (the documented language, precise errors) and
  ``_dialect_tokenpass`` (bit-exact with the deployed Tokenpass server);
- the representation: ``_clause`` (one comparison), ``_amounts`` (exact base units),
  ``_normal_form`` (what a rule allows, for equivalence and lint);
- compilation: ``_compile`` (any text to a ``Rule``), ``_rule`` (the immutable rule),
  ``_evaluator`` (generated Python evaluators);
- decisions and explanations: ``_decision``; lint: ``_lint``; text forms: ``_format``.

>>> from tca_gate.rules import compile_rule
>>> compile_rule("LTBCOIN=10000").evaluate({"LTBCOIN": 10_000 * 10**8})
True
"""

from __future__ import annotations

from tca_gate.public import publish

from ._amounts import MAX_DIGITS, SATOSHIS_PER_TOKEN, format_tokens, sat_to_tokens, tokens_to_sat
from ._clause import OPERATORS, Clause, Op
from ._compile import RuleSource, compile_rule
from ._decision import ClauseResult, Decision, GroupResult
from ._dialect_strict import canonical_asset, strict_asset
from ._lint import LINT_CODES, LintWarning
from ._readable import looks_like_expression
from ._rule import Rule
from ._stack import DIALECTS, Dialect, ascii_upper, is_credential

__all__ = [
    "DIALECTS",
    "LINT_CODES",
    "MAX_DIGITS",
    "OPERATORS",
    "SATOSHIS_PER_TOKEN",
    "Clause",
    "ClauseResult",
    "Decision",
    "Dialect",
    "GroupResult",
    "LintWarning",
    "Op",
    "Rule",
    "RuleSource",
    "ascii_upper",
    "canonical_asset",
    "compile_rule",
    "format_tokens",
    "is_credential",
    "looks_like_expression",
    "sat_to_tokens",
    "strict_asset",
    "tokens_to_sat",
]

publish(__name__, globals(), __all__)
