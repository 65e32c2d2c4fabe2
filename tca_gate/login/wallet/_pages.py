"""The wallet sign-in's own pages: the challenge with its form, a refusal, the logout form.

Plain HTML with stable ids (``#challenge``, ``#wallet-form``, ``#refusal``) for apps
that keep these pages and for tests; an app with its own design shows
``WalletLogin.challenge(request).message`` in its page and posts to ``verify``.
"""

from __future__ import annotations

from html import escape

from tca_gate.login import CSRF_FIELD

_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{title}</title></head>
<body>
<main>
{body}
</main>
</body>
</html>
"""


def challenge_page(message: str, csrf: str, next_url: str) -> str:
    """The challenge to sign and the form that sends the address and signature back."""
    body = f"""<h1>Sign in with your wallet</h1>
<p>Sign this text with your Bitcoin wallet ("Sign message"), exactly as shown:</p>
<p><code id="challenge">{escape(message)}</code></p>
<form id="wallet-form" method="post" action="verify">
<input type="hidden" name="{CSRF_FIELD}" value="{escape(csrf)}">
<input type="hidden" name="next" value="{escape(next_url)}">
<p><label>Address <input name="address" autocomplete="off" required></label></p>
<p><label>Signature <input name="signature" autocomplete="off" required></label></p>
<p><button type="submit">Sign in</button></p>
</form>"""
    return _PAGE.format(title="Sign in with your wallet", body=body)


def refusal_page(code: str, description: str) -> str:
    """Why a wallet sign-in was refused, with the way back to a fresh challenge."""
    body = f"""<h1>Wallet sign-in refused</h1>
<p id="refusal" data-error="{escape(code)}">{escape(description)}</p>
<p><small>Error: {escape(code)}</small></p>
<p><a href="challenge">Get a new challenge</a></p>"""
    return _PAGE.format(title="Wallet sign-in refused", body=body)


def logout_page(csrf: str) -> str:
    """The form that signs out (the POST carries the session's CSRF token)."""
    body = f"""<form method="post" action="">
<input type="hidden" name="{CSRF_FIELD}" value="{escape(csrf)}">
<button type="submit">Sign out</button>
</form>"""
    return _PAGE.format(title="Sign out", body=body)
