"""The demo's "Sign in with your wallet" in a real browser: headless Chromium (Debian's,
driven by Playwright) reads the challenge, pastes an address and a signature made by a
wallet outside the project (pycoin), is refused with why when the signature is wrong,
signs in, is refused the vault for want of LTBCOIN, and let in once the address holds
enough; a replayed signature is refused."""

from __future__ import annotations

import time

from playwright.sync_api import Browser

from tca_gate.demo import DemoServer
from tca_gate.sandbox import SandboxServer
from tests.support.chromium import text
from tests.support.wallet import Signer


def verify_publicly(sandbox: SandboxServer, username: str, wallet: Signer) -> None:
    """Have ``username`` register the wallet's address in the sandbox, prove it with a
    signature of the sandbox's code, and make it public: then its balances count."""
    token = sandbox.access_token(username, ["user", "tca", "manage-address"])
    registered = sandbox.api(
        "POST", "tca/address", body={"address": wallet.address, "public": True}, oauth_token=token
    )
    assert registered.status_code == 200, registered.text
    code = registered.json()["result"]["verify_code"]
    proved = sandbox.api(
        "POST",
        f"tca/address/{wallet.address}",
        body={"signature": wallet.sign(code)},
        oauth_token=token,
    )
    assert proved.json() == {"result": True}, proved.text


def test_a_wallet_signs_in_and_reaches_the_vault_by_its_balances(browser: Browser) -> None:
    wallet = Signer(0xD3_70_0001)
    with DemoServer(port=0, sandbox_port=0) as demo:
        verify_publicly(demo.sandbox, "carol", wallet)
        demo.sandbox.set_balance(wallet.address, "LTBCOIN", tokens=800)
        page = browser.new_page()
        page.set_default_timeout(10_000)

        page.goto(demo.url)
        page.click("#nav-wallet")
        page.wait_for_url(f"{demo.url}/wallet")
        assert text(page, "h1") == "Sign in with your wallet"
        challenge = page.locator("#challenge").inner_text()
        assert challenge.startswith(f"Sign in to {demo.url} with this Bitcoin address.")

        page.fill("#wallet-address-input", wallet.address)
        page.fill("#wallet-signature-input", Signer(0xD3_70_0002).sign(challenge))
        with page.expect_response(f"{demo.url}/wallet/auth/verify") as refused:
            page.click("#wallet-sign-in")
        assert refused.value.status == 403
        assert page.locator("#refusal").get_attribute("data-error") == "signature_mismatch"

        page.goto(f"{demo.url}/wallet")  # back to the page, which shows a new challenge
        challenge = page.locator("#challenge").inner_text()
        signature = wallet.sign(challenge)
        page.fill("#wallet-address-input", wallet.address)
        page.fill("#wallet-signature-input", signature)
        with page.expect_response(f"{demo.url}/wallet/vault") as vault:
            page.click("#wallet-sign-in")
        assert vault.value.status == 403
        assert text(page, "#refused h1") == "The wallet vault: refused"
        assert text(page, "#explanation") == "Needs 200 more LTBCOIN."

        page.goto(f"{demo.url}/wallet")
        assert text(page, "#wallet-address") == wallet.address
        assert text(page, "#wallet-balances") == "800 LTBCOIN"

        demo.sandbox.set_balance(wallet.address, "LTBCOIN", tokens=1200)
        # the sandbox's webhook makes the demo forget the address's cached balances
        deadline = time.monotonic() + 10
        while True:
            answer = page.goto(f"{demo.url}/wallet/vault")
            assert answer is not None
            if answer.status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert answer.status == 200
        assert text(page, "h1") == "The wallet vault"
        assert text(page, "#welcome") == f"Welcome, {wallet.address}: your tokens let you in."

        # the same signature, sent again from this browser, signs in no more
        page.goto(f"{demo.url}/wallet")
        csrf = page.locator("#wallet-logout input[name=csrf_token]").get_attribute("value")
        assert csrf
        replayed = page.request.post(
            f"{demo.url}/wallet/auth/verify",
            form={"address": wallet.address, "signature": signature, "csrf_token": csrf},
            headers={"Accept": "application/json"},
        )
        assert replayed.status == 400
        assert replayed.json()["error"] == "no_challenge"

        page.click("#wallet-logout button")
        page.wait_for_url(f"{demo.url}/wallet")
        assert page.locator("#challenge").count() == 1
        page.goto(f"{demo.url}/wallet/vault")
        assert page.url.startswith(f"{demo.url}/wallet")
        assert page.locator("#challenge").count() == 1
