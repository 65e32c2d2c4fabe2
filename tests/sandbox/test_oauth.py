"""The sandbox's OAuth provider over loopback: authorize page, code exchange, /oauth/user."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from tca_gate.sandbox import _accounts
from tca_gate.sandbox._bodies import MAX_FORM
from tests.support.clocks import ManualClock
from tests.support.sandboxes import TEST_SEED, Sandbox, running_sandbox


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock(1_700_000_000.0)


@pytest.fixture(scope="module")
def sandbox(clock: ManualClock) -> Iterator[Sandbox]:
    with running_sandbox(clock=clock) as running:
        yield running


def _authorize_params(sandbox: Sandbox, **changes: str) -> dict[str, str]:
    params = {
        "client_id": sandbox.client_id,
        "redirect_uri": sandbox.redirect_uri,
        "scope": "user,tca",
        "response_type": "code",
        "state": "s1",
    }
    return params | changes


def test_the_whole_flow_gives_a_token_for_the_user_with_the_scopes(sandbox: Sandbox) -> None:
    answer = sandbox.exchange(
        sandbox.authorization_code("alice", ["user", "tca", "private-balances"])
    )
    assert answer.status_code == 200
    token = answer.json()
    assert token["token_type"] == "Bearer"
    assert token["scope"] == "user,tca,private-balances"
    assert token["expires_in"] > 0
    user = httpx2.get(f"{sandbox.url}/oauth/user", params={"access_token": token["access_token"]})
    assert user.status_code == 200
    assert user.json() == {
        "id": "5b0c3c55-8e07-4bf6-9d4b-1a2f6ad0a001",
        "username": "alice",
        "email": "alice@example.com",
        "name": "Alice",
        "email_is_confirmed": True,
    }


def test_the_authorize_page_is_a_login_form_naming_the_app_and_scopes(sandbox: Sandbox) -> None:
    page = httpx2.get(f"{sandbox.url}/oauth/authorize", params=_authorize_params(sandbox))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "tca-gate demo app" in page.text
    assert "<li>tca</li>" in page.text
    assert 'name="password"' in page.text


def test_a_code_is_single_use(sandbox: Sandbox) -> None:
    code = sandbox.authorization_code("bob")
    assert sandbox.exchange(code).status_code == 200
    again = sandbox.exchange(code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_a_code_is_bound_to_its_redirect_uri(sandbox: Sandbox) -> None:
    other = "http://localhost:8000/auth/callback"
    code = sandbox.authorization_code("bob", redirect_uri=other)
    answer = sandbox.exchange(code)  # the client's first redirect_uri, not the one used
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"
    assert sandbox.exchange(code, redirect_uri=other).status_code == 400  # and it is now spent


def test_a_wrong_client_secret_is_refused(sandbox: Sandbox) -> None:
    code = sandbox.authorization_code("bob")
    answer = httpx2.post(
        f"{sandbox.url}/oauth/access-token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": sandbox.redirect_uri,
            "client_id": sandbox.client_id,
            "client_secret": "not-the-secret",
        },
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_client"
    assert sandbox.exchange(code).status_code == 200  # the code was not spent by the attempt


def test_a_code_is_bound_to_its_client() -> None:
    with running_sandbox(TEST_SEED) as sandbox:
        code = sandbox.authorization_code("dana")
        answer = httpx2.post(
            f"{sandbox.url}/oauth/access-token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": "http://127.0.0.1:9/other-callback",
                "client_id": "other-app",
                "client_secret": "other-app-secret",
            },
        )
        assert answer.status_code == 400
        assert answer.json()["error"] == "invalid_grant"
        assert sandbox.exchange(code).status_code == 200  # another app cannot spend it


def test_a_code_expires_after_ten_minutes(sandbox: Sandbox, clock: ManualClock) -> None:
    code = sandbox.authorization_code("carol")
    clock.now += 601
    try:
        answer = sandbox.exchange(code)
    finally:
        clock.now -= 601
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_a_code_within_ten_minutes_is_accepted(sandbox: Sandbox, clock: ManualClock) -> None:
    code = sandbox.authorization_code("carol")
    clock.now += 590
    try:
        answer = sandbox.exchange(code)
    finally:
        clock.now -= 590
    assert answer.status_code == 200


def test_basic_client_auth_is_refused(sandbox: Sandbox) -> None:
    code = sandbox.authorization_code("bob")
    answer = httpx2.post(
        f"{sandbox.url}/oauth/access-token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": sandbox.redirect_uri,
        },
        auth=(sandbox.client_id, sandbox.client_secret),
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_client"


def test_deny_redirects_with_access_denied_and_the_state(sandbox: Sandbox) -> None:
    form = _authorize_params(sandbox, state="keep-me") | {"decision": "deny"}
    answer = httpx2.post(f"{sandbox.url}/oauth/authorize", data=form)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == sandbox.redirect_uri
    query = parse_qs(location.query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["keep-me"]
    assert query["error_description"]


def test_a_wrong_password_shows_the_form_again(sandbox: Sandbox) -> None:
    form = _authorize_params(sandbox) | {
        "username": "alice",
        "password": "wrong",
        "decision": "grant",
    }
    answer = httpx2.post(f"{sandbox.url}/oauth/authorize", data=form)
    assert answer.status_code == 401
    assert "wrong username or password" in answer.text
    assert "location" not in answer.headers


def test_an_unregistered_redirect_uri_is_not_followed(sandbox: Sandbox) -> None:
    params = _authorize_params(sandbox, redirect_uri="https://evil.example/cb")
    answer = httpx2.get(f"{sandbox.url}/oauth/authorize", params=params)
    assert answer.status_code == 400
    assert "location" not in answer.headers


def test_an_unknown_client_is_refused_on_the_page(sandbox: Sandbox) -> None:
    answer = httpx2.get(
        f"{sandbox.url}/oauth/authorize", params=_authorize_params(sandbox, client_id="nobody")
    )
    assert answer.status_code == 400
    assert "client" in answer.text


@pytest.mark.parametrize("scope", ["user,root", "user tca", "user, tca", "user,,tca"])
def test_an_unknown_scope_is_sent_back_as_invalid_scope(sandbox: Sandbox, scope: str) -> None:
    params = _authorize_params(sandbox, scope=scope)
    answer = httpx2.get(f"{sandbox.url}/oauth/authorize", params=params)
    assert answer.status_code == 302
    sent_back = parse_qs(urlsplit(answer.headers["location"]).query)
    assert sent_back["error"] == ["invalid_scope"]
    assert sent_back["state"] == ["s1"]
    assert answer.headers["location"].startswith(sandbox.redirect_uri)


def test_a_granted_scope_list_is_comma_joined_and_without_repeats(sandbox: Sandbox) -> None:
    answer = sandbox.exchange(sandbox.authorization_code("bob", ["tca", "user", "tca"]))
    assert answer.json()["scope"] == "tca,user"


VERIFIER = "a-pkce-code-verifier-of-at-least-43-characters-0123456789"


def test_pkce_with_the_right_verifier_gives_a_token(sandbox: Sandbox) -> None:
    code = sandbox.authorization_code("alice", code_verifier=VERIFIER)
    answer = sandbox.exchange(code, code_verifier=VERIFIER)
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "user,tca"


def test_the_authorize_form_carries_the_code_challenge(sandbox: Sandbox) -> None:
    params = _authorize_params(sandbox, code_challenge="c" * 43, code_challenge_method="S256")
    page = httpx2.get(f"{sandbox.url}/oauth/authorize", params=params)
    assert 'name="code_challenge" value="' + "c" * 43 + '"' in page.text
    assert 'name="code_challenge_method" value="S256"' in page.text


@pytest.mark.parametrize(
    ("verifier", "error"),
    [
        pytest.param(VERIFIER[:-1] + "x", "invalid_grant", id="wrong verifier"),
        pytest.param(None, "invalid_request", id="no verifier"),
    ],
)
def test_pkce_refuses_an_exchange_without_the_right_verifier(
    sandbox: Sandbox, verifier: str | None, error: str
) -> None:
    code = sandbox.authorization_code("alice", code_verifier=VERIFIER)
    answer = sandbox.exchange(code, code_verifier=verifier)
    assert answer.status_code == 400
    assert answer.json()["error"] == error
    assert sandbox.exchange(code, code_verifier=VERIFIER).status_code == 400  # the code is spent


def test_a_verifier_for_a_code_issued_without_a_challenge_is_refused(sandbox: Sandbox) -> None:
    answer = sandbox.exchange(sandbox.authorization_code("alice"), code_verifier=VERIFIER)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"


def test_a_plain_code_challenge_is_accepted(sandbox: Sandbox) -> None:
    params = _authorize_params(sandbox, code_challenge=VERIFIER, code_challenge_method="plain")
    page = httpx2.get(f"{sandbox.url}/oauth/authorize", params=params)
    form = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    form |= {"username": "bob", "password": sandbox.password_of("bob"), "decision": "grant"}
    granted = httpx2.post(f"{sandbox.url}/oauth/authorize", data=form)
    code = parse_qs(urlsplit(granted.headers["location"]).query)["code"][0]
    assert sandbox.exchange(code, code_verifier=VERIFIER).status_code == 200


def test_an_unsupported_code_challenge_method_is_sent_back(sandbox: Sandbox) -> None:
    params = _authorize_params(sandbox, code_challenge="c" * 43, code_challenge_method="S512")
    answer = httpx2.get(f"{sandbox.url}/oauth/authorize", params=params)
    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer.headers["location"]).query)["error"] == ["invalid_request"]


@pytest.mark.parametrize("token", ["", "not-a-token"])
def test_oauth_user_refuses_a_bad_token(sandbox: Sandbox, token: str) -> None:
    answer = httpx2.get(f"{sandbox.url}/oauth/user", params={"access_token": token})
    assert answer.status_code == 401
    assert answer.json()["field"] == "access_token"


def test_oauth_user_takes_a_bearer_header(sandbox: Sandbox) -> None:
    token = sandbox.access_token("bob")
    answer = httpx2.get(f"{sandbox.url}/oauth/user", headers={"Authorization": f"Bearer {token}"})
    assert answer.json()["username"] == "bob"


def test_an_access_token_expires(sandbox: Sandbox, clock: ManualClock) -> None:
    token = sandbox.access_token("bob")
    clock.now += 31 * 24 * 3600
    try:
        answer = httpx2.get(f"{sandbox.url}/oauth/user", params={"access_token": token})
    finally:
        clock.now -= 31 * 24 * 3600
    assert answer.status_code == 401


def test_oauth_user_needs_the_user_scope(sandbox: Sandbox) -> None:
    token = sandbox.access_token("alice", ["tca"])
    answer = httpx2.get(f"{sandbox.url}/oauth/user", params={"access_token": token})
    assert answer.status_code == 403
    assert answer.json() == {
        "error": "the access token lacks the 'user' scope",
        "field": "access_token",
    }
    assert "insufficient_scope" in answer.headers["www-authenticate"]


def test_a_code_asked_for_without_redirect_uri_is_exchanged_without_it(sandbox: Sandbox) -> None:
    params = _authorize_params(sandbox)
    del params["redirect_uri"]
    page = httpx2.get(f"{sandbox.url}/oauth/authorize", params=params)
    assert 'name="redirect_uri"' not in page.text
    form = params | {"username": "alice", "password": "alice-password", "decision": "grant"}
    granted = httpx2.post(f"{sandbox.url}/oauth/authorize", data=form)
    assert granted.headers["location"].startswith(sandbox.redirect_uri + "?")
    code = parse_qs(urlsplit(granted.headers["location"]).query)["code"][0]
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
    }
    answer = httpx2.post(f"{sandbox.url}/oauth/access-token", data=exchange)
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "user,tca"


def test_the_authorize_page_may_not_be_framed(sandbox: Sandbox) -> None:
    for answer in (
        httpx2.get(f"{sandbox.url}/oauth/authorize", params=_authorize_params(sandbox)),
        httpx2.post(f"{sandbox.url}/oauth/authorize", data=_authorize_params(sandbox)),
    ):
        assert answer.headers["content-security-policy"] == "frame-ancestors 'none'"
        assert answer.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("path", ["/oauth/authorize", "/oauth/access-token"])
def test_an_oauth_form_over_64_kib_is_refused(sandbox: Sandbox, path: str) -> None:
    form = _authorize_params(sandbox) | {"padding": "x" * MAX_FORM}
    answer = httpx2.post(f"{sandbox.url}{path}", data=form)
    assert answer.status_code == 413
    assert str(MAX_FORM) in answer.text


def test_a_password_check_runs_off_the_event_loop_and_outside_the_store_lock(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = threading.Event(), threading.Event()
    checked: list[str] = []

    def slow_check(password: str, stored: str) -> bool:
        checked.append(password)
        entered.set()
        release.wait(10)
        return False

    monkeypatch.setattr(_accounts, "check_password", slow_check)
    form = _authorize_params(sandbox) | {
        "username": "nobody",
        "password": "guess",
        "decision": "grant",
    }
    with ThreadPoolExecutor(1) as pool:
        login = pool.submit(httpx2.post, f"{sandbox.url}/oauth/authorize", data=form, timeout=15)
        assert entered.wait(10)
        try:
            meanwhile = sandbox.api("GET", "perks/TOKENLY")
            assert meanwhile.status_code == 200
        finally:
            release.set()
        assert login.result().status_code == 401
    assert checked == ["guess"]  # an unknown username costs a hash check too
