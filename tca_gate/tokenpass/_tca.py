"""Token Controlled Access checks, balances, messaging permission and token perks."""

from __future__ import annotations

from tca_gate._service import Call, path

from . import _read as read
from ._app import TokenpassApp
from ._models import Balance, MessagingPermission, TokenPerks
from ._params import RuleParams, rule_pairs, text


def check_token_access(
    app: TokenpassApp, username: str, rules: RuleParams, oauth_token: str
) -> Call[bool]:
    """Whether ``username`` passes ``rules`` (a Rule, query string or mapping); scope ``tca``."""
    return Call(
        "GET",
        path("/api/v1/tca/check/{username}", username=username),
        read.result_flag,
        query=[*rule_pairs(rules), ("oauth_token", text("oauth_token", oauth_token))],
    )


def check_address_token_access(app: TokenpassApp, address: str, rules: RuleParams) -> Call[bool]:
    """Whether ``address`` holds what ``rules`` ask for."""
    return Call(
        "GET",
        path("/api/v1/tca/check-address/{address}", address=address),
        read.result_flag,
        query=rule_pairs(rules),
    )


def get_combined_public_balances(app: TokenpassApp, oauth_token: str) -> Call[tuple[Balance, ...]]:
    """The user's balances over their public addresses (scope ``tca``)."""
    return Call(
        "GET",
        "/api/v1/tca/public/balances",
        read.balances,
        query=[("oauth_token", text("oauth_token", oauth_token))],
    )


def get_combined_protected_balances(
    app: TokenpassApp, oauth_token: str
) -> Call[tuple[Balance, ...]]:
    """The user's balances over all their verified addresses (scope ``private-balances``)."""
    return Call(
        "GET",
        "/api/v1/tca/protected/balances",
        read.balances,
        query=[("oauth_token", text("oauth_token", oauth_token))],
    )


def get_messaging_permission(
    app: TokenpassApp, token: str, oauth_token: str
) -> Call[MessagingPermission]:
    """Whether the user holds any ``token`` (scope ``tca``)."""
    return Call(
        "GET",
        path("/api/v1/tca/messenger/token/{token}", token=token),
        read.whole(read.messaging_permission),
        query=[("oauth_token", text("oauth_token", oauth_token))],
    )


def get_token_perks(app: TokenpassApp, token: str) -> Call[TokenPerks]:
    """What holding ``token`` unlocks (no auth)."""
    return Call(
        "GET",
        path("/api/v1/perks/{token}", token=token),
        read.whole(read.token_perks),
        signed=False,
    )
