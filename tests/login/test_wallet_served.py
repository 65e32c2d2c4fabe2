"""Sign in with a wallet over HTTP: the routes under uvicorn on loopback, a client keeping
cookies as a browser does, signatures made by an independent signer (pycoin), and the
gate letting in or refusing by the proven address's balances."""

from __future__ import annotations

import contextlib
import html
import json
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx2
import pytest
import redis
import redis.asyncio
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Router

from tca_gate.fastapi import require_tokens
from tca_gate.gate import Gate, Verdict
from tca_gate.login import CSRF_HEADER
from tca_gate.login.wallet import RedisWalletStore, WalletLogin
from tca_gate.signing.replay import AsyncRedisReplayStore
from tests.support.browsing import JSON
from tests.support.servers import serve
from tests.support.wallet import (
    BALANCES,
    POOR,
    RICH,
    RULE,
    STRANGER,
    challenge,
    client,
    sign_in,
    starlette_app,
    verify,
)

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def test_the_gate_lets_in_the_proven_address_that_holds_enough() -> None:
    with client() as http:
        assert http.get("/vip", headers=JSON).status_code == 401
        sign_in(http, RICH)
        assert http.get("/me").json() == {"address": RICH.address}
        answer = http.get("/vip", headers=JSON)
        assert answer.status_code == 200
        assert answer.json() == {"welcome": [RICH.address]}


def test_the_gate_refuses_a_proven_address_that_holds_too_little() -> None:
    with client() as http:
        sign_in(http, POOR)  # an uncompressed key's address signs in too
        refused = http.get("/vip", headers=JSON)
        assert refused.status_code == 403
        assert refused.json()["error"] == "insufficient-tokens"
        assert refused.json()["detail"] == "Needs 1 TOKENLY."


def test_an_address_without_balances_is_refused_not_let_in() -> None:
    with client() as http:
        sign_in(http, STRANGER)
        assert http.get("/vip", headers=JSON).status_code == 403


def test_a_replayed_signature_is_refused_with_or_without_the_old_cookie() -> None:
    with client() as http:
        asked = challenge(http)
        signature = RICH.sign(asked["message"])
        old_cookie = dict(http.cookies)
        assert verify(http, RICH.address, signature, asked["csrf_token"]).status_code == 200

        again = verify(http, RICH.address, signature, challenge(http)["csrf_token"])
        assert again.status_code == 403
        assert again.json()["error"] == "signature_mismatch"  # a new challenge was shown

        with httpx2.Client(base_url=str(http.base_url), cookies=old_cookie) as thief:
            replayed = verify(thief, RICH.address, signature, asked["csrf_token"])
        assert replayed.status_code == 403
        assert replayed.json() == {
            "error": "challenge_used",
            "error_description": "This challenge has already been used to sign in: ask for a "
            "new one.",
        }


def test_a_signature_shown_to_another_browser_does_not_sign_in_here() -> None:
    with client() as http:
        asked = challenge(http)
        signature = RICH.sign(asked["message"])
        with httpx2.Client(base_url=str(http.base_url)) as other:
            theirs = challenge(other)
            refused = verify(other, RICH.address, signature, theirs["csrf_token"])
            assert refused.status_code == 403
            assert refused.json()["error"] == "signature_mismatch"
            assert other.get("/me").json() == {"address": None}


def test_a_challenge_for_another_host_is_refused() -> None:
    with client() as http:
        asked = challenge(http)
        signature = RICH.sign(asked["message"])
        moved = http.post(
            "/wallet/verify",
            json={"address": RICH.address, "signature": signature},
            headers={**JSON, CSRF_HEADER: asked["csrf_token"], "Host": "localhost"},
        )
        assert moved.status_code == 400
        assert moved.json()["error"] == "wrong_origin"


def test_an_expired_challenge_is_refused() -> None:
    now = [1_800_000_000.0]
    with client(WalletLogin(clock=lambda: now[0], challenge_ttl=60)) as http:
        asked = challenge(http)
        now[0] += 60
        late = verify(http, RICH.address, RICH.sign(asked["message"]), asked["csrf_token"])
        assert late.status_code == 400
        assert late.json()["error"] == "challenge_expired"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"address": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"}, "invalid_address"),
        ({"signature": "c2lnbmF0dXJl"}, "invalid_signature"),
        ({"signature": None}, "invalid_signature"),
        ({"address": ["list"]}, "invalid_address"),
    ],
)
def test_malformed_fields_are_refused_with_why(body: dict[str, Any], code: str) -> None:
    with client() as http:
        asked = challenge(http)
        fields = {"address": RICH.address, "signature": RICH.sign(asked["message"])} | body
        answer = http.post(
            "/wallet/verify", json=fields, headers={**JSON, CSRF_HEADER: asked["csrf_token"]}
        )
        assert answer.status_code == 400
        assert answer.json()["error"] == code
        assert http.get("/me").json() == {"address": None}


def test_a_form_without_the_csrf_token_or_in_another_shape_is_refused() -> None:
    with client() as http:
        asked = challenge(http)
        fields = {"address": RICH.address, "signature": RICH.sign(asked["message"])}
        no_csrf = http.post("/wallet/verify", json=fields, headers=JSON)
        assert (no_csrf.status_code, no_csrf.json()["error"]) == (403, "invalid_csrf")
        text = http.post(
            "/wallet/verify",
            content="address=x",
            headers={**JSON, "Content-Type": "text/plain", CSRF_HEADER: asked["csrf_token"]},
        )
        assert (text.status_code, text.json()["error"]) == (415, "invalid_form")
        huge = http.post(
            "/wallet/verify",
            content=json.dumps({"address": "1" * 20_000}),
            headers={**JSON, "Content-Type": "application/json", CSRF_HEADER: asked["csrf_token"]},
        )
        assert (huge.status_code, huge.json()["error"]) == (400, "invalid_form")
        # none of these used the challenge up
        assert verify(http, **fields, csrf=asked["csrf_token"]).status_code == 200


def hidden_fields(text: str) -> dict[str, str]:
    """The hidden inputs of a page's form, by name."""
    found = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', text)
    return {name: html.unescape(value) for name, value in found}


class Page:
    """What a browser reads from the challenge page."""

    def __init__(self, text: str) -> None:
        found = re.search(r'<code id="challenge">([^<]*)</code>', text)
        assert found is not None, text
        self.message = html.unescape(found.group(1))
        self.fields = hidden_fields(text)


def test_a_browser_signs_in_through_the_page_and_is_sent_on() -> None:
    with client() as http:
        # a browser without a sign-in is sent to the challenge
        refused = http.get("/vip", headers={"Accept": "text/html"})
        assert refused.status_code in (302, 303, 307)
        assert refused.headers["location"].startswith("/wallet/challenge")

        page = http.get("/wallet/challenge", params={"next": "/vip"}, headers=BROWSER)
        assert page.status_code == 200
        assert "Sign in with your wallet" in page.text
        shown = Page(page.text)
        assert shown.message.startswith(f"Sign in to {http.base_url.scheme}://")
        assert shown.fields["next"] == "/vip"

        forged = STRANGER.sign(shown.message)
        wrong = http.post(
            "/wallet/verify",
            data={**shown.fields, "address": RICH.address, "signature": forged},
            headers=BROWSER,
        )
        assert wrong.status_code == 403
        assert 'data-error="signature_mismatch"' in wrong.text
        assert "does not prove that this address signed" in wrong.text

        signed = http.post(
            "/wallet/verify",
            data={**shown.fields, "address": RICH.address, "signature": RICH.sign(shown.message)},
            headers=BROWSER,
        )
        assert signed.status_code == 303
        assert signed.headers["location"] == "/vip"
        assert http.get("/vip", headers=JSON).status_code == 200


def test_the_next_page_must_be_on_this_site() -> None:
    with client() as http:
        answer = http.get("/wallet/challenge", params={"next": "//evil.example/"}, headers=JSON)
        assert (answer.status_code, answer.json()["error"]) == (400, "invalid_next")


def test_logging_out_needs_the_csrf_token_and_ends_the_sign_in() -> None:
    with client() as http:
        sign_in(http, RICH)
        old_cookie = dict(http.cookies)
        forged = http.post("/wallet/logout", headers=JSON)
        assert (forged.status_code, forged.json()["error"]) == (403, "invalid_csrf")
        assert http.get("/me").json() == {"address": RICH.address}

        form = hidden_fields(http.get("/wallet/logout").text)
        out = http.post("/wallet/logout", data=form)
        assert out.status_code == 303
        assert http.get("/me").json() == {"address": None}
        assert http.get("/vip", headers=JSON).status_code == 401
        with httpx2.Client(base_url=str(http.base_url), cookies=old_cookie) as copy:
            assert copy.get("/me").json() == {"address": None}


#: The FastAPI app's wallet sign-in and gate: module globals, as FastAPI resolves the
#: dependencies' annotations in the module.
FASTAPI_WALLET = WalletLogin()
FASTAPI_GATE = Gate(BALANCES, identity=FASTAPI_WALLET.identity(), login_url="/wallet/challenge")
api = FastAPI(middleware=[Middleware(SessionMiddleware, secret_key="test-session-secret")])
api.mount("/wallet", Router(FASTAPI_WALLET.routes))


@api.get("/me")
async def who(address: Annotated[str, Depends(FASTAPI_WALLET.require_address)]) -> dict[str, str]:
    return {"address": address}


@api.get("/vip")
async def members(
    verdict: Annotated[Verdict, Depends(require_tokens(RULE, gate=FASTAPI_GATE))],
) -> dict[str, bool]:
    return {"allowed": verdict.allowed}


def test_fastapi_mounts_the_routes_and_guards_by_the_proven_address() -> None:
    with serve(api) as url:
        with httpx2.Client(base_url=url, timeout=10) as http:
            assert http.get("/me").status_code == 401
            assert http.get("/vip", headers=JSON).status_code == 401
            sign_in(http, POOR)
            assert http.get("/me").json() == {"address": POOR.address}
            assert http.get("/vip", headers=JSON).status_code == 403
        with httpx2.Client(base_url=url, timeout=10) as http:
            sign_in(http, RICH)
            assert http.get("/vip", headers=JSON).json() == {"allowed": True}


def worker(redis_url: str) -> Starlette:
    """A worker of the app (of one site, whatever port it listens on) whose used
    challenges and sign-ins are in the one Redis (its client closed by its lifespan)."""
    client = redis.asyncio.Redis.from_url(redis_url)
    wallet = WalletLogin(
        origin="https://shop.example",
        replay_store=AsyncRedisReplayStore(client),
        store=RedisWalletStore(client),
    )
    app = starlette_app(wallet)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()

    app.router.lifespan_context = lifespan
    return app


def test_two_workers_sharing_redis_share_the_sign_in_and_refuse_a_replay(
    redis_url: str, redis_client: redis.Redis
) -> None:
    with (
        serve(worker(redis_url), lifespan=True) as first,
        serve(worker(redis_url), lifespan=True) as second,
        httpx2.Client(base_url=first, timeout=10) as http,
    ):
        asked = challenge(http)
        signature = RICH.sign(asked["message"])
        old_cookie = dict(http.cookies)
        assert verify(http, RICH.address, signature, asked["csrf_token"]).status_code == 200
        # the same browser on the other worker (cookies go by host, not port)
        assert http.get(f"{second}/vip", headers=JSON).json() == {"welcome": [RICH.address]}
        with httpx2.Client(base_url=second, cookies=old_cookie) as thief:
            replayed = verify(thief, RICH.address, signature, asked["csrf_token"])
        assert (replayed.status_code, replayed.json()["error"]) == (403, "challenge_used")

        csrf = hidden_fields(http.get(f"{second}/wallet/logout").text)
        assert http.post(f"{second}/wallet/logout", data=csrf).status_code == 303
        assert http.get("/vip", headers=JSON).status_code == 401
