"""The demo's HTML: plain server-rendered pages with stable ids for people and tests.

Every page has a header (``#who``, ``#login`` or the ``#logout`` form), an optional ``#flash``
message, and a ``main`` whose id names the page: ``#home``, ``#page-<name>`` for a
gated page let in, ``#refused`` for a refusal (``#explanation``, ``#promise-form`` with
one ``button.promise`` per offer), ``#problem`` for anything that went wrong.
"Sign in with your wallet" is ``#wallet`` (``#challenge``, ``#wallet-form``, or
``#wallet-address`` once signed in), its gated page ``#page-vault`` or ``#refused``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from urllib.parse import urlencode

from starlette.responses import HTMLResponse

from tca_gate.gate import mark_private
from tca_gate.login import CSRF_FIELD
from tca_gate.rules import format_tokens

from ._offers import Offer
from ._story import PAGES, WALLET_PAGE, DemoLogin, GatedPage


def private_page(html: str, status: int = 200) -> HTMLResponse:
    """A page for one user only, marked as the gate marks its answers: uncacheable, varying
    by who asks."""
    response = HTMLResponse(html, status_code=status)
    mark_private(response.headers)
    return response


_STYLE = """
body{font-family:system-ui,sans-serif;max-width:46rem;margin:0 auto;padding:0 1rem 3rem;
color:#1d2330;line-height:1.5}
header{display:flex;justify-content:space-between;align-items:center;gap:1rem;
padding:.8rem 0;border-bottom:1px solid #d8dce6;margin-bottom:1.5rem}
header nav a{margin-right:1rem}
a{color:#2153b8}
code{background:#f1f3f8;padding:.1rem .3rem;border-radius:3px}
table{border-collapse:collapse;width:100%}
td code{white-space:nowrap}
td,th{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e4e7ee;vertical-align:top}
.flash{background:#e7f6ea;border:1px solid #9bd3a6;padding:.6rem .8rem;border-radius:4px}
.allowed{color:#1c7a32}.refused{color:#a3261b}
#refused h1{color:#a3261b}
#explanation{font-size:1.2rem;font-weight:600}
button{font:inherit;padding:.45rem .9rem;margin:.2rem .5rem .2rem 0;border-radius:4px;
border:1px solid #2153b8;background:#2153b8;color:#fff;cursor:pointer}
.quiet{color:#5b6375;font-size:.9rem}
form.inline{display:inline;margin:0}
button.link{background:none;border:none;color:#2153b8;padding:0;margin:0;
text-decoration:underline}
"""

_DOCUMENT = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{title} - tca-gate demo</title><style>{style}</style></head>
<body>
<header><nav><a id="nav-home" href="/">tca-gate demo</a>{links}</nav>
<div id="account">{account}</div></header>
{flash}{main}
</body>
</html>
"""


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking: their username (``None`` when not logged in), the path shown (for
    the login link to come back to) and the session's CSRF token (for the forms)."""

    username: str | None
    path: str = "/"
    csrf: str = field(default="", repr=False)


def document(title: str, main: str, viewer: Viewer, flash: str | None = None) -> str:
    """A whole page around the ``main`` element."""
    links = "".join(
        f' <a id="nav-{page.name}" href="{page.path}">{escape(page.title)}</a>' for page in PAGES
    )
    links += ' <a id="nav-wallet" href="/wallet">Sign in with your wallet</a>'
    if viewer.username is None:
        login = "/auth/login?" + urlencode({"next": viewer.path})
        account = (
            '<span id="who">Not logged in</span> · '
            f'<a id="login" href="{escape(login)}">Log in with Tokenpass</a>'
        )
    else:
        account = (
            f'<span id="who">Logged in as <b>{escape(viewer.username)}</b></span> · '
            '<form id="logout" class="inline" method="post" action="/auth/logout">'
            f"{_csrf_input(viewer)}"
            '<button type="submit" class="link">Log out</button></form>'
        )
    shown = f'<p id="flash" class="flash" role="status">{escape(flash)}</p>\n' if flash else ""
    return _DOCUMENT.format(
        title=escape(title), style=_STYLE, links=links, account=account, flash=shown, main=main
    )


@dataclass(frozen=True, slots=True)
class PageStatus:
    """A gated page as the home page lists it: whether the viewer gets in (``None``:
    unknown, not logged in or balances unreadable)."""

    page: GatedPage
    allowed: bool | None


def home(
    viewer: Viewer,
    holdings: str | None,
    statuses: Sequence[PageStatus],
    logins: Sequence[DemoLogin],
    tokenpass_url: str,
) -> str:
    """The home page: who you are, the gated pages, and the logins to try."""
    if viewer.username is None:
        you = (
            '<p id="you">You are not logged in. '
            f'<a href="/auth/login?next=%2F">Log in with Tokenpass</a> (the sandbox at '
            f"<code>{escape(tokenpass_url)}</code>) as one of the users below.</p>"
        )
    else:
        shown = escape(holdings) if holdings is not None else "cannot be read right now"
        you = (
            f'<p id="you">You are <b>{escape(viewer.username)}</b>. '
            f'Your public balances on Tokenpass: <span id="balances">{shown}</span>.</p>'
        )
    items = "".join(_page_item(status) for status in statuses)
    rows = "".join(
        f'<tr data-user="{escape(login.username)}"><td class="username">'
        f'{escape(login.username)}</td><td class="password"><code>{escape(login.password)}'
        f"</code></td><td>{escape(login.story)}</td></tr>"
        for login in logins
    )
    main = f"""<main id="home">
<h1>Token Controlled Access, live</h1>
<p>This app lets you into a page only when your Tokenpass balances pass the page's rule.
Balances come from a local Tokenpass sandbox and are cached; a promise of tokens makes
the app forget them at once.</p>
{you}
<h2>Gated pages</h2>
<ul id="pages">{items}</ul>
<p id="wallet-intro">No Tokenpass account? <a href="/wallet">Sign in with your wallet</a>:
sign a one-time text with a Bitcoin address, and the wallet vault judges that address's
balances.</p>
<h2>Logins to try</h2>
<table id="logins"><tr><th>username</th><th>password</th><th>in the demo</th></tr>{rows}</table>
<p class="quiet">Try <b>bob</b>: the lounge lets him in, the members' page refuses him
with what he lacks. Press the button on that page to receive a promise of the missing
LTBCOIN through the sandbox, and the members' page lets him in.</p>
</main>"""
    return document("Home", main, viewer)


def _page_item(status: PageStatus) -> str:
    page = status.page
    if status.allowed is None:
        verdict = ""
    elif status.allowed:
        verdict = ' — <span class="verdict allowed">you get in</span>'
    else:
        verdict = ' — <span class="verdict refused">you would be refused</span>'
    return (
        f'<li data-page="{page.name}"><a id="link-{page.name}" href="{page.path}">'
        f'{escape(page.title)}</a>: <code class="rule">{escape(page.rule.to_expr())}</code>'
        f'{verdict}<br><span class="quiet">{escape(page.blurb)}</span></li>'
    )


def gated(
    page: GatedPage, viewer: Viewer, holdings: str, flash: str | None, who: str | None = None
) -> str:
    """A gated page, for someone the rule let in (``who``: as the page greets them, by
    default their username)."""
    main = f"""<main id="page-{page.name}" class="gated">
<h1>{escape(page.title)}</h1>
<p id="welcome" class="allowed">Welcome, {escape(who or viewer.username or "")}: your tokens
let you in.</p>
<p>The rule: <code class="rule">{escape(page.rule.to_expr())}</code>. You hold
{escape(holdings)}.</p>
<p><a href="/">Back to the home page</a></p>
</main>"""
    return document(page.title, main, viewer, flash)


def refused(page: GatedPage, viewer: Viewer, explanation: str, offers: Sequence[Offer]) -> str:
    """The refusal of a gated page, with the gate's explanation and the promises on offer."""
    if offers:
        buttons = "".join(
            f'<button type="submit" id="promise-{offer.group}" class="promise" name="group" '
            f'value="{offer.group}">Receive {escape(offer.label)}</button>'
            for offer in offers
        )
        promise = f"""<form id="promise-form" method="post" action="/promise">
{_csrf_input(viewer)}
<input type="hidden" name="page" value="{page.name}">
<p>Receive a promise through the sandbox: the demo app asks Tokenpass, with its own
credentials, to promise you the missing tokens from the demo treasury. A promise counts
in your balances at once.</p>
<p>{buttons}</p>
</form>"""
    else:
        promise = "<p>No promise from the demo treasury would let you in.</p>"
    main = f"""<main id="refused" class="tca-gate-refusal" data-outcome="insufficient-tokens"
data-page="{page.name}">
<h1>{escape(page.title)}: not enough tokens</h1>
<p id="explanation" class="detail">{escape(explanation)}</p>
<p>The rule: <code class="rule">{escape(page.rule.to_expr())}</code></p>
{promise}
<p><a href="/">Back to the home page</a></p>
</main>"""
    return document(f"{page.title}: refused", main, viewer)


def wallet(viewer: Viewer, address: str | None, holdings: str | None, challenge: str | None) -> str:
    """ "Sign in with your wallet": the challenge and the form, or the signed-in address."""
    page = WALLET_PAGE
    rule = f'<code class="rule">{escape(page.rule.to_expr())}</code>'
    if address is None:
        body = f"""<p>No Tokenpass account needed: prove that you hold a Bitcoin address by
signing this one-time text with your wallet ("Sign message" in Bitcoin Core or Electrum,
with a legacy address starting with 1). It names this site and expires in minutes.</p>
<p><code id="challenge">{escape(challenge or "")}</code></p>
<form id="wallet-form" method="post" action="/wallet/auth/verify">
{_csrf_input(viewer)}
<input type="hidden" name="next" value="{page.path}">
<p><label>Address<br><input id="wallet-address-input" name="address" size="40"
autocomplete="off" required></label></p>
<p><label>Signature<br><input id="wallet-signature-input" name="signature" size="90"
autocomplete="off" required></label></p>
<p><button type="submit" id="wallet-sign-in">Sign in</button></p>
</form>"""
    else:
        shown = escape(holdings) if holdings is not None else "cannot be read right now"
        body = f"""<p>You are signed in as <code id="wallet-address">{escape(address)}</code>,
which holds <span id="wallet-balances">{shown}</span>.</p>
<form id="wallet-logout" method="post" action="/wallet/auth/logout?next=%2Fwallet">
{_csrf_input(viewer)}<button type="submit">Sign out</button></form>"""
    main = f"""<main id="wallet">
<h1>Sign in with your wallet</h1>
{body}
<p><a id="link-vault" href="{page.path}">{escape(page.title)}</a>: {rule}.
<span class="quiet">The gate reads the address's balances from the sandbox, where an
address counts once a user has verified it and made it public.</span></p>
</main>"""
    return document("Sign in with your wallet", main, viewer)


def wallet_refused(viewer: Viewer, explanation: str) -> str:
    """The wallet vault's refusal, with what the gate said."""
    page = WALLET_PAGE
    main = f"""<main id="refused" class="tca-gate-refusal" data-page="{page.name}">
<h1>{escape(page.title)}: refused</h1>
<p id="explanation" class="detail">{escape(explanation)}</p>
<p>The rule: <code class="rule">{escape(page.rule.to_expr())}</code></p>
<p><a href="/wallet">Back to "Sign in with your wallet"</a></p>
</main>"""
    return document(f"{page.title}: refused", main, viewer)


def holdings_text(balances: Mapping[str, int]) -> str:
    """Balances for people, by asset name: ``12,500.5 LTBCOIN, 2 TOKENLY``.

    >>> holdings_text({"TOKENLY": 200_000_000, "LTBCOIN": 1_250_050_000_000})
    '12,500.5 LTBCOIN, 2 TOKENLY'
    >>> holdings_text({"LTBCOIN": 0})
    'no tokens'
    """
    held = [f"{format_tokens(sat)} {asset}" for asset, sat in sorted(balances.items()) if sat]
    return ", ".join(held) or "no tokens"


def _csrf_input(viewer: Viewer) -> str:
    """The hidden field that carries the session's CSRF token back with a form."""
    return f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(viewer.csrf)}">'


def problem(title: str, text: str, viewer: Viewer) -> str:
    """A page saying what went wrong."""
    main = f"""<main id="problem">
<h1>{escape(title)}</h1>
<p class="detail">{escape(text)}</p>
<p><a href="/">Back to the home page</a></p>
</main>"""
    return document(title, main, viewer)
