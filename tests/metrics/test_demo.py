"""The demo's ``/metrics`` over loopback: a scripted session (two logins, a gated page let
in, one refused, a webhook and a forged one), then the scrape, counted exactly."""

from __future__ import annotations

import json

import httpx2
from prometheus_client.parser import text_string_to_metric_families

from tca_gate import sign_tokenly_request
from tca_gate.demo import DemoServer
from tca_gate.observe import hooks
from tests.support.demo import logged_in


def scraped(demo: DemoServer) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    answer = httpx2.get(demo.url + "/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def webhook(demo: DemoServer, secret: str) -> int:
    """POST a promise event naming bob, signed as the sandbox signs (with ``secret``)."""
    url = demo.url + "/hooks/balances"
    payload = {"event": "promise.created", "usernames": ["bob"]}
    headers = sign_tokenly_request("POST", url, payload, demo.sandbox.client_id, secret)
    headers["content-type"] = "application/json"
    body = json.dumps(payload, separators=(",", ":"))
    return httpx2.post(url, content=body, headers=headers).status_code


def test_the_demo_counts_a_scripted_session_exactly() -> None:
    with DemoServer(port=0, sandbox_port=0) as demo:
        assert hooks.observer is not None  # installed while the app runs
        with logged_in(demo, "alice") as http:  # the home page reads her balances: a fetch
            assert http.get("/members").status_code == 200  # a hit, let in at once
        with logged_in(demo, "bob") as http:  # a fetch
            assert http.get("/members").status_code == 403  # a hit, then refused
        assert webhook(demo, demo.sandbox.client_secret) == 200
        assert webhook(demo, "not-the-secret") == 401
        found = scraped(demo)
    assert hooks.observer is None  # uninstalled when the app stopped

    def count(name: str, **labels: str) -> float:
        return found.get((name, frozenset(labels.items())), 0.0)

    decisions = {k: v for k, v in found.items() if k[0] == "tca_gate_decisions_total"}
    assert decisions == {
        ("tca_gate_decisions_total", frozenset({("outcome", "allowed"), ("rule", "members")})): 1,
        (
            "tca_gate_decisions_total",
            frozenset({("outcome", "insufficient-tokens"), ("rule", "members")}),
        ): 1,
    }
    assert count("tca_gate_upstream_calls_total", source="tokenpass", outcome="ok") == 2
    assert count("tca_gate_upstream_seconds_count", source="tokenpass") == 2
    assert count("tca_gate_cache_misses_total", cache="tokenpass") == 2
    assert count("tca_gate_cache_fetches_total", cache="tokenpass") == 2
    # alice's page: one look; bob's refusal: one at once, one the long way
    assert count("tca_gate_cache_hits_total", cache="tokenpass") == 3
    hook = {"webhook": "BalanceWebhook"}
    assert count("tca_gate_webhook_events_total", event="promise", outcome="accepted", **hook) == 1
    assert count("tca_gate_webhook_events_total", event="unread", outcome="refused", **hook) == 1
    refusals = {k: v for k, v in found.items() if k[0] == "tca_gate_signature_refusals_total"}
    assert refusals == {
        ("tca_gate_signature_refusals_total", frozenset({("reason", "bad-signature")})): 1
    }
