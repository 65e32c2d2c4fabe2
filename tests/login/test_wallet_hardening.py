"""What an adversarial review of the wallet sign-in found, each now refused: a challenge
relayed through another Host, a replay store forgetting a claim before its challenge
expires, and a body nested too deep for the JSON reader."""

from __future__ import annotations

import time

import httpx2
import pytest

from tca_gate.login import CSRF_HEADER
from tca_gate.login.wallet import WalletLogin
from tca_gate.signing.replay import MemoryReplayStore
from tests.support.browsing import JSON
from tests.support.wallet import RICH, challenge, client, verify


def test_without_an_origin_a_request_on_another_host_is_refused_not_named() -> None:
    """The relay: another site asks for a challenge with ``Host: evil.example``; had the
    text named evil.example, its visitor would sign it and the signature would sign in
    here. With no origin set, only loopback hosts get a challenge; others are a 500
    naming the fix."""
    with client(WalletLogin()) as http:
        relayed = http.get("/wallet/challenge", headers={**JSON, "Host": "evil.example"})
        assert relayed.status_code == 500
        assert relayed.json()["error"] == "origin_not_set"
        assert "WalletLogin(origin=" in relayed.json()["error_description"]
        assert "evil.example" not in relayed.text
        local = challenge(http)  # the test's own loopback origin still works
        assert local["message"].startswith("Sign in to http://127.0.0.1:")


def test_with_an_origin_the_text_names_it_whatever_the_host_says() -> None:
    with client(WalletLogin(origin="https://shop.example")) as http:
        asked = http.get("/wallet/challenge", headers={**JSON, "Host": "evil.example"})
        assert asked.status_code == 200
        assert asked.json()["message"].startswith("Sign in to https://shop.example ")


def test_a_memory_store_keeps_a_claim_as_long_as_its_challenge_lives() -> None:
    """A store whose own ttl is shorter than the challenge's: the claim is kept for the
    challenge's lifetime, so an old copy of the cookie cannot sign in again."""
    store = MemoryReplayStore(ttl=0.05)
    assert store.claim("challenge", 60.0)
    time.sleep(0.1)
    assert not store.claim("challenge", 60.0)
    assert store.claim("short", 0.01)
    time.sleep(0.1)  # kept at least the store's ttl, then forgotten
    assert store.claim("short", 0.01)


def test_a_used_challenge_stays_used_past_the_stores_own_ttl() -> None:
    wallet = WalletLogin(replay_store=MemoryReplayStore(ttl=0.05), challenge_ttl=3600)
    with client(wallet) as http:
        asked = challenge(http)
        cookies = dict(http.cookies)
        signature = RICH.sign(asked["message"])
        first = verify(http, RICH.address, signature, asked["csrf_token"])
        assert first.status_code == 200, first.text
        time.sleep(0.1)
        with httpx2.Client(base_url=str(http.base_url), cookies=cookies) as copied:
            again = verify(copied, RICH.address, signature, asked["csrf_token"])
        assert again.status_code == 403
        assert again.json()["error"] == "challenge_used"


@pytest.mark.parametrize("depth", [100_000 // 8, 15_000])
def test_a_body_nested_too_deep_is_a_clear_400(depth: int) -> None:
    with client() as http:
        asked = challenge(http)
        answer = http.post(
            "/wallet/verify",
            content=b"[" * min(depth, 15_000),
            headers={**JSON, "Content-Type": "application/json", CSRF_HEADER: asked["csrf_token"]},
        )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_form"
