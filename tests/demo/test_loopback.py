"""The web demo over loopback, without a browser: each seeded user's pages, the refusal
with what is missing, the promise through the sandbox, the webhook, and ``tca-gate demo``."""

from __future__ import annotations

import re
import socket
import sys
import time
from collections.abc import Iterator

import httpx2
import pytest

from tca_gate.cli import main
from tca_gate.demo import DemoServer
from tests.support.browsing import HTML, JSON, log_in
from tests.support.demo import logged_in, text_of
from tests.support.processes import Started

TREASURY = "18BF18zG8x13tXrJ6H9bbbFAGbRofqK6y8"
BOB_SHORT = "Needs 1 TOKENLY, or 1,200 more LTBCOIN."


@pytest.fixture
def demo() -> Iterator[DemoServer]:
    with DemoServer(port=0, sandbox_port=0) as running:
        yield running


def promise(
    http: httpx2.Client, form: dict[str, str], *, follow_redirects: bool = False
) -> httpx2.Response:
    """Post the promise form as the refusal page does: with the session's CSRF token."""
    form = {**form, "csrf_token": csrf_of(http)}
    return http.post("/promise", data=form, follow_redirects=follow_redirects)


def csrf_of(http: httpx2.Client) -> str:
    """The session's CSRF token, as the forms of the demo's pages (and the logout page,
    for visitors not logged in) carry it."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/auth/logout").text)
    assert found is not None
    return found[1]


def buttons(response: httpx2.Response) -> dict[str, str]:
    """The promise buttons of a refusal page: their labels by group."""
    return dict(re.findall(r'class="promise" name="group" value="(\d+)">([^<]*)<', response.text))


def test_the_home_page_shows_the_logins_and_the_gated_pages(demo: DemoServer) -> None:
    home = httpx2.get(demo.url)
    assert home.status_code == 200
    assert text_of(home, "who") == "Not logged in"
    assert 'id="login" href="/auth/login?next=%2F"' in home.text
    for user in ("alice", "bob", "carol"):
        assert f'data-user="{user}"' in home.text
        assert f"<code>{user}-password</code>" in home.text
    assert 'href="/lounge"' in home.text
    assert "TOKENLY &gt;= 1 or LTBCOIN &gt;= 10000" in home.text


def test_a_visitor_is_sent_to_log_in_and_comes_back_to_the_page(demo: DemoServer) -> None:
    with httpx2.Client(base_url=demo.url) as http:
        sent = http.get("/members", headers=HTML)
        assert (sent.status_code, sent.headers["location"]) == (303, "/auth/login?next=%2Fmembers")
        assert http.get("/members", headers=JSON).json()["error"] == "unauthenticated"
        page = log_in(http, f"{demo.url}/members", "alice", "alice-password")
        assert (page.url.path, page.status_code) == ("/members", 200)
        assert text_of(page, "welcome") == "Welcome, alice: your tokens let you in."


def test_alice_gets_into_both_pages(demo: DemoServer) -> None:
    with logged_in(demo, "alice") as http:
        # her private address counts, as in Tokenpass's own tca/check
        assert text_of(http.get("/"), "balances") == "15,500.5 LTBCOIN, 2 TOKENLY"
        assert http.get("/").text.count("you get in") == 2
        for path in ("/lounge", "/members"):
            page = http.get(path)
            assert page.status_code == 200
            assert page.headers["cache-control"] == "private, no-store"
            assert f'id="page-{path[1:]}"' in page.text


def test_bob_is_refused_the_members_page_then_promised_the_tokens_and_let_in(
    demo: DemoServer,
) -> None:
    with logged_in(demo, "bob") as http:
        assert text_of(http.get("/"), "balances") == "8,800 LTBCOIN"
        lounge = http.get("/lounge")
        assert (lounge.status_code, text_of(lounge, "welcome")) == (
            200,
            "Welcome, bob: your tokens let you in.",
        )
        refused = http.get("/members")
        assert refused.status_code == 403
        assert refused.headers["cache-control"] == "private, no-store"
        assert text_of(refused, "explanation") == BOB_SHORT
        assert buttons(refused) == {"0": "Receive 1 TOKENLY", "1": "Receive 1,200 LTBCOIN"}
        assert http.get("/members", headers=JSON).json()["detail"] == BOB_SHORT

        let_in = promise(http, {"page": "members", "group": "1"})
        assert (let_in.status_code, let_in.headers["location"]) == (303, "/members")
        members = http.get("/members")
        assert members.status_code == 200
        assert text_of(members, "flash") == (
            "The sandbox promised you 1,200 LTBCOIN from the demo treasury."
        )
        again = http.get("/members")
        assert again.status_code == 200
        assert 'id="flash"' not in again.text
        assert text_of(http.get("/"), "balances") == "10,000 LTBCOIN"

    promises = demo.sandbox.api("GET", "tca/provisional/tx").json()["list"]
    assert [(p["source"], p["destination"], p["asset"], p["quantity"]) for p in promises] == [
        (TREASURY, "user:bob", "LTBCOIN", 120_000_000_000)
    ]


def test_carol_is_refused_both_pages_and_one_promise_opens_one(demo: DemoServer) -> None:
    with logged_in(demo, "carol") as http:
        assert text_of(http.get("/"), "balances") == "no tokens"
        lounge = http.get("/lounge")
        assert (lounge.status_code, text_of(lounge, "explanation")) == (
            403,
            "Needs 1,000 LTBCOIN.",
        )
        assert buttons(lounge) == {"0": "Receive 1,000 LTBCOIN"}
        members = http.get("/members")
        assert text_of(members, "explanation") == "Needs 1 TOKENLY, or 10,000 LTBCOIN."
        body = http.get("/members", headers=JSON).json()
        assert (body["error"], body["decision"]["allowed"]) == ("insufficient-tokens", False)

        promise(http, {"page": "members", "group": "0"})
        assert http.get("/members").status_code == 200
        assert http.get("/lounge").status_code == 403  # a TOKENLY is no LTBCOIN


def test_a_promise_takes_a_login_and_an_offer_the_page_makes(demo: DemoServer) -> None:
    with httpx2.Client(base_url=demo.url) as anonymous:
        sent = promise(anonymous, {"page": "members", "group": "1"})
        assert (sent.status_code, sent.headers["location"]) == (303, "/auth/login?next=%2Fmembers")
    with logged_in(demo, "bob") as http:
        for form in ({"page": "members", "group": "7"}, {"page": "lounge", "group": "0"}):
            wrong = promise(http, form, follow_redirects=True)
            if form["page"] == "lounge":  # bob already passes: nothing is promised
                assert text_of(wrong, "flash") == "You already hold what this page asks for."
            else:
                assert (wrong.status_code, text_of(wrong, "problem")) == (400, "No such promise")
        nowhere = promise(http, {"page": "vault", "group": "0"})
        assert nowhere.status_code == 400
    assert demo.sandbox.api("GET", "tca/provisional/tx").json()["list"] == []


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_a_promise_without_the_sessions_csrf_token_is_refused(
    demo: DemoServer, token: str | None
) -> None:
    """Another site's page can make bob's browser post the form, not carry the token."""
    with logged_in(demo, "bob") as http:
        form = {"page": "members", "group": "1"} | ({} if token is None else {"csrf_token": token})
        refused = http.post("/promise", data=form)
        assert (refused.status_code, text_of(refused, "problem")) == (403, "Form refused")
        assert http.get("/members").status_code == 403
    assert demo.sandbox.api("GET", "tca/provisional/tx").json()["list"] == []


def test_logging_out_takes_the_pages_form_and_ends_the_login(demo: DemoServer) -> None:
    with logged_in(demo, "alice") as http:
        copied = dict(http.cookies)
        assert http.get("/auth/logout").status_code == 200  # a page with the form, no logout
        assert http.get("/members").status_code == 200
        assert http.post("/auth/logout").status_code == 403
        out = http.post("/auth/logout", data={"csrf_token": csrf_of(http)})
        assert (out.status_code, out.headers["location"]) == (303, "/")
        assert text_of(http.get("/"), "who") == "Not logged in"
    with httpx2.Client(base_url=demo.url, cookies=copied, headers=JSON) as replay:
        assert replay.get("/members").status_code == 401


def test_a_promise_the_sandbox_refuses_is_shown_and_lets_nobody_in(demo: DemoServer) -> None:
    demo.sandbox.set_balance(TREASURY, "LTBCOIN", 0)  # the treasury runs dry
    with logged_in(demo, "bob") as http:
        refused = promise(http, {"page": "members", "group": "1"})
        assert refused.status_code == 502
        assert text_of(refused, "problem") == "The sandbox refused the promise"
        assert http.get("/members").status_code == 403


def test_a_promise_made_elsewhere_reaches_the_app_through_the_webhook(demo: DemoServer) -> None:
    with logged_in(demo, "carol") as http:
        assert http.get("/members").status_code == 403  # her balances are now cached
        promise = {
            "source": TREASURY,
            "destination": "user:carol",
            "asset": "TOKENLY",
            "quantity": 100_000_000,
        }
        assert demo.sandbox.api("POST", "tca/provisional/tx", body=promise).status_code == 200
        # The sandbox sends its webhook after answering; without it the cache would
        # keep carol's empty balances for five minutes.
        deadline = time.monotonic() + 10
        while http.get("/members").status_code != 200:
            assert time.monotonic() < deadline, "the webhook never made the app forget carol"
            time.sleep(0.02)


def test_the_demo_command_prints_its_urls_and_stops_on_ctrl_c() -> None:
    started = Started(
        [sys.executable, "-m", "tca_gate", "demo", "--port", "0", "--sandbox-port", "0"]
    )
    try:
        _, found = started.read_until(r"^tca-gate demo: open (http://127\.0\.0\.1:\d+) ")
        lines, _ = started.read_until(r"^press Ctrl-C to stop")
        home = httpx2.get(found[1])
        assert home.status_code == 200
        assert text_of(home, "who") == "Not logged in"
    finally:
        status, err = started.interrupt()
    assert (status, err) == (0, "")
    printed = "".join(lines)
    assert re.search(r"Tokenpass: a sandbox on http://127\.0\.0\.1:\d+ \(app demo-app", printed)
    assert re.search(r"^  bob    password bob-password    holds 8,800 LTBCOIN", printed, re.M)
    assert re.search(r"^  The members' page: +http://\S+/members  \(TOKENLY >= 1 or", printed, re.M)
    assert BOB_SHORT in printed


@pytest.mark.parametrize("which", ["--port", "--sandbox-port"])
def test_the_demo_command_says_which_port_is_taken(
    which: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        others = ["--sandbox-port", "0"] if which == "--port" else ["--port", "0"]
        assert main(["demo", which, port, *others]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("tca-gate demo: error: ")
    assert f"127.0.0.1 port {port}: Address already in use" in err
