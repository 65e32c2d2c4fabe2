"""The demo's story in a real browser: headless Chromium (Debian's, driven by Playwright)
logs in with Tokenpass on the sandbox's page, is let into one page and refused another
with what it lacks, receives a promise through the sandbox, and is let in."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tca_gate.demo import DemoServer
from tests.support.chromium import text


def test_bob_logs_in_is_refused_receives_a_promise_and_is_let_in(browser: Browser) -> None:
    with DemoServer(port=0, sandbox_port=0) as demo:
        page = browser.new_page()
        page.set_default_timeout(10_000)

        page.goto(demo.url)
        assert text(page, "#who") == "Not logged in"
        assert text(page, "#logins tr[data-user=bob] .password") == "bob-password"

        page.click("#login")  # to the sandbox's login and consent page
        page.wait_for_url(f"{demo.sandbox.url}/oauth/authorize?**")
        expect(page).to_have_title("Authorize tca-gate demo app - tca-gate sandbox")
        page.fill("input[name=username]", "bob")
        page.fill("input[name=password]", "bob-password")
        page.click("button[value=grant]")

        page.wait_for_url(f"{demo.url}/")
        assert text(page, "#who") == "Logged in as bob"
        assert text(page, "#balances") == "8,800 LTBCOIN"

        page.click("#link-lounge")
        page.wait_for_url(f"{demo.url}/lounge")
        assert text(page, "h1") == "The LTBCOIN lounge"
        assert text(page, "#welcome") == "Welcome, bob: your tokens let you in."

        with page.expect_response(f"{demo.url}/members") as refusal:
            page.click("#nav-members")
        assert refusal.value.status == 403
        assert text(page, "#refused h1") == "The members' page: not enough tokens"
        assert text(page, "#explanation") == "Needs 1 TOKENLY, or 1,200 more LTBCOIN."
        assert text(page, "#refused .rule") == "TOKENLY >= 1 or LTBCOIN >= 10000"
        labels = page.locator("#promise-form button.promise").all_inner_texts()
        assert labels == ["Receive 1 TOKENLY", "Receive 1,200 LTBCOIN"]

        page.click("text=Receive 1,200 LTBCOIN")
        page.wait_for_url(f"{demo.url}/members")
        assert text(page, "#flash") == (
            "The sandbox promised you 1,200 LTBCOIN from the demo treasury."
        )
        assert text(page, "#page-members h1") == "The members' page"
        assert text(page, "#welcome") == "Welcome, bob: your tokens let you in."

        reloaded = page.reload()
        assert reloaded is not None
        assert reloaded.status == 200
        assert text(page, "#welcome") == "Welcome, bob: your tokens let you in."
        assert page.locator("#flash").count() == 0

        page.click("#nav-home")
        page.wait_for_url(f"{demo.url}/")
        assert text(page, "#balances") == "10,000 LTBCOIN"
        assert text(page, "#pages li[data-page=members] .verdict") == "you get in"

        page.click("#logout button")  # a POST form carrying the session's CSRF token
        page.wait_for_url(f"{demo.url}/")
        assert text(page, "#who") == "Not logged in"
        with page.expect_response(f"{demo.url}/members") as after:
            page.goto(f"{demo.url}/members")
        assert after.value.status == 303  # sent to log in again
