"""Token Controlled Access: rule checks for a user or an address, balance lists, messaging, perks.

The rule stack is the request's query string read with the ``tokenpass`` dialect,
less every credential or transport parameter (``oauth_token``, ``client_id``...):
those are never rule content.
"""

from __future__ import annotations

from urllib.parse import unquote_plus

from tca_gate.errors import TcaGateError
from tca_gate.rules import compile_rule, is_credential

from ._accounts import named_user, user_by_email
from ._api_error import ApiError
from ._balances import address_balances, balance_list, user_balances
from ._endpoint import Call
from ._params import checked_address


def check_token_access(call: Call) -> object:
    """``GET tca/check/{username}``: whether the user's balances pass the rule."""
    user = named_user(call.db, call.path["username"])
    if user["id"] != call.account["id"]:
        raise ApiError(403, "the oauth_token belongs to another user", field="oauth_token")
    return {"result": _passes(call, user_balances(call.db, user, call.now))}


def check_email_token_access(call: Call) -> object:
    """``GET tca/checkemail/{email}``: the rule against the holdings of the email's account.

    An email no account has holds nothing (promises to unregistered emails are not modelled).
    """
    user = user_by_email(call.db, call.path["email"])
    balances = {} if user is None else user_balances(call.db, user, call.now)
    return {"result": _passes(call, balances)}


def check_address_token_access(call: Call) -> object:
    """``GET tca/check-address/{address}``: whether one address's balances pass the rule."""
    address = checked_address(call.path["address"])
    return {"result": _passes(call, address_balances(call.db, address, call.now))}


def public_balances(call: Call) -> object:
    """``GET tca/public/balances``: the user's combined balances over public addresses."""
    return balance_list(user_balances(call.db, call.account, call.now, public_only=True))


def protected_balances(call: Call) -> object:
    """``GET tca/protected/balances``: the user's combined balances over all addresses."""
    return balance_list(user_balances(call.db, call.account, call.now))


def messaging_permission(call: Call) -> object:
    """``GET tca/messenger/privileges/{token}``: whether the user holds any of the token."""
    token = call.path["token"]
    held = user_balances(call.db, call.account, call.now).get(token, 0)
    return {"token": token, "canMessage": held > 0}


def token_perks(call: Call) -> object:
    """``GET perks/{token}``: how many chats the token enables (0 when it has no perks)."""
    token = call.path["token"]
    row = call.db.execute("SELECT chat_count FROM perks WHERE token = ?", (token,)).fetchone()
    return {"token": token, "chatCount": 0 if row is None else int(row[0])}


def rule_query(query: str) -> str:
    """The query string without its credential and transport parameters."""
    kept = [
        part
        for part in query.split("&")
        if not is_credential(unquote_plus(part.partition("=")[0]).partition("[")[0])
    ]
    return "&".join(kept)


def _passes(call: Call, balances: dict[str, int]) -> bool:
    try:
        rule = compile_rule(rule_query(call.query), dialect="tokenpass")
    except TcaGateError as error:
        raise ApiError(400, f"the rule cannot be read: {error}", field="rule") from None
    return rule.evaluate(balances)
