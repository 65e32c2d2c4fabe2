"""Tests of ``tca_gate.rules``: the rule engine: reading both dialects, compiling, evaluating,
explaining, lint, formats, amounts."""
