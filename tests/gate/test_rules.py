"""``GateRules`` and ``load_rules``: which rule guards which path, checked at start-up.

A bad rule (in code or in the rules file) stops a real uvicorn server from starting,
with the rule's error in its log; the path matching agrees with Starlette's routing.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route, compile_path

from tca_gate.balances import Holder, StaticBalances
from tca_gate.gate import Gate, GateConfigError, GateRules, TcaGateMiddleware, load_rules

SAT = 100_000_000


def test_rules_compile_when_built_and_match_in_order() -> None:
    rules = GateRules(
        {
            "/members/free": "XCP >= 0",
            "/members/{rest:path}": {"rule": "TOKENLY >= 1", "name": "members"},
            "/users/{number:int}": "LTBCOIN=10000",
        }
    )
    assert len(rules) == 3
    assert rules.resolved

    def rule_of(path: str) -> str | None:
        entry = rules.match({"type": "http", "path": path})
        return None if entry is None else entry.rule.to_expr()

    assert rule_of("/members/free") == "XCP >= 0"
    assert rule_of("/members/lounge/deep") == "TOKENLY >= 1"
    matched = rules.match({"type": "http", "path": "/members/x"})
    assert matched is not None
    assert matched.name == "members"
    assert rule_of("/users/12") == "LTBCOIN >= 10000"
    assert rule_of("/users/twelve") is None
    assert rule_of("/members") is None
    assert rule_of("/") is None


def test_the_root_path_is_not_part_of_the_pattern() -> None:
    rules = GateRules({"/members": "TOKENLY >= 1"})
    assert rules.match({"path": "/app/members", "root_path": "/app"}) is not None
    assert rules.match({"path": "/members", "root_path": "/app"}) is not None
    assert rules.match({"path": "/application/members", "root_path": "/app"}) is None


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"/a": "TOKENLY >= one"}, r"rules: the rule for '/a' does not compile: .*one"),
        ({"/a": 12}, r"the rule for '/a' does not compile"),
        ({"a": "TOKENLY >= 1"}, r"'a' is neither a path pattern"),
        ({"/a/{x:color}": "TOKENLY >= 1"}, r"bad path pattern '/a/\{x:color\}'"),
        ({"/a/{x}/{x}": "TOKENLY >= 1"}, r"bad path pattern"),
        ({"/a": {"rule": "TOKENLY >= 1", "colour": "red"}}, r"/a: unknown field 'colour'"),
        ({"/a": {"rule": "TOKENLY >= 1", "name": ""}}, r"/a: name must be a non-empty string"),
    ],
)
def test_a_bad_entry_is_refused_naming_it(rules: Any, message: str) -> None:
    with pytest.raises(GateConfigError, match=message):
        GateRules(rules)


def test_rules_must_be_a_mapping_in_a_known_dialect() -> None:
    with pytest.raises(GateConfigError, match="must map path patterns to rules"):
        GateRules([("/a", "TOKENLY >= 1")])  # type: ignore[arg-type]
    with pytest.raises(GateConfigError, match="dialect must be 'strict' or 'tokenpass'"):
        GateRules({"/a": "TOKENLY >= 1"}, dialect="php")  # type: ignore[arg-type]


def test_the_tokenpass_dialect_reads_query_rules() -> None:
    rules = GateRules({"/a": "LTBCOIN=10000&TOKENLY=1&stackop_1=OR"}, dialect="tokenpass")
    entry = rules.match({"path": "/a"})
    assert entry is not None
    assert entry.rule.evaluate({"TOKENLY": SAT})


def test_route_names_are_found_in_the_apps_routes_mounts_included() -> None:
    async def page(request: Request) -> Response:
        return PlainTextResponse("x")

    routes = [
        Route("/members", page, name="members"),
        Mount("/area", routes=[Route("/inner/{id}", page, name="inner")], name="area"),
        Mount("/docs", routes=[Route("/", page, name="index")], name="docs"),
        Mount("/again", routes=[Route("/members", page, name="members")]),
    ]
    rules = GateRules(
        {
            "route:members": "TOKENLY >= 1",
            "route:area:inner": "LTBCOIN >= 1",
            "route:docs": "XCP >= 1",
        }
    )
    assert not rules.resolved
    with pytest.raises(GateConfigError, match="not resolved yet"):
        rules.match({"path": "/members"})
    rules.resolve(routes)
    assert rules.resolved

    def rule_of(path: str) -> str | None:
        entry = rules.match({"path": path})
        return None if entry is None else entry.rule.to_expr()

    # every route of a name is guarded, not only the first
    assert rule_of("/members") == rule_of("/again/members") == "TOKENLY >= 1"
    assert rule_of("/area/inner/7") == "LTBCOIN >= 1"
    assert rule_of("/docs/") == rule_of("/docs/anything/below") == "XCP >= 1"
    assert rule_of("/area/other") is None
    assert [entry.name for entry in rules.entries] == ["members", "members", "area:inner", "docs"]


def test_a_route_name_the_app_lacks_is_refused_listing_the_names() -> None:
    rules = GateRules({"route:vault": "TOKENLY >= 1"})
    with pytest.raises(GateConfigError, match=r"'route:vault' names no route .*named routes: home"):
        rules.resolve([Route("/", PlainTextResponse("x"), name="home")])


def test_load_rules_reads_a_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "gate.toml"
    path.write_text(
        textwrap.dedent(
            """\
            dialect = "tokenpass"
            [rules]
            "/members/{rest:path}" = "TOKENLY=1&LTBCOIN=10000&stackop_1=OR"
            "route:vault" = { rule = "LTBCOIN=20000", name = "vault" }
            """
        )
    )
    rules = load_rules(path)
    assert [entry.key for entry in rules.entries] == ["/members/{rest:path}", "route:vault"]
    assert rules.entries[1].name == "vault"
    entry = rules.match({"path": "/members/x"}) if rules.resolved else None
    assert entry is None  # route names wait for the app
    rules.resolve(
        [
            Route("/vault", PlainTextResponse("x"), name="vault"),
            Route("/members/{page}", PlainTextResponse("x")),
        ]
    )
    assert rules.match({"path": "/members/x"}) is not None
    assert rules.match({"path": "/vault"}) is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[rules\n", r"gate\.toml is not valid TOML"),
        ('colour = "red"\n[rules]\n"/a" = "TOKENLY >= 1"\n', r"unknown key 'colour'"),
        ('dialect = "php"\n[rules]\n"/a" = "TOKENLY >= 1"\n', r"dialect must be 'strict'"),
        ("[rules]\n", r"needs a \[rules\] table"),
        ('rules = "TOKENLY >= 1"\n', r"needs a \[rules\] table"),
        (
            '[rules]\n"/a" = "TOKENLY >= 1"\n"/b" = "TOKENLY >>= 1"\n',
            r"the rule for '/b' does not compile",
        ),
    ],
)
def test_a_bad_rules_file_is_refused_naming_the_file_and_rule(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "gate.toml"
    path.write_text(text)
    with pytest.raises(GateConfigError, match=message) as caught:
        load_rules(path)
    assert str(path) in str(caught.value)


def test_a_missing_rules_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(GateConfigError, match=r"cannot read the gate's rules .*missing\.toml"):
        load_rules(tmp_path / "missing.toml")


# One regex for every pattern: the same first match as trying Starlette's one by one.

SEGMENTS = ("a", "b", "a.b", "(x)", "x+", "{name}", "{number:int}", "{rest:path}", "{f:float}", "")
PATH_PARTS = ("a", "b", "a.b", "(x)", "x+", "12", "1.5", "", "\n", "ab", "x", "xx")


patterns = st.lists(
    st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=3), min_size=1, max_size=5
)
paths = st.lists(st.sampled_from(PATH_PARTS), min_size=1, max_size=4).map(
    lambda parts: "/" + "/".join(parts)
)


def unique_params(segments: list[str]) -> str:
    """A pattern from segments, each parameter named after its position."""
    out = []
    for index, segment in enumerate(segments):
        if segment.startswith("{"):
            convertor = segment[1:-1].partition(":")[2]
            out.append(f"{{p{index}{':' + convertor if convertor else ''}}}")
        else:
            out.append(segment)
    return "/" + "/".join(out)


@settings(max_examples=300, deadline=None)
@given(pattern_lists=patterns, path_list=st.lists(paths, min_size=1, max_size=10))
def test_the_folded_regex_matches_as_starlette_does_one_by_one(
    pattern_lists: list[list[str]], path_list: list[str]
) -> None:
    keys = list(dict.fromkeys(unique_params(segments) for segments in pattern_lists))
    rules = GateRules(dict.fromkeys(keys, "TOKENLY >= 1"))
    compiled = [compile_path(key)[0] for key in keys]
    for path in path_list:
        expected = next(
            (key for key, regex in zip(keys, compiled, strict=True) if regex.match(path)), None
        )
        entry = rules.match({"path": path})
        assert (None if entry is None else entry.key) == expected, (keys, path)


# Start-up: a real uvicorn server with its lifespan.


def by_header(conn: HTTPConnection) -> Holder | None:
    name = conn.headers.get("x-user")
    return Holder.user(name) if name else None


async def page(request: Request) -> Response:
    return PlainTextResponse("members only")


def gated_app(rules: Any) -> Starlette:
    gate = Gate(
        StaticBalances({"users": {"alice": {"public": {"TOKENLY": SAT}}}}), identity=by_header
    )
    return Starlette(
        routes=[Route("/members", page, name="members"), Route("/open", page)],
        middleware=[Middleware(TcaGateMiddleware, gate=gate, rules=rules)],
    )


class Running:
    """A uvicorn server (lifespan ``auto``, uvicorn's default) in a thread."""

    def __init__(self, app: Starlette) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="auto")
        self.server = uvicorn.Server(config)
        self.exit_code: object = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.server.run()
        except SystemExit as exit_:  # uvicorn exits when the app fails to start
            self.exit_code = exit_.code

    def start(self) -> bool:
        """Whether the server started (False: it gave up and its thread ended)."""
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and self.thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.server.started

    @property
    def url(self) -> str:
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"route:members": "TOKENLY >= lots"}, "the rule for 'route:members' does not compile"),
        ({"route:vault": "TOKENLY >= 1"}, "'route:vault' names no route of the app"),
    ],
)
def test_a_bad_rule_stops_uvicorn_from_starting(
    rules: dict[str, str], message: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    running = Running(gated_app(rules))
    try:
        assert running.start() is False
        running.thread.join(timeout=10)
        assert not running.thread.is_alive()
        assert running.exit_code == 3  # uvicorn's "startup failed"
    finally:
        running.stop()
    assert message in caplog.text
    assert "Application startup failed" in caplog.text


def test_good_rules_start_uvicorn_and_guard_by_route_name(tmp_path: Path) -> None:
    path = tmp_path / "gate.toml"
    path.write_text('[rules]\n"route:members" = "TOKENLY >= 1"\n')
    running = Running(gated_app(path))
    try:
        assert running.start()
        with httpx2.Client(base_url=running.url, timeout=10) as client:
            assert client.get("/members", headers={"x-user": "alice"}).status_code == 200
            assert client.get("/members", headers={"x-user": "bob"}).status_code == 403
            assert client.get("/members").status_code == 401
            assert client.get("/open").status_code == 200
    finally:
        running.stop()


def test_uvicorn_on_the_command_line_exits_on_a_bad_rules_file(tmp_path: Path) -> None:
    (tmp_path / "gate.toml").write_text('[rules]\n"route:members" = "TOKENLY >= 1 or"\n')
    (tmp_path / "gated.py").write_text(
        textwrap.dedent(
            """\
            from starlette.applications import Starlette
            from starlette.middleware import Middleware
            from starlette.responses import PlainTextResponse
            from starlette.routing import Route
            from tca_gate.balances import StaticBalances
            from tca_gate.gate import Gate, TcaGateMiddleware

            gate = Gate(StaticBalances({}))
            app = Starlette(
                routes=[Route("/members", PlainTextResponse("x"), name="members")],
                middleware=[Middleware(TcaGateMiddleware, gate=gate, rules="gate.toml")],
            )
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "uvicorn", "gated:app", "--port", "0", "--app-dir", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "gate.toml: the rule for 'route:members' does not compile" in done.stderr
    assert "Application startup failed" in done.stderr
