"""The import guard of every optional extra: one check, one message naming what to install.

>>> require_extra("tokenpass", "json", needed_by="tca_gate.tokenpass")
>>> require_extra("redis", "json", "no_such", needed_by="the cache")
Traceback (most recent call last):
ImportError: the cache needs json and no_such (no_such is missing): pip install 'tca-gate[redis]'
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence


def require_extra(extra: str, *modules: str, needed_by: str) -> None:
    """Import ``modules``; if any is missing, raise ``ImportError`` naming it and the extra
    (``extra`` may name several, ``"sandbox,login"``) that installs it."""
    missing = []
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise ImportError(
            f"{needed_by} needs {_listed(modules)} ({_listed(missing)} {verb} missing): "
            f"pip install 'tca-gate[{extra}]'",
            name=missing[0],
        )


def _listed(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
