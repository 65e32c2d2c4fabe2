"""tca-gate's tests: one folder per package of ``tca_gate``, helpers in ``tests.support``.

A package, so that test files in different folders may share a basename and
``tests.support`` imports the same way under every pytest invocation.
"""
