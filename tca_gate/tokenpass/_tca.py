"""Token Controlled Access checks, balances, asset info, messaging permission and perks."""

from __future__ import annotations

from tca_gate.service import Call, path, whole
from tca_gate.tokenpass import _read as read

from ._app import TokenpassApp
from ._models import AssetInfo, Balance, MessagingPermission, TokenPerks
from ._params import RuleParams, rule_pairs
from ._user_token import UserCall, user_token


def check_token_access(
    app: TokenpassApp, username: str, rules: RuleParams, oauth_token: str
) -> Call[bool]:
    """Whether ``username`` passes ``rules`` (a Rule, query string or mapping); scope ``tca``."""
    return UserCall(
        "GET",
        path("/api/v1/tca/check/{username}", username=username),
        read.result_flag,
        query=rule_pairs(rules),
        token=user_token("oauth_token", oauth_token),
    )


def check_token_access_by_email(app: TokenpassApp, email: str, rules: RuleParams) -> Call[bool]:
    """Whether the account of ``email`` passes ``rules`` (a privileged app's call: make the
    client with the privileged client id and secret)."""
    return Call(
        "GET",
        path("/api/v1/tca/checkemail/{email}", email=email),
        read.result_flag,
        query=rule_pairs(rules),
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
    return UserCall(
        "GET",
        "/api/v1/tca/public/balances",
        read.balances,
        token=user_token("oauth_token", oauth_token),
    )


def get_combined_protected_balances(
    app: TokenpassApp, oauth_token: str
) -> Call[tuple[Balance, ...]]:
    """The user's balances over all their verified addresses (scope ``private-balances``)."""
    return UserCall(
        "GET",
        "/api/v1/tca/protected/balances",
        read.balances,
        token=user_token("oauth_token", oauth_token),
    )


def get_asset_info(app: TokenpassApp, chain: str, asset: str) -> Call[AssetInfo]:
    """What Tokenpass knows of ``asset`` on ``chain`` (e.g. ``bitcoin``): its divisibility."""
    return Call(
        "GET",
        path("/api/v1/tca/asset/{chain}/{asset}", chain=chain, asset=asset),
        read.under("result", read.asset_info),
    )


def get_messaging_permission(
    app: TokenpassApp, token: str, oauth_token: str
) -> Call[MessagingPermission]:
    """Whether the user holds any ``token``, so may be messaged about it (scope ``tca``)."""
    return UserCall(
        "GET",
        path("/api/v1/tca/messenger/privileges/{token}", token=token),
        whole(read.messaging_permission),
        token=user_token("oauth_token", oauth_token),
    )


def get_token_perks(app: TokenpassApp, token: str) -> Call[TokenPerks]:
    """What holding ``token`` unlocks (no auth)."""
    return Call(
        "GET",
        path("/api/v1/perks/{token}", token=token),
        whole(read.token_perks),
        signed=False,
    )
