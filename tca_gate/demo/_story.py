"""The demo's story: its two gated pages, the logins to try, and the treasury that promises.

Bob holds 8,800 LTBCOIN: the lounge lets him in, the members' page refuses him
("Needs 1 TOKENLY, or 1,200 more LTBCOIN."), and a promise of 1,200 LTBCOIN from the
demo treasury, made through the sandbox, lets him in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tca_gate.rules import Rule, compile_rule

#: The demo seed's treasury: a promise source for the demo app (no user owns it).
TREASURY = "18BF18zG8x13tXrJ6H9bbbFAGbRofqK6y8"
#: What the treasury may promise (the seed's ``provisional_source`` for it).
TREASURY_ASSETS = ("LTBCOIN", "TOKENLY")


@dataclass(frozen=True, slots=True)
class GatedPage:
    """A page of the demo behind a rule: its route ``name`` (also the ``tca:<name>``
    scope), ``path``, ``title``, ``rule`` and a line saying who gets in."""

    name: str
    path: str
    title: str
    rule: Rule
    blurb: str


@dataclass(frozen=True, slots=True)
class DemoLogin:
    """A seeded Tokenpass account to log in as, and what happens to it in the demo."""

    username: str
    password: str
    story: str = field(default="")


PAGES: tuple[GatedPage, ...] = (
    GatedPage(
        "lounge",
        "/lounge",
        "The LTBCOIN lounge",
        compile_rule("LTBCOIN >= 1000"),
        "For anyone holding at least 1,000 LTBCOIN.",
    ),
    GatedPage(
        "members",
        "/members",
        "The members' page",
        compile_rule("TOKENLY >= 1 or LTBCOIN >= 10000"),
        "For holders of a TOKENLY, or of 10,000 LTBCOIN.",
    ),
)

#: The page behind "Sign in with your wallet", judged on the proven address's balances.
WALLET_PAGE = GatedPage(
    "vault",
    "/wallet/vault",
    "The wallet vault",
    compile_rule("LTBCOIN >= 1000"),
    "For a signed-in address holding at least 1,000 LTBCOIN.",
)

#: What each seeded user meets in the demo, by username.
STORIES = {
    "alice": "holds 2 TOKENLY and 15,500.5 LTBCOIN (3,000 private): gets into both pages",
    "bob": "holds 8,800 LTBCOIN: gets into the lounge, not the members' page",
    "carol": "holds nothing: refused both pages",
}


def page_named(name: str) -> GatedPage | None:
    """The gated page called ``name``, if there is one.

    >>> page_named("members").rule.to_expr()
    'TOKENLY >= 1 or LTBCOIN >= 10000'
    >>> page_named("vault") is None
    True
    """
    return next((page for page in PAGES if page.name == name), None)
