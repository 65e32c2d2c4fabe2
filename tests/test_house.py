"""The house rules the package keeps: layers import only downward, no module reaches into
another package's private module, the rule engine stays free of the web, and one error
module draws the whole error tree."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import tca_gate
from tca_gate import errors

PACKAGE = Path(tca_gate.__file__).parent

#: Lowest first: a module may import its own package and anything on a lower layer.
LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "tca_gate.__version__",
        "tca_gate.errors",
        "tca_gate.public",
        "tca_gate.extras",
        "tca_gate.observe",
    ),
    ("tca_gate.wire",),
    ("tca_gate.rules",),
    ("tca_gate.audit",),
    ("tca_gate.signing",),
    ("tca_gate.service",),
    (
        "tca_gate.tokenpass",
        "tca_gate.tokensnet",
        "tca_gate.tdx",
        "tca_gate.tokensoft",
        "tca_gate.counterparty",
    ),
    ("tca_gate.balances",),
    ("tca_gate.login", "tca_gate.delivery"),
    ("tca_gate.gate",),
    ("tca_gate.fastapi", "tca_gate.sandbox", "tca_gate.metrics"),
    ("tca_gate.demo",),
    ("tca_gate.cli",),
    ("tca_gate", "tca_gate.__main__"),
)

#: What the rule engine may import beyond the standard library: the grammar's parser.
RULE_ENGINE_THIRD_PARTY = {"lark"}


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def _package(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _imports(module: str, path: Path) -> Iterator[tuple[int, str]]:
    """Every module ``module`` imports (at any depth of its code), made absolute."""
    package = _package(module, path)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield node.lineno, target
            for alias in node.names:  # ``from pkg import _module`` imports a module
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    yield node.lineno, f"{target}.{alias.name}"


def _layer(module: str) -> int:
    best, found = -1, -1
    for index, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best:
                best, found = len(name), index
    assert found >= 0, f"{module} is on no layer: add its package to LAYERS"
    return found


def _owner(module: str) -> str:
    """The package whose private module ``module`` is ("" when no part is private)."""
    parts = module.split(".")
    for index, part in enumerate(parts[1:], start=1):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:index])
    return ""


MODULES = dict(_modules())


def test_every_module_is_on_a_layer() -> None:
    for module in MODULES:
        _layer(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_layers_import_only_downward(module: str) -> None:
    path = MODULES[module]
    mine = _layer(module)
    own = _package(module, path)
    upward = [
        f"line {line}: {target}"
        for line, target in _imports(module, path)
        if target.startswith("tca_gate")
        and not (target == own or (target.startswith(own + ".") and own != "tca_gate"))
        and _layer(target) > mine
    ]
    assert not upward, f"{module} imports a higher layer: {upward}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_reaches_into_another_packages_private_module(module: str) -> None:
    path = MODULES[module]
    own = _package(module, path)
    reaching = [
        f"line {line}: {target}"
        for line, target in _imports(module, path)
        if target.startswith("tca_gate") and _owner(target) not in ("", own)
    ]
    assert not reaching, f"{module} imports another package's private module: {reaching}"


def test_the_rule_engine_imports_nothing_of_the_web_or_the_clients() -> None:
    allowed = {
        "tca_gate.rules",
        "tca_gate.errors",
        "tca_gate.public",
        "tca_gate.wire.php",
        "tca_gate.wire",
    }
    for module, path in MODULES.items():
        if not module.startswith("tca_gate.rules"):
            continue
        for line, target in _imports(module, path):
            top = target.partition(".")[0]
            if top == "tca_gate":
                assert any(target == ok or target.startswith(ok + ".") for ok in allowed), (
                    f"{module} line {line} imports {target}"
                )
            elif top not in RULE_ENGINE_THIRD_PARTY:
                assert top in _stdlib(), f"{module} line {line} imports {target}"


def _stdlib() -> frozenset[str]:
    import sys

    return frozenset(sys.stdlib_module_names) | {"__future__"}


def _all_error_classes() -> set[type[BaseException]]:
    for info in pkgutil.walk_packages(tca_gate.__path__, "tca_gate."):
        if info.name != "tca_gate.__main__":  # runs the command line
            importlib.import_module(info.name)
    found: set[type[BaseException]] = set()
    pending: list[type[BaseException]] = [errors.TcaGateError]
    while pending:
        cls = pending.pop()
        found.add(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_every_error_lives_in_the_error_module_and_is_drawn_in_its_tree() -> None:
    doc = errors.__doc__ or ""
    for cls in _all_error_classes():
        assert cls.__module__ == "tca_gate.errors", f"{cls.__qualname__} is in {cls.__module__}"
        assert cls.__name__ in doc, f"{cls.__name__} is missing from the tree in tca_gate.errors"


def test_no_other_module_defines_a_tca_gate_error() -> None:
    for module, path in MODULES.items():
        if module == "tca_gate.errors":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(base).rpartition(".")[2] for base in node.bases}
                assert not bases & {cls.__name__ for cls in _error_names()}, (
                    f"{module} defines {node.name}, an error: it belongs in tca_gate.errors"
                )


def _error_names() -> set[type[BaseException]]:
    return {
        cls
        for cls in vars(errors).values()
        if inspect.isclass(cls) and issubclass(cls, errors.TcaGateError)
    }


def test_the_signature_errors_share_one_base() -> None:
    for name in (
        "TokenlySignatureError",
        "TDXSignatureError",
        "TokensNetSignatureError",
        "TokensoftSignatureError",
    ):
        cls = getattr(errors, name)
        assert issubclass(cls, errors.SignatureError)
        assert issubclass(cls, errors.TcaGateError)


PUBLIC_PACKAGES = (
    "tca_gate",
    "tca_gate.rules",
    "tca_gate.audit",
    "tca_gate.metrics",
    "tca_gate.balances",
    "tca_gate.gate",
    "tca_gate.login",
    "tca_gate.login.wallet",
    "tca_gate.fastapi",
    "tca_gate.tokenpass",
    "tca_gate.delivery",
    "tca_gate.tokensnet",
    "tca_gate.tdx",
    "tca_gate.tokensoft",
    "tca_gate.counterparty",
    "tca_gate.sandbox",
    "tca_gate.service",
    "tca_gate.signing.tokenly",
    "tca_gate.signing.tdx",
    "tca_gate.signing.tokensnet",
    "tca_gate.signing.tokensoft",
)


@pytest.mark.parametrize("package", PUBLIC_PACKAGES)
def test_public_classes_report_a_public_module_that_has_them(package: str) -> None:
    module = importlib.import_module(package)
    for name in module.__all__:
        value = getattr(module, name)
        if not inspect.isclass(value):
            continue
        home = value.__module__
        assert _owner(home) == "", f"{package}.{name} reports {home}, a private module"
        assert getattr(importlib.import_module(home), value.__qualname__) is value, (
            f"{package}.{name} reports {home}, which does not have it"
        )


def test_public_objects_pickle_by_their_public_path() -> None:
    import pickle

    from tca_gate import Holder, compile_rule
    from tca_gate.gate import Outcome

    rule = compile_rule("LTBCOIN=10000")
    dumped = pickle.dumps((rule, Outcome.ALLOWED, Holder.user("alice")))
    assert b"tca_gate.rules" in dumped
    assert b"._rule" not in dumped
    assert b"._holder" not in dumped
    assert pickle.loads(dumped) == (rule, Outcome.ALLOWED, Holder.user("alice"))


@pytest.mark.parametrize("package", PUBLIC_PACKAGES)
def test_published_classes_keep_their_examples_where_doctest_runs_them(package: str) -> None:
    """doctest finds a published class under its package, but not its methods (they keep
    their module): a method's example would silently never run, so examples go in the
    class's docstring, which runs in the package's globals and imports what it needs."""
    module = importlib.import_module(package)
    for name in module.__all__:
        value = getattr(module, name)
        if not inspect.isclass(value):
            continue
        for member_name, member in vars(value).items():
            function = getattr(member, "__func__", getattr(member, "fget", member))
            if not inspect.isfunction(function) or not function.__module__.startswith("tca_gate"):
                continue
            doc = function.__doc__ or ""
            assert ">>>" not in doc or function.__module__ == value.__module__, (
                f"{package}.{name}.{member_name} has an example doctest never runs"
            )


@pytest.mark.parametrize("package", PUBLIC_PACKAGES)
def test_published_classes_keep_their_type_hints(package: str) -> None:
    import typing

    module = importlib.import_module(package)
    for name in module.__all__:
        value = getattr(module, name)
        if inspect.isclass(value):
            typing.get_type_hints(value)
