"""``Gate``: who is asking, what they hold, the rule; every failure is a refusal.

The gate is called directly here with a hand-made connection; the middleware,
decorator and FastAPI tests drive it through real apps. A property test compares the
gate's answer with ``rule.evaluate`` over random rules, balances, identities and
failures of every part: nothing but a passing rule on balances actually read allows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import HTTPConnection
from starlette.types import Receive, Scope, Send

from tca_gate import InvalidArgumentError, compile_rule
from tca_gate.balances import (
    BalanceReading,
    BalanceUnavailableError,
    CachedBalances,
    Holder,
    StaticBalances,
    UnknownHolderError,
)
from tca_gate.gate import DECISION_LOGGER, Gate, Outcome, Verdict
from tca_gate.rules._rule import Rule

SAT = 100_000_000
TOKEN = "secret-oauth-token-of-alice"
RULE = compile_rule("TOKENLY >= 1 or LTBCOIN >= 10000")
HELD = {"alice": {"TOKENLY": 2 * SAT}, "bob": {"LTBCOIN": 8_800 * SAT}}


def connection(path: str = "/members", headers: Mapping[str, str] | None = None) -> HTTPConnection:
    """An HTTP connection as the middleware would see it."""
    raw = [(key.lower().encode(), value.encode()) for key, value in (headers or {}).items()]
    return HTTPConnection({"type": "http", "method": "GET", "path": path, "headers": raw})


def by_header(conn: HTTPConnection) -> Holder | None:
    """The holder named by ``X-User`` (or ``X-Token``), else nobody."""
    if "x-token" in conn.headers:
        return Holder.token(conn.headers["x-token"], owner=conn.headers.get("x-user"))
    name = conn.headers.get("x-user")
    return Holder.user(name) if name else None


class Source:
    """Balances by username or token owner; ``failure`` raised instead when set."""

    def __init__(self, held: Mapping[str, Mapping[str, object]] = HELD) -> None:
        self.held = held
        self.failure: BaseException | None = None
        self.answer: object = None

    async def balances(self, holder: Holder) -> Mapping[str, int]:
        if self.failure is not None:
            raise self.failure
        if self.answer is not None:
            return self.answer  # type: ignore[return-value]
        name = holder.owner if holder.owner else str(holder.value)
        if name not in self.held:
            raise UnknownHolderError(f"no {holder!r}")
        return self.held[name]  # type: ignore[return-value]


def judge(gate: Gate, rule: Rule = RULE, **headers: str) -> Verdict:
    conn = connection(headers={key.replace("_", "-"): value for key, value in headers.items()})
    return asyncio.run(gate.check(conn, rule, "members"))


def test_a_holder_who_passes_is_allowed_and_the_verdict_says_why() -> None:
    verdict = judge(Gate(Source(), identity=by_header), x_user="alice")
    assert verdict.allowed
    assert bool(verdict)
    assert (verdict.status, verdict.outcome, verdict.reason) == (200, Outcome.ALLOWED, "allowed")
    assert verdict.holder == Holder.user("alice")
    assert verdict.name == "members"
    assert verdict.rule is RULE
    assert verdict.decision is not None
    assert verdict.decision.allowed
    assert not verdict.stale
    assert not verdict.shadow


def test_a_rule_refusal_is_403_with_the_shortfall() -> None:
    verdict = judge(Gate(Source(), identity=by_header), x_user="bob")
    assert not verdict
    assert verdict.status == 403
    assert verdict.reason == "insufficient-tokens"
    assert verdict.detail == "Needs 1 TOKENLY, or 1,200 more LTBCOIN."
    assert verdict.decision is not None
    assert not verdict.decision.allowed


def test_nobody_is_401() -> None:
    verdict = judge(Gate(Source(), identity=by_header))
    assert (verdict.status, verdict.outcome, verdict.holder) == (401, Outcome.UNAUTHENTICATED, None)


def test_an_unknown_user_is_403_and_a_refused_token_is_401() -> None:
    gate = Gate(Source(), identity=by_header)
    unknown = judge(gate, x_user="mallory")
    assert (unknown.status, unknown.outcome) == (403, Outcome.UNKNOWN_HOLDER)
    refused = judge(gate, x_token="expired", x_user="mallory")
    assert (refused.status, refused.outcome) == (401, Outcome.IDENTITY_ERROR)
    assert "log in again" in refused.detail


def raising(error: BaseException) -> Callable[[HTTPConnection], Holder | None]:
    def resolver(conn: HTTPConnection) -> Holder | None:
        raise error

    return resolver


async def async_raising(conn: HTTPConnection) -> Holder | None:
    raise LookupError("the session store is down")


@pytest.mark.parametrize(
    "resolver",
    [
        raising(RuntimeError("boom")),
        raising(KeyError("user")),
        async_raising,
        lambda conn: "alice",  # not a Holder
        lambda conn: {"username": "alice"},
    ],
    ids=["runtime", "keyerror", "async", "string", "dict"],
)
def test_an_identity_resolver_that_fails_is_401(
    resolver: Callable[[HTTPConnection], Any], caplog: pytest.LogCaptureFixture
) -> None:
    verdict = judge(Gate(Source(), identity=resolver))
    assert (verdict.status, verdict.outcome) == (401, Outcome.IDENTITY_ERROR)
    assert "the identity resolver failed" in caplog.text


def test_an_async_resolver_is_awaited() -> None:
    async def resolver(conn: HTTPConnection) -> Holder | None:
        await asyncio.sleep(0)
        return Holder.user("alice")

    assert judge(Gate(Source(), identity=resolver)).allowed


@pytest.mark.parametrize(
    "failure",
    [
        BalanceUnavailableError("Tokenpass is down"),
        RuntimeError("a bug in the source"),
        KeyError("TOKENLY"),
        ZeroDivisionError(),
        TimeoutError(),
        OSError("connection reset"),
    ],
    ids=lambda error: type(error).__name__,
)
@pytest.mark.parametrize("cached", [False, True], ids=["bare", "cached"])
def test_a_source_that_raises_anything_is_503(failure: Exception, cached: bool) -> None:
    source = Source()
    source.failure = failure
    balances = CachedBalances(source) if cached else source
    verdict = judge(Gate(balances, identity=by_header), x_user="alice")
    assert (verdict.status, verdict.outcome) == (503, Outcome.BALANCES_UNAVAILABLE)
    assert verdict.decision is None


@pytest.mark.parametrize(
    "answer",
    [
        {"TOKENLY": True},
        {"TOKENLY": 2.0 * SAT},
        {"TOKENLY": str(2 * SAT)},
        {1: 2 * SAT},
        [("TOKENLY", 2 * SAT)],
        "TOKENLY",
    ],
    ids=["bool", "float", "str", "key", "list", "text"],
)
@pytest.mark.parametrize("cached", [False, True], ids=["bare", "cached"])
def test_a_source_answering_nonsense_is_503(answer: object, cached: bool) -> None:
    source = Source()
    source.answer = answer
    balances = CachedBalances(source) if cached else source
    verdict = judge(Gate(balances, identity=by_header), x_user="alice")
    assert (verdict.status, verdict.outcome) == (503, Outcome.BALANCES_UNAVAILABLE)


class BrokenCache:
    """A cache whose ``read`` raises ``failure`` or answers ``reading``."""

    def __init__(self, failure: BaseException | None = None, reading: object = None) -> None:
        self.failure = failure
        self.reading = reading

    async def read(self, holder: Holder) -> BalanceReading:
        if self.failure is not None:
            raise self.failure
        return self.reading  # type: ignore[return-value]

    async def balances(self, holder: Holder) -> Mapping[str, int]:
        return {"TOKENLY": 100 * SAT}  # what a gate must never use instead of read


@pytest.mark.parametrize(
    "cache",
    [
        BrokenCache(ConnectionError("redis went away")),
        BrokenCache(BalanceUnavailableError("redis failed")),
        BrokenCache(AttributeError("a bug")),
        BrokenCache(reading={"TOKENLY": 100 * SAT}),
        BrokenCache(reading=None),
    ],
    ids=["connection", "unavailable", "bug", "not-a-reading", "none"],
)
def test_a_cache_that_fails_is_503(cache: BrokenCache) -> None:
    verdict = judge(Gate(cache, identity=by_header), x_user="alice")
    assert (verdict.status, verdict.outcome) == (503, Outcome.BALANCES_UNAVAILABLE)


def test_a_stale_reading_is_marked_stale() -> None:
    reading = BalanceReading({"TOKENLY": SAT}, stale=True, age=40.0)
    verdict = judge(Gate(BrokenCache(reading=reading), identity=by_header), x_user="alice")
    assert verdict.allowed
    assert verdict.stale


class ExplodingRule(Rule):
    """A rule whose evaluation raises (or answers ``answer``) and whose explanation raises."""

    __slots__ = ()

    def __init__(self, text: str, answer: object = None) -> None:
        base = compile_rule(text)
        super().__init__(base.groups, source=text)

        def evaluate(balances: Mapping[str, int]) -> bool:
            if answer is None:
                raise ArithmeticError("the evaluator broke")
            return answer  # type: ignore[return-value]

        object.__setattr__(self, "evaluate", evaluate)

    def explain(self, balances: Mapping[str, int]) -> Any:
        raise ArithmeticError("the explainer broke")


def test_a_rule_that_cannot_be_evaluated_refuses() -> None:
    verdict = judge(
        Gate(Source(), identity=by_header), ExplodingRule("TOKENLY >= 1"), x_user="alice"
    )
    assert (verdict.status, verdict.outcome) == (403, Outcome.RULE_ERROR)
    assert verdict.decision is None


@pytest.mark.parametrize("answer", [1, "yes", [True], object()])
def test_only_a_true_evaluation_allows(answer: object) -> None:
    rule = ExplodingRule("TOKENLY >= 1", answer=answer)
    verdict = judge(Gate(Source(), identity=by_header), rule, x_user="alice")
    assert not verdict.allowed
    assert verdict.status == 403


def test_a_rule_that_cannot_explain_its_refusal_still_refuses(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rule = ExplodingRule("TOKENLY >= 1", answer=False)
    verdict = judge(Gate(Source(), identity=by_header), rule, x_user="bob")
    assert (verdict.status, verdict.outcome) == (403, Outcome.INSUFFICIENT_TOKENS)
    assert verdict.detail == "Your token holdings do not meet this page's rule."
    assert verdict.decision is None
    assert "explaining" in caplog.text


def test_shadow_mode_marks_refusals_but_changes_no_outcome() -> None:
    gate = Gate(Source(), identity=by_header, shadow=True)
    allowed, refused, nobody = (
        judge(gate, x_user="alice"),
        judge(gate, x_user="bob"),
        judge(gate),
    )
    assert allowed.allowed
    assert not allowed.shadow
    assert (refused.status, refused.shadow, refused.allowed) == (403, True, False)
    assert (nobody.status, nobody.shadow) == (401, True)


class Keep(logging.Handler):
    """A log handler keeping the records in ``records``."""

    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__()
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def decisions() -> Iterator[list[logging.LogRecord]]:
    """The decision log's records, at every level."""
    records: list[logging.LogRecord] = []

    logger = logging.getLogger(DECISION_LOGGER)
    handler, level = Keep(records), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield records
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_the_decision_log_records_who_which_rule_and_what_is_missing_never_the_token(
    decisions: list[logging.LogRecord],
) -> None:
    gate = Gate(Source(), identity=by_header, log_allows=True)
    judge(gate, x_token=TOKEN, x_user="bob")
    judge(gate, x_token=TOKEN, x_user="alice")
    judge(gate)
    refused, allowed, nobody = decisions
    fields = refused.tca_gate  # type: ignore[attr-defined]
    assert fields["outcome"] == "insufficient-tokens"
    assert fields["status"] == 403
    assert fields["identity"].startswith("token:")
    assert "(user:bob)" in fields["identity"]
    assert fields["rule_hash"] == RULE.semantic_hash
    assert fields["rule_name"] == "members"
    assert fields["shortfall"] == "Needs 1 TOKENLY, or 1,200 more LTBCOIN."
    assert fields["path"] == "/members"
    assert fields["shadow"] is False
    assert (refused.levelno, allowed.levelno) == (logging.INFO, logging.DEBUG)
    assert allowed.tca_gate["outcome"] == "allowed"  # type: ignore[attr-defined]
    assert nobody.tca_gate["identity"] == "-"  # type: ignore[attr-defined]
    for record in decisions:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in repr(record.tca_gate)  # type: ignore[attr-defined]


def test_allows_are_logged_only_when_asked_for(decisions: list[logging.LogRecord]) -> None:
    """Allows are the bulk of the traffic: by default only refusals are recorded."""
    quiet = Gate(CachedBalances(Source()), identity=by_header)
    for _ in range(2):  # a miss, then a cache hit
        assert judge(quiet, x_token=TOKEN, x_user="alice").outcome is Outcome.ALLOWED
    judge(quiet, x_user="bob")
    assert [record.tca_gate["outcome"] for record in decisions] == [  # type: ignore[attr-defined]
        "insufficient-tokens"
    ]
    chatty = Gate(CachedBalances(Source()), identity=by_header, log_allows=True)
    for _ in range(2):
        judge(chatty, x_token=TOKEN, x_user="alice")
    assert [record.tca_gate["outcome"] for record in decisions[1:]] == [  # type: ignore[attr-defined]
        "allowed",
        "allowed",
    ]


def test_a_custom_decision_logger_gets_the_records(decisions: list[logging.LogRecord]) -> None:
    seen: list[logging.LogRecord] = []
    logger = logging.getLogger("tests.gate.decisions")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler := Keep(seen))
    try:
        judge(Gate(Source(), identity=by_header, decision_log=logger), x_user="bob")
    finally:
        logger.removeHandler(handler)
    assert [record.tca_gate["status"] for record in seen] == [403]  # type: ignore[attr-defined]
    assert decisions == []


@pytest.mark.parametrize(
    "login_url",
    ["//evil.example/login", "https://evil.example/", "/\\evil.example", "/a\tb", "login"],
)
def test_the_login_url_must_be_a_path_on_this_site(login_url: str) -> None:
    with pytest.raises(InvalidArgumentError, match="login_url must be a path on this site"):
        Gate(Source(), login_url=login_url)


def test_a_gate_refuses_wrong_arguments() -> None:
    with pytest.raises(InvalidArgumentError, match="balances must be a BalanceSource"):
        Gate({"alice": {}})  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="identity must be a callable"):
        Gate(Source(), identity="alice")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="dialect"):
        Gate(Source(), dialect="php")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="scope"):
        Gate(Source(), scope="private")  # type: ignore[arg-type]
    assert Gate(Source(), login_url="").login_url == ""


# The property: the gate allows exactly when an identity was read, the balances were
# read, and the rule passes on them; every failure on the way is a refusal.

ASSETS = ("TOKENLY", "LTBCOIN", "XCP", "BITCRYSTALS")
OPERATORS = (">=", ">", "<", "<=", "==", "!=")
amounts = st.one_of(
    st.integers(0, 20_000).map(str),
    st.decimals(0, 100, places=8, allow_nan=False, allow_infinity=False).map("{:f}".format),
)
clauses = st.builds("{} {} {}".format, st.sampled_from(ASSETS), st.sampled_from(OPERATORS), amounts)
rules = st.lists(
    st.lists(clauses, min_size=1, max_size=3).map(" and ".join), min_size=1, max_size=3
).map(" or ".join)
balance_sheets = st.dictionaries(
    st.sampled_from(ASSETS),
    st.one_of(st.integers(0, 3 * 10**12), st.sampled_from([0, 1, SAT, 10_000 * SAT])),
)
IDENTITIES = ("user", "token", "nobody", "raises", "not-a-holder")
SOURCES = ("answers", "unknown", "unavailable", "raises", "nonsense", "cache-raises")


def resolver_for(mode: str) -> Callable[[HTTPConnection], Any]:
    return {
        "user": lambda conn: Holder.user("alice"),
        "token": lambda conn: Holder.token(TOKEN, owner="alice"),
        "nobody": lambda conn: None,
        "raises": raising(RuntimeError("resolver")),
        "not-a-holder": lambda conn: "alice",
    }[mode]


def balances_for(mode: str, sheet: Mapping[str, int], cached: bool) -> Any:
    source = Source({"alice": sheet})
    if mode == "unknown":
        source.held = {}
    elif mode == "unavailable":
        source.failure = BalanceUnavailableError("down")
    elif mode == "raises":
        source.failure = ValueError("a bug")
    elif mode == "nonsense":
        source.answer = {**sheet, "TOKENLY": True}
    elif mode == "cache-raises":
        return BrokenCache(ConnectionError("redis"))
    return CachedBalances(source) if cached else source


@settings(max_examples=300, deadline=None)
@given(
    rule_text=rules,
    sheet=balance_sheets,
    identity=st.sampled_from(IDENTITIES),
    source=st.sampled_from(SOURCES),
    cached=st.booleans(),
    shadow=st.booleans(),
)
def test_the_gate_allows_exactly_when_the_rule_passes_on_balances_read(
    *,
    rule_text: str,
    sheet: dict[str, int],
    identity: str,
    source: str,
    cached: bool,
    shadow: bool,
) -> None:
    rule = compile_rule(rule_text)
    gate = Gate(balances_for(source, sheet, cached), identity=resolver_for(identity), shadow=shadow)
    verdict = asyncio.run(gate.check(connection(), rule, "p"))
    identified = identity in ("user", "token")
    expected = identified and source == "answers" and rule.evaluate(sheet)
    assert verdict.allowed is expected
    assert (verdict.status == 200) is expected
    assert verdict.shadow is (shadow and not expected)
    if not identified:
        assert verdict.status == 401
    elif source in ("unavailable", "raises", "nonsense", "cache-raises"):
        assert verdict.status == 503
    elif source == "unknown":
        assert verdict.status == (401 if identity == "token" else 403)
    elif not expected:
        assert (verdict.status, verdict.outcome) == (403, Outcome.INSUFFICIENT_TOKENS)
        assert verdict.decision is not None
        assert not verdict.decision.allowed


@settings(max_examples=100, deadline=None)
@given(sheets=st.lists(balance_sheets, min_size=2, max_size=6), rule_text=rules)
def test_holders_judged_together_each_get_their_own_verdict(
    sheets: list[dict[str, int]], rule_text: str
) -> None:
    rule = compile_rule(rule_text)
    names = [f"user{number}" for number in range(len(sheets))]
    cache = CachedBalances(
        StaticBalances({"users": {n: {"public": s} for n, s in zip(names, sheets, strict=True)}})
    )
    gate = Gate(cache, identity=by_header)

    async def everyone() -> list[Verdict]:
        return await asyncio.gather(
            *(gate.check(connection(headers={"x-user": name}), rule) for name in names * 3)
        )

    verdicts = asyncio.run(everyone())
    for verdict, (name, sheet) in zip(
        verdicts, list(zip(names, sheets, strict=True)) * 3, strict=True
    ):
        assert verdict.holder == Holder.user(name)
        assert verdict.allowed is rule.evaluate({a: v for a, v in sheet.items() if v})


def test_the_default_identity_counts_request_user_only_in_the_public_scope() -> None:
    """A username reaches public balances only: in the protected scope, judging it would
    read fewer balances than asked for, so without a Tokenpass login it is a 401, and an
    app without sessions at all is set up wrong."""
    from starlette.authentication import SimpleUser

    from tca_gate.gate import GateConfigError

    holdings = StaticBalances({"users": {"alice": {"public": {"TOKENLY": 100_000_000}}}})
    rule = compile_rule("TOKENLY >= 1")
    conn = connection()
    conn.scope["user"] = SimpleUser("alice")
    public = asyncio.run(Gate(holdings).check(conn, rule))
    assert (public.outcome, public.holder) == (Outcome.ALLOWED, Holder.user("alice"))
    protected_gate = Gate(holdings, scope="protected")
    with pytest.raises(GateConfigError, match="the request has no session"):
        asyncio.run(protected_gate.check(conn, rule))
    conn.scope["session"] = {}  # sessions, but nobody logged in
    protected = asyncio.run(protected_gate.check(conn, rule))
    assert (protected.outcome, protected.holder) == (Outcome.UNAUTHENTICATED, None)


@settings(max_examples=200, deadline=None)
@given(
    rule_text=rules,
    sheet=balance_sheets,
    identity=st.sampled_from(IDENTITIES),
    source=st.sampled_from(SOURCES),
    cached=st.booleans(),
)
def test_the_middleware_answers_as_the_gate_decides_on_a_miss_and_on_a_hit(
    *, rule_text: str, sheet: dict[str, int], identity: str, source: str, cached: bool
) -> None:
    """The middleware runs the gate's fast path inlined: the same property holds through
    it, on the first request (the cache misses) and the second (it may hit)."""
    from starlette.types import Message

    from tca_gate.gate import TcaGateMiddleware

    rule = compile_rule(rule_text)
    gate = Gate(balances_for(source, sheet, cached), identity=resolver_for(identity))
    reached: list[bool] = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(scope["state"]["tca_gate"].allowed)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"in"})

    app = TcaGateMiddleware(endpoint, gate=gate, rules={"/members": rule})

    async def status() -> int:
        sent: list[Message] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": b""}

        async def send(message: Message) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/members", "headers": []}
        await app(scope, receive, send)
        started = next(m for m in sent if m["type"] == "http.response.start")
        assert (b"cache-control", b"private, no-store") in started["headers"]
        return int(started["status"])

    expected = identity in ("user", "token") and source == "answers" and rule.evaluate(sheet)
    for _ in range(2):
        assert (asyncio.run(status()) == 200) is expected
    assert reached == ([True, True] if expected else [])
