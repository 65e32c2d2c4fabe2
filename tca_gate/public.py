"""Public classes report a public path as their module, whichever private module defines them.

Each package calls ``publish`` on its ``__all__``: a class defined in one of its private
modules gets the package as its ``__module__`` (``tca_gate.rules.Rule``,
``tca_gate.gate.Gate``), so reprs, pickles and documentation show a path users can
import, and moving code between private modules changes none of them.

Its annotations are resolved first, where they were written, so ``typing.get_type_hints``
keeps working on it. Functions and methods keep their module: their doctests run in the
globals they were written for, and ``typing.get_overloads`` still finds their overloads.
"""

from __future__ import annotations

import inspect
import sys
import typing
from collections.abc import Iterable, Mapping


def publish(package: str, namespace: Mapping[str, object], names: Iterable[str]) -> None:
    """Set ``__module__`` to ``package`` on each class of ``names`` defined in its private
    modules, with its own annotations resolved in the module that wrote them."""
    private = package + "._"
    for name in names:
        value = namespace[name]
        if inspect.isclass(value) and value.__module__.startswith(private):
            _resolve_annotations(value)
            value.__module__ = package


def _resolve_annotations(cls: type) -> None:
    """Replace ``cls``'s own string annotations by the objects they name in its module."""
    own = inspect.get_annotations(cls)
    if not own:
        return
    module_globals = vars(sys.modules[cls.__module__])
    hints = typing.get_type_hints(cls, globalns=module_globals, include_extras=True)
    cls.__annotations__ = {key: hints.get(key, annotation) for key, annotation in own.items()}
