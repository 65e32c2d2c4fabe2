"""``GateRules``: which rule guards which path, from code or a TOML file, checked at start-up.

Keys are Starlette path patterns (``/members``, ``/members/{rest:path}``,
``/users/{id:int}``), matched against the whole path in the order given (the first
match wins), or ``route:<name>`` for the Starlette route of that name, found in the
app's routes when it starts (and every pattern is checked to reach one of them, so a
typo never guards nothing in silence). Values are rule text in any form ``compile_rule``
reads, a compiled ``Rule``, or ``{"rule": ..., "name": ..., "revocable": ...}``. A rule's
``name`` (by default the route's name) becomes the ``tca:<name>`` scope of allowed
requests; ``revocable`` (false unless set) has HTTP responses on the path judged again
while they stream (server-sent events), as websockets always are.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from re import Pattern
from typing import Any

from starlette.routing import PARAM_REGEX, BaseRoute, Host, Mount, compile_path
from starlette.types import Scope

from tca_gate.errors import GateConfigError
from tca_gate.rules import DIALECTS, Dialect, Rule, RuleSource, compile_rule
from tca_gate.wire.asgi import route_path

ROUTE_PREFIX = "route:"


#: A named group of a Starlette path regex (``(?P<rest>``), made anonymous when folded.
_NAMED_GROUP = re.compile(r"\(\?P<[A-Za-z_][A-Za-z0-9_]*>")


@dataclass(frozen=True, slots=True)
class GuardedPath:
    """One entry: the key as written, its rule and name, (once known) its path regex, and
    whether its HTTP responses are judged again while they stream (``revocable``)."""

    key: str
    rule: Rule
    name: str | None
    pattern: Pattern[str] | None
    revocable: bool = False

    @property
    def scopes(self) -> tuple[str, ...]:
        """The auth scopes a request this entry allows gains: ``tca`` and ``tca:<name>``."""
        return granted_scopes(self.name)


class GateRules:
    """Rules by path pattern or route name, compiled when built (a bad rule raises here).

    Every pattern is folded into one regular expression, so a request costs one match
    however many rules there are; a path no rule guards costs nothing more.

    >>> rules = GateRules({"/members/{rest:path}": "TOKENLY >= 1", "/vip": {"rule":
    ...     "LTBCOIN >= 10000", "name": "vip"}})
    >>> rules.match({"type": "http", "path": "/members/lounge"}).rule.to_expr()
    'TOKENLY >= 1'
    >>> rules.match({"type": "http", "path": "/public"}) is None
    True
    """

    def __init__(
        self,
        rules: Mapping[str, RuleSource | Mapping[str, Any]],
        *,
        dialect: Dialect = "strict",
        origin: str = "rules",
    ) -> None:
        if not isinstance(rules, Mapping):
            raise GateConfigError(f"{origin} must map path patterns to rules")
        if dialect not in DIALECTS:
            raise GateConfigError(
                f"{origin}: dialect must be 'strict' or 'tokenpass', not {dialect!r}"
            )
        self.origin = origin
        self._entries = [_entry(key, value, dialect, origin) for key, value in rules.items()]
        self._resolved = False
        self._matcher: Pattern[str] | None = None
        self._by_group: dict[str | None, GuardedPath] = {}
        if not any(entry.pattern is None for entry in self._entries):
            self._compile()

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"GateRules({list(dict.fromkeys(entry.key for entry in self._entries))!r})"

    @property
    def entries(self) -> tuple[GuardedPath, ...]:
        """The entries in matching order (a route name on several routes: one per route)."""
        return tuple(self._entries)

    @property
    def resolved(self) -> bool:
        """Whether every ``route:`` key has been found in the app's routes."""
        return self._resolved

    def resolve(self, routes: Iterable[BaseRoute]) -> None:
        """Find each ``route:<name>`` key's paths in ``routes`` (Mounts included: a route
        inside a named Mount answers to ``mount:route`` and to its own name), and check
        that each path pattern reaches a route. Every route of that name is guarded; a
        name no route has, or a pattern no route answers, raises ``GateConfigError``
        (with the near matches)."""
        routes = list(routes)
        paths: dict[str, list[str]] = {}
        for name, path in _route_paths(routes, ""):
            paths.setdefault(name, [])
            if path not in paths[name]:
                paths[name].append(path)
        entries = []
        for entry in self._entries:
            if entry.pattern is not None:
                entries.append(entry)
                continue
            name = entry.key.removeprefix(ROUTE_PREFIX)
            if name not in paths:
                known = ", ".join(sorted(paths)) or "none"
                near = difflib.get_close_matches(name, paths, n=3, cutoff=0.6)
                hint = f" (did you mean {_listed(near)}?)" if near else ""
                raise GateConfigError(
                    f"{self.origin}: {entry.key!r} names no route of the app{hint} "
                    f"(named routes: {known})"
                )
            entries.extend(
                GuardedPath(
                    entry.key, entry.rule, entry.name, _pattern(path, self.origin), entry.revocable
                )
                for path in paths[name]
            )
        self._check_patterns(routes)
        self._entries = entries
        self._compile()

    def _check_patterns(self, routes: list[BaseRoute]) -> None:
        """Raise ``GateConfigError`` for a path pattern that no route answers."""
        patterns = list(dict.fromkeys(_route_patterns(routes, "")))
        for entry in self._entries:
            if not entry.key.startswith("/") or entry.pattern is None:
                continue
            matches = entry.pattern.match
            if any(matches(path) for known in patterns for path in _examples(known)):
                continue
            if any(_routed(routes, path) for path in _examples(entry.key)):
                continue
            near = difflib.get_close_matches(entry.key, patterns, n=3, cutoff=0.5)
            raise GateConfigError(
                f"{self.origin}: the path rule {entry.key!r} matches no route of the app, "
                f"so it would guard nothing: correct the pattern"
                + (f" (routes like it: {_listed(near)})" if near else "")
                + " or name the route ('route:<name>')"
            )

    @property
    def lookup(
        self,
    ) -> tuple[Callable[[str], re.Match[str] | None], Mapping[str | None, GuardedPath]]:
        """For a caller on the hot path: the combined pattern's ``match`` (of a route path)
        and the entries by the matching group's name. Only once ``resolved``."""
        if not self._resolved:
            raise GateConfigError(f"{self.origin}: route names are not resolved yet")
        if self._matcher is None:
            return _match_nothing, self._by_group
        return self._matcher.match, self._by_group

    def match(self, scope: Scope) -> GuardedPath | None:
        """The first entry whose pattern matches the request's path, or ``None``.

        Raises ``GateConfigError`` while ``route:`` keys are unresolved (fail closed)."""
        matcher = self._matcher
        if matcher is None:
            if not self._resolved:
                raise GateConfigError(
                    f"{self.origin}: route names are not resolved yet (GateRules.resolve)"
                )
            return None
        path: str = scope["path"]
        if scope.get("root_path"):
            path = route_path(scope)
        found = matcher.match(path)
        return None if found is None else self._by_group[found.lastgroup]

    def _compile(self) -> None:
        """Fold the patterns into one regex of named alternatives, tried in order."""
        alternatives = []
        self._by_group = {}
        for number, entry in enumerate(self._entries):
            assert entry.pattern is not None
            group = f"g{number}"
            body = _NAMED_GROUP.sub("(?:", entry.pattern.pattern.removeprefix("^"))
            alternatives.append(f"(?P<{group}>{body.removesuffix('$')})")
            self._by_group[group] = entry
        self._matcher = re.compile(f"^(?:{'|'.join(alternatives)})$") if alternatives else None
        self._resolved = True


def granted_scopes(name: str | None) -> tuple[str, ...]:
    """The auth scopes a request a rule allows gains: ``tca``, and ``tca:<name>`` when the
    rule has a name."""
    return ("tca",) if not name else ("tca", f"tca:{name}")


def load_rules(path: str | PathLike[str], *, dialect: Dialect | None = None) -> GateRules:
    """Rules from a TOML file: an optional ``dialect`` (``strict`` unless given here or
    there; the argument wins) and a ``[rules]`` table; any error names the file and key.

    ::

        dialect = "strict"
        [rules]
        "/members/{rest:path}" = "TOKENLY >= 1 or LTBCOIN >= 10000"
        "route:vault" = { rule = "LTBCOIN=20000", name = "vault" }
    """
    origin = str(path)
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise GateConfigError(f"cannot read the gate's rules {origin}: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise GateConfigError(f"{origin} is not valid TOML: {error}") from None
    unknown = sorted(set(document) - {"dialect", "rules"})
    if unknown:
        raise GateConfigError(f"{origin}: unknown key {unknown[0]!r} (expected dialect, rules)")
    rules = document.get("rules")
    if not isinstance(rules, dict) or not rules:
        raise GateConfigError(f"{origin}: needs a [rules] table mapping path patterns to rules")
    chosen = document.get("dialect", "strict") if dialect is None else dialect
    return GateRules(rules, dialect=chosen, origin=origin)


def _entry(key: object, value: object, dialect: Dialect, origin: str) -> GuardedPath:
    if not isinstance(key, str) or not key.startswith(("/", ROUTE_PREFIX)):
        raise GateConfigError(
            f"{origin}: {key!r} is neither a path pattern starting with '/' nor 'route:<name>'"
        )
    name: object = key.removeprefix(ROUTE_PREFIX) if key.startswith(ROUTE_PREFIX) else None
    source: object = value
    revocable = False
    if isinstance(value, Mapping) and "rule" in value:
        unknown = sorted(set(value) - {"rule", "name", "revocable"})
        if unknown:
            raise GateConfigError(
                f"{origin}: {key}: unknown field {unknown[0]!r} (rule, name, revocable)"
            )
        source, name = value["rule"], value.get("name", name)
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise GateConfigError(f"{origin}: {key}: name must be a non-empty string")
        chosen = value.get("revocable", False)
        if not isinstance(chosen, bool):
            raise GateConfigError(f"{origin}: {key}: revocable must be true or false")
        revocable = chosen
    try:
        rule = compile_rule(source, dialect)  # type: ignore[arg-type]
    except (ValueError, TypeError) as error:
        raise GateConfigError(
            f"{origin}: the rule for {key!r} does not compile: {error}"
        ) from error
    pattern = None if key.startswith(ROUTE_PREFIX) else _pattern(key, origin)
    return GuardedPath(key, rule, name if isinstance(name, str) else None, pattern, revocable)


def _pattern(path: str, origin: str = "rules") -> Pattern[str]:
    try:
        return compile_path(path)[0]
    except (ValueError, AssertionError) as error:
        raise GateConfigError(f"{origin}: bad path pattern {path!r}: {error}") from None


def _route_paths(routes: Iterable[BaseRoute], prefix: str) -> Iterable[tuple[str, str]]:
    """``(name, path pattern)`` of every named route, Mounts' routes included."""
    for route in routes:
        name, path = getattr(route, "name", None), getattr(route, "path", None)
        if not isinstance(path, str):
            continue
        if isinstance(route, Mount):
            if name:
                yield name, prefix + path + "/{rest:path}"
            for inner, inner_path in _route_paths(route.routes, prefix + path):
                yield inner, inner_path
                if name:
                    yield f"{name}:{inner}", inner_path
        elif name:
            yield name, prefix + path


def _route_patterns(routes: Iterable[BaseRoute], prefix: str) -> Iterable[str]:
    """The full path pattern of every route, named or not (a Mount of another app: its
    prefix and anything under it)."""
    for route in routes:
        if isinstance(route, Host):
            yield from _route_patterns(route.routes, prefix)
            continue
        path = getattr(route, "path", None)
        if not isinstance(path, str):
            continue
        if isinstance(route, Mount):
            if route.routes:
                yield from _route_patterns(route.routes, prefix + path)
            else:
                yield prefix + path + "/{path:path}"
        else:
            yield prefix + path


def _routed(routes: Iterable[BaseRoute], path: str) -> bool:
    """Whether some route answers ``path`` (a route of a kind not known here: assumed so)."""
    for route in routes:
        if isinstance(route, Host):
            if _routed(route.routes, path):
                return True
        elif isinstance(route, Mount):
            found = route.path_regex.match(path)
            if found is not None and (
                not route.routes or _routed(route.routes, "/" + found["path"])
            ):
                return True
        else:
            regex = getattr(route, "path_regex", None)
            if not isinstance(regex, Pattern) or regex.match(path):
                return True
    return False


#: Sample values of each Starlette convertor, to make paths a pattern matches.
_SAMPLES = {
    "str": ("x",),
    "path": ("x", "x/y", ""),
    "int": ("1",),
    "float": ("1.5",),
    "uuid": ("00000000-0000-0000-0000-000000000000",),
}


def _examples(pattern: str) -> list[str]:
    """A few paths the Starlette path ``pattern`` matches (its parameters filled in).

    >>> _examples("/files/{name}/{rest:path}")
    ['/files/x/x', '/files/x/x/y', '/files/x/']
    """
    pieces = PARAM_REGEX.split(pattern)  # text, name, convertor, text, name, ...
    texts, kinds = pieces[0::3], pieces[2::3]
    samples = [_SAMPLES.get((kind or ":str")[1:], ("x", "1")) for kind in kinds]
    paths: list[str] = []
    for index in range(max((len(options) for options in samples), default=1)):
        values = [options[min(index, len(options) - 1)] for options in samples]
        path = texts[0] + "".join(
            value + text for value, text in zip(values, texts[1:], strict=True)
        )
        if path not in paths:
            paths.append(path)
    return paths


def _listed(names: Iterable[str]) -> str:
    return ", ".join(repr(name) for name in names)


def _match_nothing(path: str) -> None:
    """The ``match`` of rules guarding nothing."""
