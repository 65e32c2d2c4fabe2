"""The gate as an app's users meet it, under a real uvicorn over loopback: shadow mode in
front of Starlette's ``requires``, ``Vary`` merged with the app's own, who the verdict
names (``verdict.username``), and ``on_refusal`` answering every kind of refusal."""

from __future__ import annotations

from collections.abc import Mapping

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tca_gate.balances import BalanceUnavailableError, Holder, StaticBalances
from tca_gate.gate import (
    Gate,
    IdentityResolver,
    Outcome,
    RefusalRenderer,
    TcaGateMiddleware,
    Verdict,
    header_identity,
)
from tca_gate.rules import RuleSource
from tests.support.servers import serve

SAT = 100_000_000
HOLDINGS = {
    "users": {"alice": {"public": {"TOKENLY": 2 * SAT}}, "bob": {"public": {"LTBCOIN": SAT}}},
    "addresses": {"1Alice": {"TOKENLY": 2 * SAT}},
    "tokens": {"alice-token": "alice"},
}
RULE = "TOKENLY >= 1"


@requires("tca:members")
async def members(request: Request) -> Response:
    return PlainTextResponse("welcome")


async def who(request: Request) -> Response:
    verdict: Verdict = request.state.tca_gate
    return JSONResponse({"username": getattr(verdict, "username", None)})


async def own_vary(request: Request) -> Response:
    vary = "accept-encoding, ACCEPT, Accept-Encoding"
    return PlainTextResponse("hi", headers={"Vary": vary, "Cache-Control": "public"})


def app_with(gate: Gate, rules: Mapping[str, RuleSource]) -> Starlette:
    return Starlette(
        routes=[
            Route("/members", members),
            Route("/who", who),
            Route("/vary", own_vary),
        ],
        middleware=[Middleware(TcaGateMiddleware, gate=gate, rules=rules)],
    )


def by_user() -> Gate:
    return Gate(StaticBalances(HOLDINGS), identity=header_identity("X-User"))


def test_shadow_mode_in_front_of_requires_is_its_403_not_a_500() -> None:
    """A refusal shadow mode lets through reaches ``@requires("tca:members")`` with an
    empty ``request.auth`` (no AuthenticationMiddleware here): Starlette's own 403."""
    gate = Gate(StaticBalances(HOLDINGS), identity=header_identity("X-User"), shadow=True)
    app = app_with(gate, {"/members": {"rule": RULE, "name": "members"}})
    with serve(app) as url:
        refused = httpx2.get(f"{url}/members", headers={"x-user": "bob"})
        nobody = httpx2.get(f"{url}/members")
        allowed = httpx2.get(f"{url}/members", headers={"x-user": "alice"})
    assert (refused.status_code, refused.text) == (403, "Forbidden")
    assert nobody.status_code == 403
    assert (allowed.status_code, allowed.text) == (200, "welcome")


def test_vary_names_each_header_once_merged_with_the_apps_own() -> None:
    app = app_with(by_user(), {"/vary": RULE})
    with serve(app) as url:
        allowed = httpx2.get(f"{url}/vary", headers={"x-user": "alice"})
        refused = httpx2.get(f"{url}/vary", headers={"x-user": "bob"})
    assert allowed.status_code == 200
    assert allowed.headers.get_list("vary") == ["accept-encoding, ACCEPT, Cookie, Authorization"]
    assert allowed.headers.get_list("cache-control") == ["private, no-store"]
    assert refused.status_code == 403
    assert refused.headers.get_list("vary") == ["Accept, Cookie, Authorization"]


@pytest.mark.parametrize(
    ("identity", "headers", "username"),
    [
        (header_identity("X-User"), {"x-user": "alice"}, "alice"),
        (header_identity("X-Token", kind="token"), {"x-token": "alice-token"}, None),
    ],
)
def test_the_verdict_names_the_user_never_the_token(
    identity: IdentityResolver, headers: dict[str, str], username: str | None
) -> None:
    gate = Gate(StaticBalances(HOLDINGS), identity=identity)
    with serve(app_with(gate, {"/who": RULE})) as url:
        response = httpx2.get(f"{url}/who", headers=headers)
    assert response.status_code == 200
    assert response.json() == {"username": username}


def test_verdict_username_for_each_kind_of_identity() -> None:
    rule = Gate(StaticBalances(HOLDINGS)).rule(RULE)

    def verdict(holder: Holder | None) -> Verdict:
        return Verdict(Outcome.ALLOWED, rule, holder=holder)

    assert verdict(Holder.user("alice")).username == "alice"
    assert verdict(Holder.token("alice-token", owner="alice")).username == "alice"
    with pytest.raises(AttributeError, match="OAuth token whose user is not known"):
        _ = verdict(Holder.token("alice-token")).username
    with pytest.raises(AttributeError, match="addresses"):
        _ = verdict(Holder.addresses(["1Alice"])).username
    with pytest.raises(AttributeError, match="no identity"):
        _ = verdict(None).username


class Down:
    """Balances that cannot be read."""

    async def balances(self, holder: Holder) -> Mapping[str, int]:
        raise BalanceUnavailableError("Tokenpass is down")


async def own_refusal(request: HTTPConnection, verdict: Verdict) -> Response | None:
    """An app's refusal page: says what was missing when it is known, and otherwise why."""
    decision = verdict.decision
    if decision is None:  # no balances read: 401 and 503 refusals
        return PlainTextResponse(f"{verdict.status}: {verdict.reason}", verdict.status)
    return PlainTextResponse(f"missing: {decision.summary}", verdict.status)


def test_on_refusal_answers_503s_without_a_decision_and_403s_with_one() -> None:
    renderer: RefusalRenderer = own_refusal  # the type an app's renderer has
    up = Gate(StaticBalances(HOLDINGS), identity=header_identity("X-User"), on_refusal=renderer)
    down = Gate(Down(), identity=header_identity("X-User"), on_refusal=renderer)
    with serve(app_with(up, {"/who": RULE})) as url:
        short = httpx2.get(f"{url}/who", headers={"x-user": "bob"})
        anonymous = httpx2.get(f"{url}/who")
    with serve(app_with(down, {"/who": RULE})) as url:
        unavailable = httpx2.get(f"{url}/who", headers={"x-user": "alice"})
    assert (short.status_code, short.text) == (403, "missing: Needs 1 TOKENLY.")
    assert (anonymous.status_code, anonymous.text) == (401, "401: unauthenticated")
    assert (unavailable.status_code, unavailable.text) == (503, "503: balances-unavailable")
    assert unavailable.headers["cache-control"] == "private, no-store"
